import type { RequestRoute } from "@podid/core";
import type { CacheResult } from "../cache/token-cache-driver.js";

/**
 * The audit record: one structured line per request NMI decides (peers §6 item 12), replacing the
 * original's "status (200) took N ns for req.method=… req.path=… req.remote=…" line. It says who asked
 * (pod UID, namespace/name, source IP), for what (identity, resource), what was decided and how it was
 * served (cache hit, upstream latency) — and never carries a token or secret: only names and ids.
 * @packageDocumentation
 */

/** One audit record (a type alias, so it is a plain `LogFields` record). */
export type AuditRecord = {
  /** Always `true`: what tells an audit line from an operational one. */
  readonly audit: true;
  readonly requestId: string;
  /** The route core's canonicalisation chose (never the raw path). */
  readonly route: RequestRoute["route"];
  readonly method: string;
  /** The path (without query) for forwarded and rejected requests, truncated; absent on token routes. */
  readonly path?: string;
  readonly sourceIp: string;
  readonly podUid?: string;
  readonly podNamespace?: string;
  readonly podName?: string;
  /** `namespace/name` of the AzureIdentity used, or `node` (+ selector) for an excepted pod. */
  readonly identity?: string;
  readonly clientId?: string;
  readonly resource?: string;
  /** The final decision or outcome kind (`issued`, `forwarded`, `badRequest`, `notFound`, …). */
  readonly decision: string;
  /** The refusal reason kind, when there is one. */
  readonly reason?: string;
  readonly status: number;
  readonly cacheHit: boolean;
  readonly cache?: CacheResult;
  /** Upstream (IMDS/AAD) latency of the fetch this request waited for, in ms. */
  readonly upstreamMs?: number;
  /** Time spent waiting for assignment, in ms. */
  readonly waitedMs?: number;
  readonly durationMs: number;
};

/** The message of every audit line (one string to search for). */
export const AUDIT_MESSAGE = "nmi decision";
