import type { Result } from "../result.js";
import { IdentityType, type AzureIdentity, type AzurePodIdentityException, type PodView } from "../model/types.js";
import {
  findPodOnNode,
  podRef,
  type AttributionError,
  type AttributionOptions,
} from "./caller-attribution.js";
import type { NmiDecision, NotFoundReason, TokenResponseShape } from "./decision.js";
import { decideException } from "./exception-policy.js";
import { untrustedFederatedIdentity } from "./assignment-prospect.js";
import { planFederatedFetch } from "./federated-fetch.js";
import { planTokenFetch } from "./fetch-plan.js";
import type { HostTokenRequest, HostTokenRequestError } from "./host-token-request.js";
import { decideHostTokenScope, findScopedPod, type SecretProviderClassLookup } from "./host-token-scope.js";
import { chooseIdentity, type IdentityChoice, type IdentitySource } from "./identity-source.js";
import type { NmiDecisionOptions } from "./nmi-options.js";
import type { TokenRequest, TokenRequestError } from "./token-request.js";

/**
 * The token decision for the IMDS path and for `/host/token`.
 * @packageDocumentation
 */

/** Everything the token decision needs, already read from caches (no I/O happens here). */
export interface TokenDecisionInput {
  /** `parseTokenRequest`'s result. */
  readonly request: Result<TokenRequest, TokenRequestError>;
  /** `attributeCaller`'s result for the connection's source address. */
  readonly caller: Result<PodView, AttributionError>;
  /** AzurePodIdentityExceptions (any namespace; only the caller's namespace counts, see `decideException`). */
  readonly exceptions: readonly AzurePodIdentityException[];
  /**
   * Every AzureIdentity of the cluster (any namespace): an excepted pod never obtains an identity one of them
   * names (`decideException`).
   */
  readonly managedIdentities: readonly AzureIdentity[];
  /** The mode and the objects identities are chosen from. */
  readonly identities: IdentitySource;
  /** Milliseconds since the request arrived (bounds waiting for assignment). */
  readonly elapsedMs: number;
  readonly options: NmiDecisionOptions;
}

/** `notFound` for `pod`, with `Retry-After` when configured. */
function notFound(pod: PodView, reason: NotFoundReason, options: NmiDecisionOptions): NmiDecision {
  return options.setRetryAfterHeader
    ? { kind: "notFound", caller: podRef(pod), reason, retryAfterSeconds: options.retryAfterSeconds }
    : { kind: "notFound", caller: podRef(pod), reason };
}

/** Wait while `elapsedMs < budgetMs`, then give up with `reason`. */
function waitOrGiveUp(
  pod: PodView,
  waitReason: "notYetAssigned" | "noneAssigned",
  budgetMs: number,
  giveUp: NotFoundReason,
  elapsedMs: number,
  options: NmiDecisionOptions,
): NmiDecision {
  if (elapsedMs < budgetMs) {
    return {
      kind: "wait",
      caller: podRef(pod),
      reason: waitReason,
      remainingMs: budgetMs - elapsedMs,
      maxTotalWaitMs: options.waitForAssignedMs,
    };
  }
  return notFound(pod, giveUp, options);
}

/** A federated identity chosen for `pod`: fetch with the pod's own token, or refuse (403). */
function decideFederated(pod: PodView, identity: AzureIdentity, resource: string, shape: TokenResponseShape): NmiDecision {
  const plan = planFederatedFetch(identity, pod, resource);
  if (plan.ok) return { kind: "fetch", caller: podRef(pod), identity, plan: plan.value, shape };
  return plan.error.kind === "federatedRefused"
    ? { kind: "federatedRefused", caller: podRef(pod), identity, reason: plan.error.reason }
    : { kind: "invalidIdentity", caller: podRef(pod), identity, reason: plan.error.reason };
}

/**
 * Standard mode, a pod with no AzureAssignedIdentity that no binding can get one for: when a binding selects it
 * for a federated identity that does not trust its service account (MIC writes none for that pair), the answer
 * is 403 `serviceAccountNotTrusted` rather than "no identity".
 */
function untrustedRefusal(pod: PodView, choice: IdentityChoice, source: IdentitySource): NmiDecision | undefined {
  if (choice.kind !== "unbound" || source.mode !== "standard") return undefined;
  const untrusted = untrustedFederatedIdentity(pod, source, source.options);
  return untrusted === undefined ? undefined : { kind: "federatedRefused", caller: podRef(pod), identity: untrusted, reason: "serviceAccountNotTrusted" };
}

/** Turns an identity choice for an attributed pod into a decision. */
export function decideForChoice(
  pod: PodView,
  resource: string,
  choice: IdentityChoice,
  elapsedMs: number,
  options: NmiDecisionOptions,
  shape: TokenResponseShape,
): NmiDecision {
  switch (choice.kind) {
    case "chosen": {
      if (choice.identity.spec.type === IdentityType.Federated) return decideFederated(pod, choice.identity, resource, shape);
      const plan = planTokenFetch(choice.identity, resource);
      return plan.ok
        ? { kind: "fetch", caller: podRef(pod), identity: choice.identity, plan: plan.value, shape }
        : { kind: "invalidIdentity", caller: podRef(pod), identity: choice.identity, reason: plan.error.reason };
    }
    case "notYetAssigned":
      return waitOrGiveUp(pod, "notYetAssigned", options.waitForAssignedMs, { kind: "notAssignedInTime" }, elapsedMs, options);
    case "noneAssigned":
      return waitOrGiveUp(pod, "noneAssigned", options.waitForCreatedMs, { kind: "noAssignedIdentity" }, elapsedMs, options);
    case "unbound":
      // No AAI and no live binding can select the pod: MIC will write none, so 404 at once (no wait).
      return notFound(pod, { kind: "noBoundIdentity" }, options);
    case "unbacked": {
      // Forged or stale AAIs: refused at once (no wait) and reported by what the first one claims.
      const first = choice.refused[0];
      const aai = first?.aai;
      return notFound(
        pod,
        {
          kind: "unbackedAssignment",
          why: first?.reason ?? "noBindingSelectsPod",
          assignedIdentity: { namespace: aai?.metadata.namespace ?? "", name: aai?.metadata.name ?? "" },
          identity: { namespace: aai?.spec.azureIdentityRef.metadata.namespace ?? "", name: aai?.spec.azureIdentityRef.metadata.name ?? "" },
        },
        options,
      );
    }
    case "notFound":
      if (choice.mode === "standard") return notFound(pod, { kind: "requestedIdentityNotFound", selector: choice.selector }, options);
      return choice.selector === undefined
        ? notFound(pod, { kind: "noBoundIdentity" }, options)
        : notFound(pod, { kind: "requestedIdentityNotFound", selector: choice.selector }, options);
  }
}

/**
 * Decides a request to the token path, in this order: request errors (400; the `Metadata` header before
 * anything else), caller attribution (500), exception (`decideException`: an honoured exception gets the
 * node's own identity straight from IMDS, a request for an identity an AzureIdentity names is refused with
 * 403), then the identity of the pod in the configured mode — fetch, wait for assignment, or not found.
 *
 * Deviation: the original also bypassed every check for pods in the MIC namespace whose ReplicaSet name
 * starts with "mic" (so "microservice-…" qualified); podid has no such rule — MIC gets its node identity
 * through an AzurePodIdentityException like any other component.
 */
export function decideTokenRequest(input: TokenDecisionInput): NmiDecision {
  const { request, caller, options } = input;
  if (!request.ok) return { kind: "badRequest", reason: request.error };
  if (!caller.ok) return { kind: "callerUnknown", error: caller.error };
  const pod = caller.value;
  const { resource, selector } = request.value;
  const exception = decideException(pod, input.exceptions, selector, input.managedIdentities, {
    namespaces: options.exceptionNamespaces,
    passthrough: options.exceptionPassthrough,
  });
  if (exception.kind === "refused") return { kind: "exceptionRefused", caller: podRef(pod), reason: exception.reason };
  if (exception.kind === "allowed") {
    return {
      kind: "excepted",
      caller: podRef(pod),
      request: selector === undefined ? { kind: "managedIdentity", resource } : { kind: "managedIdentity", resource, selector },
    };
  }
  const choice = chooseIdentity(pod, request.value, input.identities);
  return untrustedRefusal(pod, choice, input.identities) ?? decideForChoice(pod, request.value.resource, choice, input.elapsedMs, options, "imds");
}

/** Everything the `/host/token` decision needs. */
export interface HostTokenDecisionInput {
  /** `parseHostTokenRequest`'s result. */
  readonly request: Result<HostTokenRequest, HostTokenRequestError>;
  /** The pods of this node (the named pod must be one of them). */
  readonly podsOnNode: readonly PodView[];
  readonly attribution: AttributionOptions;
  readonly identities: IdentitySource;
  readonly elapsedMs: number;
  readonly options: NmiDecisionOptions;
  /**
   * `--host-token=scoped`: the lookups of the SecretProviderClasses `secretProviderClassesToRead` named for
   * the pod, by name in the pod's namespace (a class that decides the scope and is missing here counts as
   * unreadable: 503). Unused in the other modes.
   */
  readonly secretProviderClasses?: ReadonlyMap<string, SecretProviderClassLookup>;
}

const NO_CLASSES: ReadonlyMap<string, SecretProviderClassLookup> = new Map();

/** The live pod of this node the request names, or the final decision refusing it, per `hostTokenMode`. */
function namedPod(input: HostTokenDecisionInput, request: HostTokenRequest): { readonly pod: PodView } | { readonly refused: NmiDecision } {
  const { podNamespace: namespace, podName: name } = request;
  if (input.options.hostTokenMode !== "scoped") {
    const pod = findPodOnNode(namespace, name, input.podsOnNode, input.attribution);
    return pod.ok ? { pod: pod.value } : { refused: { kind: "callerUnknown", error: pod.error } };
  }
  const ref = { namespace, name };
  const pod = findScopedPod(namespace, name, input.podsOnNode, input.attribution.nodeName);
  if (!pod.ok) return { refused: { kind: "hostTokenOutOfScope", pod: ref, reason: pod.error } };
  const verdict = decideHostTokenScope(pod.value, input.secretProviderClasses ?? NO_CLASSES);
  switch (verdict.kind) {
    case "inScope":
      return { pod: pod.value };
    case "denied":
      return { refused: { kind: "hostTokenOutOfScope", pod: ref, reason: verdict.reason } };
    case "unavailable": {
      const secretProviderClass = { namespace: verdict.namespace, name: verdict.name };
      return {
        refused:
          verdict.error === undefined
            ? { kind: "hostTokenScopeUnavailable", pod: ref, secretProviderClass }
            : { kind: "hostTokenScopeUnavailable", pod: ref, secretProviderClass, error: verdict.error },
      };
    }
  }
}

/**
 * Decides a `/host/token` request: refused outright with `--host-token=off`; then the original's checks
 * (pod headers → 400, source not 127.0.0.1 → 500, `resource` → 400); then the named pod must be a live pod
 * of this node — and, when `scoped`, one that mounts a Key Vault volume in pod-identity mode (403 with the
 * reason otherwise, `decideHostTokenScope`); then the same identity decision as the token path for that pod
 * (no exception check, as in the original), rendered in the host shape.
 */
export function decideHostTokenRequest(input: HostTokenDecisionInput): NmiDecision {
  const { request, options } = input;
  if (options.hostTokenMode === "off") return { kind: "hostTokenDenied", reason: "disabled" };
  if (!request.ok) {
    return request.error.kind === "notFromHost"
      ? { kind: "hostTokenDenied", reason: "notFromHost" }
      : { kind: "badRequest", reason: request.error };
  }
  const named = namedPod(input, request.value);
  if ("refused" in named) return named.refused;
  const choice = chooseIdentity(named.pod, request.value, input.identities);
  return untrustedRefusal(named.pod, choice, input.identities) ?? decideForChoice(named.pod, request.value.resource, choice, input.elapsedMs, options, "host");
}
