import { err, ok, type Result } from "../result.js";
import { hasHeader, singleHeader, type HttpHeaders } from "./headers.js";

/**
 * Header rules shared by every NMI route that talks IMDS: the `Metadata: true` SSRF gate and the
 * refusal of proxy-forwarding headers.
 * @packageDocumentation
 */

/** The IMDS SSRF header. */
export const METADATA_HEADER = "Metadata";
/** Headers IMDS refuses (a request relayed by a proxy is not from the workload itself). */
export const FORWARDING_HEADERS = ["X-Forwarded-For", "Forwarded"] as const;

/** The one "accepted" result both checks return (results are immutable; one object spares one per request). */
const ACCEPTED: Result<true, never> = ok(true);

/** Options of {@link checkMetadataHeader}. */
export interface MetadataHeaderOptions {
  /** `--metadata-header-required` (default true since v1.8.4, PR #500). */
  readonly metadataHeaderRequired: boolean;
}

/** The request lacked `Metadata: true` although it is required. */
export interface MetadataHeaderError {
  readonly kind: "metadataHeaderMissing";
}

/**
 * When required, exactly one `Metadata` header (name in any case) whose value is exactly `true` — the
 * lower-case string, as IMDS and the original require; `True`, `1` or a repeated header are refused.
 */
export function checkMetadataHeader(
  headers: HttpHeaders,
  options: MetadataHeaderOptions,
): Result<true, MetadataHeaderError> {
  if (!options.metadataHeaderRequired) return ACCEPTED;
  return singleHeader(headers, METADATA_HEADER) === "true" ? ACCEPTED : err({ kind: "metadataHeaderMissing" });
}

/** The request carried `X-Forwarded-For` or `Forwarded`. */
export interface ForwardedHeaderError {
  readonly kind: "forwardedHeader";
  /** The header found (as spelled in {@link FORWARDING_HEADERS}). */
  readonly header: string;
}

/**
 * Refuses requests carrying `X-Forwarded-For` or `Forwarded` (present at all, any value): IMDS rejects them
 * so that a server-side request forgery through an HTTP proxy cannot reach it, and NMI stands in for IMDS.
 */
export function checkForwardedHeaders(headers: HttpHeaders): Result<true, ForwardedHeaderError> {
  for (const header of FORWARDING_HEADERS) {
    if (hasHeader(headers, header)) return err({ kind: "forwardedHeader", header });
  }
  return ACCEPTED;
}
