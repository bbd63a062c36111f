import type { AzureIdentity } from "../model/types.js";
import type { UnbackedReason } from "./assignment-backing.js";
import type { AttributionError, PodRef } from "./caller-attribution.js";
import type { ExceptionRefusal } from "./exception-policy.js";
import type { FederatedRefusal } from "./federated-fetch.js";
import type { HostTokenScopeDenial } from "./host-token-scope.js";
import type { KubeError } from "../ports/kube-errors.js";
import type { ManagedIdentityTokenRequest, TokenFetchPlan } from "./fetch-plan.js";
import type { PathRejection } from "./request-path.js";
import type { IdentitySelector, TokenRequestError } from "./token-request.js";

/**
 * The decisions NMI takes for a request, as data. nmi-server performs them (await a token source, read a
 * Secret, wait for an AAI change, forward to IMDS) or renders them with `toImdsResponse`.
 * @packageDocumentation
 */

/** Why a request is answered 400. */
export type BadRequestReason =
  | TokenRequestError
  /** The request target failed canonicalisation (400 "Invalid request", the original's CVE-2022-23551 answer). */
  | { readonly kind: "rejectedPath"; readonly reason: PathRejection }
  /** `/host/token` without `podns`/`podname`. */
  | { readonly kind: "missingPodHeaders" };

/** Why no identity could be named for the pod (404, or 503 + `Retry-After`). */
export type NotFoundReason =
  /** Standard mode: no AAI for the pod appeared within the wait. */
  | { readonly kind: "noAssignedIdentity" }
  /** Standard mode: the AAI stayed `Created` for the whole wait. */
  | { readonly kind: "notAssignedInTime" }
  /** The pod has identities, but not the requested one. */
  | { readonly kind: "requestedIdentityNotFound"; readonly selector: IdentitySelector }
  /**
   * Managed mode: no binding/identity for the pod. Standard mode: the pod has no AAI and no live binding can
   * select it (answered at once, never waited on).
   */
  | { readonly kind: "noBoundIdentity" }
  /**
   * Standard mode: an AAI names the pod, but the live bindings and identities do not grant it the identity
   * (a forged or stale object); `assignedIdentity` and `identity` are what the AAI claims.
   */
  | {
      readonly kind: "unbackedAssignment";
      readonly why: UnbackedReason;
      readonly assignedIdentity: { readonly namespace: string; readonly name: string };
      readonly identity: { readonly namespace: string; readonly name: string };
    };

/** How a successful token is rendered. */
export type TokenResponseShape =
  /** IMDS: the token object itself. */
  | "imds"
  /** `/host/token`: `{ "token": {…}, "clientid": "…" }`. */
  | "host";

/** What NMI decided to do with a request. */
export type NmiDecision =
  /** 400 `invalid_request` (or `bad_request` for forwarding headers). */
  | { readonly kind: "badRequest"; readonly reason: BadRequestReason }
  /** 500: the caller could not be attributed to exactly one live pod (the original's "failed to match pod IP"). */
  | { readonly kind: "callerUnknown"; readonly error: AttributionError }
  /** `/host/token` refused: `notFromHost` → 500 as the original, `disabled` → 403. */
  | { readonly kind: "hostTokenDenied"; readonly reason: "notFromHost" | "disabled" }
  /** 403: `--host-token=scoped` and the named pod is out of scope (`decideHostTokenScope`). */
  | { readonly kind: "hostTokenOutOfScope"; readonly pod: { readonly namespace: string; readonly name: string }; readonly reason: HostTokenScopeDenial }
  /**
   * 503 (+ `Retry-After` when the API server throttled): `--host-token=scoped` and a SecretProviderClass that
   * decides the scope could not be read; the drivers retry the mount.
   */
  | {
      readonly kind: "hostTokenScopeUnavailable";
      readonly pod: { readonly namespace: string; readonly name: string };
      readonly secretProviderClass: { readonly namespace: string; readonly name: string };
      readonly error?: KubeError;
    }
  /** 405 + `Allow`: a method other than GET/HEAD on a token path (`decideRequestLine`). */
  | { readonly kind: "methodNotAllowed"; readonly method: string; readonly allow: readonly string[] }
  /** 505, connection closed: a request line other than HTTP/1.0 or HTTP/1.1 (`decideRequestLine`). */
  | { readonly kind: "httpVersionNotSupported"; readonly version: string }
  /** 403 for `/metadata/instance…` with `--block-instance-metadata`. */
  | { readonly kind: "instanceBlocked" }
  /** Forward the request unchanged to IMDS (`target` = path and query as received). */
  | { readonly kind: "forward"; readonly target: string }
  /**
   * Standard mode: the identity is not assigned yet. Re-decide when the node's AAIs change or after
   * `remainingMs` at the latest (the decision then turns into `notFound`); re-attribute the caller first and
   * check it is still `caller` (`verifyCallerBinding`), since an IP can change hands while waiting.
   */
  | {
      readonly kind: "wait";
      readonly caller: PodRef;
      readonly reason: "notYetAssigned" | "noneAssigned";
      /** How much longer this request may wait for this reason. */
      readonly remainingMs: number;
      /** The longest total wait of any request (`waitForAssignedMs`). */
      readonly maxTotalWaitMs: number;
    }
  /** 404, or 503 + `Retry-After: <retryAfterSeconds>` when `--set-retry-after-header` is on. */
  | {
      readonly kind: "notFound";
      readonly caller: PodRef;
      readonly reason: NotFoundReason;
      readonly retryAfterSeconds?: number;
    }
  /**
   * 403: an excepted pod asked for an identity that is not the node's own (one an AzureIdentity names, or an
   * `object_id` podid cannot check); see `decideException`.
   */
  | { readonly kind: "exceptionRefused"; readonly caller: PodRef; readonly reason: ExceptionRefusal }
  /** 403: the chosen AzureIdentity cannot yield tokens as written. */
  | { readonly kind: "invalidIdentity"; readonly caller: PodRef; readonly identity: AzureIdentity; readonly reason: string }
  /**
   * 403: a federated identity (type 3) the pod is granted but may not use: its service account is not trusted
   * by the identity, or it declares no federated token volume (`planFederatedFetch`).
   */
  | { readonly kind: "federatedRefused"; readonly caller: PodRef; readonly identity: AzureIdentity; readonly reason: FederatedRefusal }
  /**
   * Obtain a token for `identity` by `plan` (reading its Secret first for types 1 and 2, the pod's
   * service-account token for type 3).
   */
  | {
      readonly kind: "fetch";
      readonly caller: PodRef;
      readonly identity: AzureIdentity;
      readonly plan: TokenFetchPlan;
      readonly shape: TokenResponseShape;
    }
  /**
   * The caller is excepted (AzurePodIdentityException): ask IMDS directly, as the pod would without NMI —
   * system-assigned without a selector, else the selector it sent (the original passed on only `client_id`
   * and silently dropped `msi_res_id`, handing out the system identity instead).
   */
  | { readonly kind: "excepted"; readonly caller: PodRef; readonly request: ManagedIdentityTokenRequest };

/** Decisions that still need work from nmi-server before a response exists. */
export type PendingNmiDecision = Extract<NmiDecision, { readonly kind: "wait" | "fetch" | "excepted" | "forward" }>;

/** Decisions that are already a final answer (render them with `toImdsResponse`). */
export type FinalNmiDecision = Exclude<NmiDecision, PendingNmiDecision>;

/** True when `decision` needs no further work: it can be rendered as the response. */
export function isFinalDecision(decision: NmiDecision): decision is FinalNmiDecision {
  return !(decision.kind === "wait" || decision.kind === "fetch" || decision.kind === "excepted" || decision.kind === "forward");
}
