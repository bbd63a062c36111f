import { DEFAULT_EXCEPTION_NAMESPACES } from "./exception-policy.js";
import type { HostTokenMode } from "./host-token-scope.js";

/**
 * Options and defaults of NMI's request decisions (the flags of `cmd/nmi` that change answers).
 * @packageDocumentation
 */

/** Options of the NMI decision functions. */
export interface NmiDecisionOptions {
  /** `--metadata-header-required`: token and proxied requests need `Metadata: true` (400 otherwise). */
  readonly metadataHeaderRequired: boolean;
  /** `--set-retry-after-header`: answer "no identity" with 503 + `Retry-After` instead of 404. */
  readonly setRetryAfterHeader: boolean;
  /** Seconds sent in `Retry-After` with {@link setRetryAfterHeader} (the original: 20). */
  readonly retryAfterSeconds: number;
  /**
   * Standard mode: how long a request may wait for the pod's first AAI to appear at all (the original:
   * 16 attempts × 5 s = 80 s).
   */
  readonly waitForCreatedMs: number;
  /** Standard mode: the longest total wait for a `Created` AAI to become `Assigned` (original: 20 × 5 s = 100 s). */
  readonly waitForAssignedMs: number;
  /**
   * `--host-token`: how `/host/token` is served. The original always served it, letting any host-network
   * process mint tokens for any pod by naming it (it only checked for a 127.0.0.1 source); podid serves it
   * `scoped` by default (pods of this node with a Key Vault volume in pod-identity mode), `unscoped` as the
   * original did, or `off` (docs/adr/0019-scoped-host-token.md).
   */
  readonly hostTokenMode: HostTokenMode;
  /** `--block-instance-metadata`: answer `/metadata/instance…` with 403 instead of proxying. */
  readonly blockInstanceMetadata: boolean;
  /**
   * `--exception-namespaces`: AzurePodIdentityExceptions are honoured only in these namespaces (the original
   * honoured them in every namespace, so any user could except their own pods).
   */
  readonly exceptionNamespaces: readonly string[];
  /**
   * `--exception-passthrough`: an excepted pod may obtain any identity IMDS has, as in the original; off,
   * it obtains only identities no AzureIdentity names (the node's own).
   */
  readonly exceptionPassthrough: boolean;
}

/** The `Retry-After` value of the original's `--set-retry-after-header` mode. */
export const NMI_RETRY_AFTER_SECONDS = 20;

/** Defaults: the original's flag defaults, except `/host/token`, which is scoped. */
export const NMI_DECISION_DEFAULTS: NmiDecisionOptions = {
  metadataHeaderRequired: true,
  setRetryAfterHeader: false,
  retryAfterSeconds: NMI_RETRY_AFTER_SECONDS,
  waitForCreatedMs: 80_000,
  waitForAssignedMs: 100_000,
  hostTokenMode: "scoped",
  blockInstanceMetadata: false,
  exceptionNamespaces: DEFAULT_EXCEPTION_NAMESPACES,
  exceptionPassthrough: false,
};
