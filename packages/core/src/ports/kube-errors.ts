/** Why a Kubernetes API call failed, classified from the HTTP status and `Status` body. */
export type KubeError =
  /** 409 on a write: stale resourceVersion, or the object already exists (`alreadyExists`). */
  | { readonly kind: "conflict"; readonly alreadyExists: boolean; readonly message: string }
  | { readonly kind: "notFound"; readonly message: string }
  /** 410: the requested resourceVersion is too old; relist. */
  | { readonly kind: "expired"; readonly message: string }
  /** 429 (server or client-side rate limit). */
  | { readonly kind: "throttled"; readonly retryAfterMs: number; readonly message: string }
  | { readonly kind: "forbidden"; readonly message: string }
  /** 400/422: the object was rejected as invalid. */
  | { readonly kind: "invalid"; readonly message: string }
  /** 5xx, network errors, timeouts. */
  | { readonly kind: "transient"; readonly message: string };
