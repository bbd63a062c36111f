import type { NmiDecision } from "./decision.js";
import type { HttpHeaders } from "./headers.js";
import type { NmiDecisionOptions } from "./nmi-options.js";
import { checkForwardedHeaders, checkMetadataHeader } from "./request-headers.js";
import type { PathRejection, RequestRoute } from "./request-path.js";

/**
 * Decisions for the routes NMI does not answer itself: forwarding to IMDS, instance metadata, rejected paths.
 * @packageDocumentation
 */

/** A path refused by `classifyRequestPath`: 400 "Invalid request". */
export function decideRejectedPath(reason: PathRejection): NmiDecision {
  return { kind: "badRequest", reason: { kind: "rejectedPath", reason } };
}

/**
 * Decides a request to be forwarded to IMDS: `/metadata/instance…` is refused with 403 under
 * `--block-instance-metadata` (before the header check, as the original's instance handler); otherwise the
 * `Metadata` gate the original's default handler applied (400), forwarding headers refused (400), then
 * forward the target unchanged.
 */
export function decideForwardRequest(
  route: Extract<RequestRoute, { readonly route: "proxy" | "instance" }>,
  headers: HttpHeaders,
  options: NmiDecisionOptions,
): NmiDecision {
  if (route.route === "instance" && options.blockInstanceMetadata) return { kind: "instanceBlocked" };
  const metadata = checkMetadataHeader(headers, options);
  if (!metadata.ok) return { kind: "badRequest", reason: metadata.error };
  const forwarded = checkForwardedHeaders(headers);
  if (!forwarded.ok) return { kind: "badRequest", reason: forwarded.error };
  return { kind: "forward", target: route.target };
}
