import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  azureAssignedIdentityArb,
  azureIdentityArb,
  azureIdentityBindingArb,
  azurePodIdentityExceptionArb,
  IDENTITY_NAME_POOL,
  makeBinding,
  makeIdentity,
  NAMESPACE_POOL,
  podArb,
} from "@podid/testkit";
import { err, ok, type Result } from "../result.js";
import { BINDING_LABEL } from "../model/constants.js";
import type { AzureAssignedIdentity, AzureIdentity, PodView } from "../model/types.js";
import { isPodExcepted } from "../matching/exceptions.js";
import { attributeCaller, type AttributionError } from "./caller-attribution.js";
import { decideHostTokenRequest, decideTokenRequest, type TokenDecisionInput } from "./decide-token.js";
import { decideForwardRequest, decideRejectedPath } from "./decide-route.js";
import { isFinalDecision, type NmiDecision } from "./decision.js";
import { toImdsResponse } from "./imds-response.js";
import type { HostTokenRequest, HostTokenRequestError } from "./host-token-request.js";
import type { IdentitySource } from "./identity-source.js";
import { NMI_DECISION_DEFAULTS, type NmiDecisionOptions } from "./nmi-options.js";
import { isAssignedIdentityForPod, effectiveAssignedState } from "./standard-identity.js";
import type { IdentitySelector, TokenRequest, TokenRequestError } from "./token-request.js";

const NODE = "aks-nodepool1-12345678-vmss000000";

const optionsArb: fc.Arbitrary<NmiDecisionOptions> = fc.record({
  metadataHeaderRequired: fc.boolean(),
  setRetryAfterHeader: fc.boolean(),
  retryAfterSeconds: fc.constant(20),
  waitForCreatedMs: fc.constantFrom(0, 80_000),
  waitForAssignedMs: fc.constantFrom(0, 100_000),
  hostTokenMode: fc.constantFrom("scoped" as const, "unscoped" as const, "off" as const),
  blockInstanceMetadata: fc.boolean(),
  // Exceptions in NAMESPACE_POOL are honoured only when listed (default list: podid-system, kube-system).
  exceptionNamespaces: fc.subarray([...NAMESPACE_POOL]),
  exceptionPassthrough: fc.boolean(),
});

const podsArb = fc.array(podArb({ nodeNames: [NODE], phases: ["Running", "Pending", "Succeeded"] }), { minLength: 1, maxLength: 4 });

/** AAIs, most aimed at one of `pods` (copying name, namespace, node and selector), statuses random. */
function aaisFor(pods: readonly PodView[]): fc.Arbitrary<AzureAssignedIdentity[]> {
  return fc.array(
    fc
      .tuple(azureAssignedIdentityArb({ nodeNames: [NODE], podNamespaces: [...NAMESPACE_POOL] }), fc.constantFrom(...pods), fc.boolean())
      .map(([aai, pod, aimed]): AzureAssignedIdentity => {
        if (!aimed) return aai;
        const binding = aai.spec.azureBindingRef;
        return {
          ...aai,
          spec: {
            ...aai.spec,
            pod: pod.metadata.name,
            podNamespace: pod.metadata.namespace,
            nodeName: pod.nodeName,
            azureBindingRef: { ...binding, spec: { ...binding.spec, selector: pod.metadata.labels[BINDING_LABEL] ?? "none" } },
          },
        };
      }),
    { maxLength: 5 },
  );
}

/** The first object of each namespace/name, as a cluster holds at most one. */
function uniqueByName<T extends { readonly metadata: { readonly namespace: string; readonly name: string } }>(objects: readonly T[]): T[] {
  const seen = new Set<string>();
  return objects.filter((o) => {
    const key = `${o.metadata.namespace}/${o.metadata.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sourceArb(pods: readonly PodView[]): fc.Arbitrary<IdentitySource> {
  return fc.oneof(
    fc.tuple(aaisFor(pods), fc.boolean()).map(([assignedIdentities, forceNamespaced]): IdentitySource => ({
      mode: "standard",
      assignedIdentities,
      // Live objects backing the AAIs (their embedded identities, and bindings naming them from their namespace),
      // unique by namespace/name as the API server keeps them: where two AAIs embed different copies of one
      // object, the first copy is the live one and the other AAI carries a stale or forged copy.
      identities: uniqueByName(assignedIdentities.map((a) => a.spec.azureIdentityRef)),
      bindings: uniqueByName(
        assignedIdentities.map((a) => {
          const identity = a.spec.azureIdentityRef.metadata;
          const binding = a.spec.azureBindingRef;
          return { ...binding, metadata: { ...binding.metadata, namespace: identity.namespace }, spec: { ...binding.spec, azureIdentity: identity.name } };
        }),
      ),
      options: { forceNamespaced },
    })),
    fc
      .tuple(
        fc.array(azureIdentityBindingArb(), { maxLength: 5 }),
        fc.array(azureIdentityArb({ names: [...IDENTITY_NAME_POOL] }), { maxLength: 5 }),
      )
      .map(([bindings, identities]): IdentitySource => ({ mode: "managed", bindings, identities })),
  );
}

const selectorArb: fc.Arbitrary<IdentitySelector | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom<IdentitySelector>(
    { by: "client_id", value: "00000000-aaaa-4000-8000-000000000001" },
    { by: "client_id", value: "00000000-BBBB-4000-8000-000000000002" },
    { by: "msi_res_id", value: "/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-identities/providers/microsoft.managedidentity/userassignedidentities/id-frontend" },
    { by: "object_id", value: "x" },
  ),
);

const requestArb: fc.Arbitrary<Result<TokenRequest, TokenRequestError>> = fc.oneof(
  { weight: 4, arbitrary: selectorArb.map((selector) => ok(selector === undefined ? { resource: "https://vault.azure.net" } : { resource: "https://vault.azure.net", selector })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<TokenRequestError>(
      { kind: "metadataHeaderMissing" },
      { kind: "missingResource" },
      { kind: "forwardedHeader", header: "Forwarded" },
      { kind: "multipleSelectors", names: ["client_id", "object_id"] },
      { kind: "repeatedParameter", name: "resource" },
    ).map((e) => err(e)),
  },
);

/** A whole token-request situation: pods of the node, the caller's address, caches, clock, options. */
const inputArb: fc.Arbitrary<TokenDecisionInput & { readonly pods: readonly PodView[] }> = podsArb.chain((pods) =>
  fc
    .record({
      request: requestArb,
      ip: fc.constantFrom(...pods.flatMap((p) => p.podIPs), "10.244.255.255"),
      exceptions: fc.array(azurePodIdentityExceptionArb(), { maxLength: 2 }),
      managedIdentities: fc.array(azureIdentityArb({ names: [...IDENTITY_NAME_POOL] }), { maxLength: 3 }),
      identities: sourceArb(pods),
      elapsedMs: fc.constantFrom(0, 1_000, 79_999, 80_000, 99_999, 100_000, 150_000),
      options: optionsArb,
    })
    .map(({ ip, ...rest }) => ({ ...rest, pods, caller: attributeCaller(ip, pods, { nodeName: NODE }) })),
);

/** True when the source grants `identity` to `pod` (independent of the chooser). */
function granted(pod: PodView, identity: AzureIdentity, source: IdentitySource): boolean {
  if (source.mode === "standard") {
    // The token's identity is the live AzureIdentity (never an AAI's embedded copy) that an Assigned AAI of the
    // pod names.
    return (
      source.identities.includes(identity) &&
      source.assignedIdentities.some(
        (aai) =>
          aai.spec.azureIdentityRef.metadata.namespace === identity.metadata.namespace &&
          aai.spec.azureIdentityRef.metadata.name === identity.metadata.name &&
          effectiveAssignedState(aai.status) === "Assigned" &&
          isAssignedIdentityForPod(aai, pod, source.options),
      )
    );
  }
  const label = pod.metadata.labels[BINDING_LABEL];
  return (
    label !== undefined &&
    source.identities.includes(identity) &&
    identity.metadata.namespace === pod.metadata.namespace &&
    source.bindings.some(
      (b) => b.metadata.namespace === pod.metadata.namespace && b.spec.selector === label && b.spec.azureIdentity === identity.metadata.name,
    )
  );
}

describe("decideTokenRequest: authorisation soundness", () => {
  it("fetches only identities granted to the attributed pod, and the node identity only for excepted pods", () => {
    const seen = new Set<NmiDecision["kind"]>();
    fc.assert(
      fc.property(inputArb, (input) => {
        const decision = decideTokenRequest(input);
        seen.add(decision.kind);
        // Every final decision renders as an IMDS error (d); the others still need nmi-server's work.
        if (isFinalDecision(decision)) expect(toImdsResponse(decision).status).toBeGreaterThanOrEqual(400);
        else expect(["wait", "fetch", "excepted"]).toContain(decision.kind);
        const { request, caller } = input;
        switch (decision.kind) {
          case "badRequest":
            expect(request.ok).toBe(false);
            break;
          case "callerUnknown":
            expect(request.ok && !caller.ok).toBe(true);
            break;
          case "excepted":
            expect(caller.ok && isPodExcepted(caller.value, input.exceptions)).toBe(true);
            expect(caller.ok && input.options.exceptionNamespaces.includes(caller.value.metadata.namespace)).toBe(true);
            if (request.ok) expect(decision.request).toEqual({ kind: "managedIdentity", resource: request.value.resource, ...(request.value.selector ? { selector: request.value.selector } : {}) });
            break;
          case "fetch": {
            expect(caller.ok).toBe(true);
            if (!caller.ok || !request.ok) return;
            expect(isPodExcepted(caller.value, input.exceptions) && input.options.exceptionNamespaces.includes(caller.value.metadata.namespace)).toBe(false);
            expect(decision.caller.uid).toBe(caller.value.metadata.uid ?? "");
            expect(granted(caller.value, decision.identity, input.identities)).toBe(true);
            // Never the node's system-assigned identity for a non-excepted pod.
            if (decision.plan.kind === "managedIdentity") expect(decision.plan.request.selector).toBeDefined();
            expect(decision.shape).toBe("imds");
            break;
          }
          case "wait":
            expect(input.identities.mode).toBe("standard");
            expect(decision.remainingMs).toBeGreaterThan(0);
            expect(input.elapsedMs + decision.remainingMs).toBeLessThanOrEqual(
              decision.reason === "noneAssigned" ? input.options.waitForCreatedMs : input.options.waitForAssignedMs,
            );
            break;
          case "notFound":
            expect(decision.retryAfterSeconds).toBe(input.options.setRetryAfterHeader ? 20 : undefined);
            break;
          case "invalidIdentity":
            break;
          case "federatedRefused":
            // Only federated identities refuse a pod for its service account or token volume.
            expect(decision.identity.spec.type).toBe(3);
            break;
          case "exceptionRefused":
            expect(input.options.exceptionPassthrough).toBe(false);
            break;
          default:
            throw new Error(`unexpected decision ${decision.kind}`);
        }
      }),
      { numRuns: 1500 },
    );
    for (const kind of ["badRequest", "callerUnknown", "excepted", "fetch", "wait", "notFound"] as const) expect(seen).toContain(kind);
  });

  it("stops waiting once the budget is spent: later decisions never go back to waiting", () => {
    fc.assert(
      fc.property(inputArb, fc.nat(200_000), (input, extra) => {
        const now = decideTokenRequest(input);
        const later = decideTokenRequest({ ...input, elapsedMs: input.elapsedMs + extra });
        if (now.kind !== "wait") expect(later.kind).toBe(now.kind);
        if (later.kind === "wait") expect(now.kind).toBe("wait");
      }),
      { numRuns: 500 },
    );
  });
});

describe("decideTokenRequest: examples", () => {
  const pod: PodView = {
    kind: "Pod",
    metadata: { name: "web-0", namespace: "team-a", uid: "uid-1", labels: { [BINDING_LABEL]: "web", app: "mic" }, annotations: {}, finalizers: [] },
    nodeName: NODE,
    serviceAccountName: "default",
    hostNetwork: false,
    phase: "Running",
    podIP: "10.244.0.5",
    podIPs: ["10.244.0.5"],
  };
  const base: TokenDecisionInput = {
    request: ok({ resource: "r" }),
    caller: ok(pod),
    exceptions: [],
    managedIdentities: [],
    // A binding selects the pod (label "web"), so it may wait for MIC (issue #12: unbound pods do not wait).
    identities: { mode: "standard", assignedIdentities: [], bindings: [makeBinding(makeIdentity({ name: "web-id", namespace: "team-a" }), "web")], identities: [], options: { forceNamespaced: false } },
    elapsedMs: 0,
    options: NMI_DECISION_DEFAULTS,
  };
  const ref = { namespace: "team-a", name: "web-0", uid: "uid-1" };

  it("waits 80 s for a first AAI, then 404 — or 503 + Retry-After 20 when configured", () => {
    expect(decideTokenRequest(base)).toEqual({ kind: "wait", caller: ref, reason: "noneAssigned", remainingMs: 80_000, maxTotalWaitMs: 100_000 });
    expect(decideTokenRequest({ ...base, elapsedMs: 80_000 })).toEqual({ kind: "notFound", caller: ref, reason: { kind: "noAssignedIdentity" } });
    expect(decideTokenRequest({ ...base, elapsedMs: 80_000, options: { ...NMI_DECISION_DEFAULTS, setRetryAfterHeader: true } })).toEqual({
      kind: "notFound",
      caller: ref,
      reason: { kind: "noAssignedIdentity" },
      retryAfterSeconds: 20,
    });
  });

  it("gives excepted pods (exception in a listed namespace) the node identity: system-assigned without a selector, else the selector they sent", () => {
    // issue #12: exceptions count only in --exception-namespaces; here team-a is listed.
    const listed = { ...base, options: { ...NMI_DECISION_DEFAULTS, exceptionNamespaces: ["team-a"] } };
    const exceptions = [{ kind: "AzurePodIdentityException" as const, metadata: { name: "e", namespace: "team-a", labels: {}, annotations: {}, finalizers: [] }, spec: { podLabels: { app: "MIC" } } }];
    expect(decideTokenRequest({ ...listed, exceptions })).toEqual({ kind: "excepted", caller: ref, request: { kind: "managedIdentity", resource: "r" } });
    const selector: IdentitySelector = { by: "msi_res_id", value: "/x" };
    expect(decideTokenRequest({ ...listed, exceptions, request: ok({ resource: "r", selector }) })).toEqual({
      kind: "excepted",
      caller: ref,
      request: { kind: "managedIdentity", resource: "r", selector },
    });
  });

  it("reports request errors before caller errors", () => {
    const callerError: Result<PodView, AttributionError> = err({ kind: "unknownCaller", sourceIp: "10.0.0.1" });
    expect(decideTokenRequest({ ...base, request: err({ kind: "metadataHeaderMissing" }), caller: callerError })).toEqual({
      kind: "badRequest",
      reason: { kind: "metadataHeaderMissing" },
    });
    expect(decideTokenRequest({ ...base, caller: callerError })).toEqual({ kind: "callerUnknown", error: { kind: "unknownCaller", sourceIp: "10.0.0.1" } });
  });

  it("managed mode never waits", () => {
    expect(decideTokenRequest({ ...base, identities: { mode: "managed", bindings: [], identities: [] } })).toEqual({
      kind: "notFound",
      caller: ref,
      reason: { kind: "noBoundIdentity" },
    });
  });
});

describe("decideHostTokenRequest", () => {
  const pod: PodView = {
    kind: "Pod",
    metadata: { name: "web-0", namespace: "team-a", uid: "uid-1", labels: {}, annotations: {}, finalizers: [] },
    nodeName: NODE,
    serviceAccountName: "default",
    hostNetwork: false,
    phase: "Running",
    podIP: "10.244.0.5",
    podIPs: ["10.244.0.5"],
  };
  // The original's behaviour (any live pod of this node); the scoped mode has its own tests (host-token-scope.test.ts).
  const enabled: NmiDecisionOptions = { ...NMI_DECISION_DEFAULTS, hostTokenMode: "unscoped" };
  const off: NmiDecisionOptions = { ...NMI_DECISION_DEFAULTS, hostTokenMode: "off" };
  const input = (request: Result<HostTokenRequest, HostTokenRequestError>, options = enabled) => ({
    request,
    podsOnNode: [pod],
    attribution: { nodeName: NODE },
    identities: { mode: "managed" as const, bindings: [], identities: [] },
    elapsedMs: 0,
    options,
  });
  const good = ok({ resource: "r", podNamespace: "team-a", podName: "web-0" });

  it("is refused when disabled, whatever the request", () => {
    fc.assert(
      fc.property(fc.constantFrom(good, err({ kind: "missingPodHeaders" as const }), err({ kind: "notFromHost" as const, remoteAddress: "1.2.3.4" })), (request) => {
        expect(decideHostTokenRequest(input(request, off))).toEqual({ kind: "hostTokenDenied", reason: "disabled" });
      }),
    );
  });

  it("maps the original's checks and requires the named pod on this node", () => {
    expect(decideHostTokenRequest(input(err({ kind: "missingPodHeaders" })))).toEqual({ kind: "badRequest", reason: { kind: "missingPodHeaders" } });
    expect(decideHostTokenRequest(input(err({ kind: "notFromHost", remoteAddress: "10.0.0.9" })))).toEqual({ kind: "hostTokenDenied", reason: "notFromHost" });
    expect(decideHostTokenRequest(input(err({ kind: "missingResource" })))).toEqual({ kind: "badRequest", reason: { kind: "missingResource" } });
    expect(decideHostTokenRequest(input(ok({ resource: "r", podNamespace: "team-a", podName: "other" })))).toEqual({
      kind: "callerUnknown",
      error: { kind: "namedPodNotFound", namespace: "team-a", name: "other" },
    });
    expect(decideHostTokenRequest(input(good))).toEqual({
      kind: "notFound",
      caller: { namespace: "team-a", name: "web-0", uid: "uid-1" },
      reason: { kind: "noBoundIdentity" },
    });
  });

  it("fetches in the host shape for a bound identity", () => {
    const identity: AzureIdentity = {
      kind: "AzureIdentity",
      metadata: { name: "id", namespace: "team-a", labels: {}, annotations: {}, finalizers: [] },
      spec: { type: 0, resourceID: "/r", clientID: "cid", tenantID: "", auxiliaryTenantIDs: [], adEndpoint: "", adResourceID: "", serviceAccounts: [] },
    };
    const labelled: PodView = { ...pod, metadata: { ...pod.metadata, labels: { [BINDING_LABEL]: "web" } } };
    const decision = decideHostTokenRequest({
      ...input(good),
      podsOnNode: [labelled],
      identities: {
        mode: "managed",
        identities: [identity],
        bindings: [{ kind: "AzureIdentityBinding", metadata: { name: "b", namespace: "team-a", labels: {}, annotations: {}, finalizers: [] }, spec: { azureIdentity: "id", selector: "web" } }],
      },
    });
    expect(decision).toMatchObject({ kind: "fetch", shape: "host", identity, plan: { kind: "managedIdentity", request: { selector: { by: "client_id", value: "cid" } } } });
  });
});

describe("decideForwardRequest and decideRejectedPath", () => {
  const proxy = { route: "proxy" as const, path: "/metadata/versions", target: "/metadata/versions?x=1" };
  const instance = { route: "instance" as const, path: "/metadata/instance", target: "/metadata/instance?api-version=2021-02-01" };

  it("blocks instance metadata only when configured, then applies the Metadata gate and forwarding-header refusal", () => {
    const opts = { ...NMI_DECISION_DEFAULTS, blockInstanceMetadata: true };
    expect(decideForwardRequest(instance, {}, opts)).toEqual({ kind: "instanceBlocked" });
    expect(decideForwardRequest(instance, { metadata: "true" }, NMI_DECISION_DEFAULTS)).toEqual({ kind: "forward", target: instance.target });
    expect(decideForwardRequest(proxy, {}, opts)).toEqual({ kind: "badRequest", reason: { kind: "metadataHeaderMissing" } });
    expect(decideForwardRequest(proxy, {}, { ...opts, metadataHeaderRequired: false })).toEqual({ kind: "forward", target: proxy.target });
    expect(decideForwardRequest(proxy, { metadata: "true", "x-forwarded-for": "1.2.3.4" }, opts)).toEqual({
      kind: "badRequest",
      reason: { kind: "forwardedHeader", header: "X-Forwarded-For" },
    });
    expect(decideRejectedPath("backslash")).toEqual({ kind: "badRequest", reason: { kind: "rejectedPath", reason: "backslash" } });
  });
});
