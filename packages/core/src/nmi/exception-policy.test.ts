import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { azureIdentityArb, azurePodIdentityExceptionArb, NAMESPACE_POOL, podArb } from "@podid/testkit";
import { ok } from "../result.js";
import { BINDING_LABEL } from "../model/constants.js";
import type { AzureIdentity, AzurePodIdentityException, PodView } from "../model/types.js";
import { isPodExcepted } from "../matching/exceptions.js";
import { decideTokenRequest, type TokenDecisionInput } from "./decide-token.js";
import { decideException, DEFAULT_EXCEPTION_NAMESPACES, type ExceptionPolicy } from "./exception-policy.js";
import { toImdsResponse } from "./imds-response.js";
import { matchesSelector } from "./identity-selection.js";
import { NMI_DECISION_DEFAULTS } from "./nmi-options.js";
import type { IdentitySelector } from "./token-request.js";

const NAMESPACES = [...NAMESPACE_POOL, ...DEFAULT_EXCEPTION_NAMESPACES];

const policyArb: fc.Arbitrary<ExceptionPolicy> = fc.record({
  namespaces: fc.subarray(NAMESPACES),
  passthrough: fc.boolean(),
});

/** Selectors: none, object_id, or the client/ARM id of one of `identities` (any casing), or an unrelated id. */
function selectorArb(identities: readonly AzureIdentity[]): fc.Arbitrary<IdentitySelector | undefined> {
  const named = identities.flatMap((i): IdentitySelector[] => [
    { by: "client_id", value: i.spec.clientID.toUpperCase() },
    { by: "msi_res_id", value: i.spec.resourceID.toLowerCase() },
  ]).filter((s) => s.value !== "");
  return fc.oneof(
    fc.constant(undefined),
    fc.constant<IdentitySelector>({ by: "object_id", value: "00000000-0000-4000-8000-00000000000f" }),
    fc.constant<IdentitySelector>({ by: "client_id", value: "00000000-0000-4000-8000-0000000000aa" }),
    ...(named.length > 0 ? [fc.constantFrom(...named)] : []),
  );
}

const caseArb = fc
  .record({
    pod: podArb({ namespaces: NAMESPACES }),
    exceptions: fc.array(azurePodIdentityExceptionArb({ namespaces: NAMESPACES }), { maxLength: 3 }),
    identities: fc.array(azureIdentityArb({ namespaces: [...NAMESPACE_POOL] }), { maxLength: 4 }),
    policy: policyArb,
  })
  .chain((c) => selectorArb(c.identities).map((selector) => ({ ...c, selector })));

describe("decideException (properties)", () => {
  it("honours an exception only in a listed namespace, and then never hands out an identity an AzureIdentity names unless passthrough", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(caseArb, ({ pod, exceptions, identities, policy, selector }) => {
        const verdict = decideException(pod, exceptions, selector, identities, policy);
        seen.add(verdict.kind);
        const honoured = policy.namespaces.includes(pod.metadata.namespace) && isPodExcepted(pod, exceptions);
        if (!honoured) {
          expect(verdict).toEqual({ kind: "notExcepted" });
          return;
        }
        const managed = selector !== undefined && identities.some((i) => matchesSelector(i, selector));
        if (verdict.kind === "allowed") {
          // Allowed: passthrough, or the node's own identity (system-assigned or one no AzureIdentity names).
          expect(policy.passthrough || selector === undefined || (selector.by !== "object_id" && !managed)).toBe(true);
        } else {
          expect(verdict.kind).toBe("refused");
          expect(policy.passthrough).toBe(false);
          expect(selector).toBeDefined();
          expect(selector?.by === "object_id" || managed).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    expect([...seen].sort()).toEqual(["allowed", "notExcepted", "refused"]);
  });

  it("adding AzureIdentities or dropping listed namespaces never widens what an excepted pod gets", () => {
    fc.assert(
      fc.property(caseArb, fc.array(azureIdentityArb(), { maxLength: 3 }), ({ pod, exceptions, identities, policy, selector }, more) => {
        const before = decideException(pod, exceptions, selector, identities, policy);
        const after = decideException(pod, exceptions, selector, [...identities, ...more], policy);
        if (before.kind !== "allowed") expect(after.kind).toBe(before.kind);
        const narrowed = decideException(pod, exceptions, selector, identities, { ...policy, namespaces: policy.namespaces.filter((n) => n !== pod.metadata.namespace) });
        expect(narrowed.kind).toBe("notExcepted");
      }),
      { numRuns: 500 },
    );
  });
});

describe("decideTokenRequest with exceptions (examples)", () => {
  const userPod = (namespace: string): PodView => ({
    kind: "Pod",
    metadata: { name: "sneaky", namespace, uid: "uid-9", labels: { app: "mic", [BINDING_LABEL]: "x" }, annotations: {}, finalizers: [] },
    nodeName: "node-0",
    serviceAccountName: "default",
    hostNetwork: false,
    phase: "Running",
    podIP: "10.244.0.9",
    podIPs: ["10.244.0.9"],
  });
  const exception = (namespace: string): AzurePodIdentityException => ({
    kind: "AzurePodIdentityException",
    metadata: { name: "e", namespace, labels: {}, annotations: {}, finalizers: [] },
    spec: { podLabels: { app: "mic" } },
  });
  const managed: AzureIdentity = {
    kind: "AzureIdentity",
    metadata: { name: "payments", namespace: "team-b", labels: {}, annotations: {}, finalizers: [] },
    spec: {
      type: 0,
      resourceID: "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/payments",
      clientID: "00000000-0000-4000-8000-0000000000b1",
      tenantID: "",
      auxiliaryTenantIDs: [],
      adEndpoint: "",
      replicas: null,
    },
  } as unknown as AzureIdentity;
  const input = (namespace: string, selector?: IdentitySelector): TokenDecisionInput => ({
    request: ok(selector === undefined ? { resource: "r" } : { resource: "r", selector }),
    caller: ok(userPod(namespace)),
    exceptions: [exception(namespace)],
    managedIdentities: [managed],
    identities: { mode: "standard", assignedIdentities: [], bindings: [], identities: [managed], options: { forceNamespaced: false } },
    elapsedMs: 0,
    options: NMI_DECISION_DEFAULTS,
  });
  const ref = (namespace: string) => ({ namespace, name: "sneaky", uid: "uid-9" });

  it("an exception a user made in their own namespace is ignored: the pod is an ordinary (here unbound) pod", () => {
    const decision = decideTokenRequest(input("team-a", { by: "client_id", value: managed.spec.clientID }));
    expect(decision.kind).not.toBe("excepted");
    expect(decision).toMatchObject({ kind: "notFound", caller: ref("team-a") });
  });

  it("in a listed namespace: the node identity, but 403 for an identity an AzureIdentity names (client_id or msi_res_id, any case)", () => {
    expect(decideTokenRequest(input("kube-system"))).toEqual({ kind: "excepted", caller: ref("kube-system"), request: { kind: "managedIdentity", resource: "r" } });
    const unmanaged: IdentitySelector = { by: "client_id", value: "00000000-0000-4000-8000-0000000000c2" };
    expect(decideTokenRequest(input("podid-system", unmanaged))).toEqual({ kind: "excepted", caller: ref("podid-system"), request: { kind: "managedIdentity", resource: "r", selector: unmanaged } });
    for (const selector of [
      { by: "client_id", value: managed.spec.clientID.toUpperCase() },
      { by: "msi_res_id", value: managed.spec.resourceID.toLowerCase() },
    ] satisfies IdentitySelector[]) {
      const decision = decideTokenRequest(input("kube-system", selector));
      expect(decision).toEqual({ kind: "exceptionRefused", caller: ref("kube-system"), reason: { kind: "managedIdentity", selector, identity: { namespace: "team-b", name: "payments" } } });
      if (decision.kind === "exceptionRefused") expect(toImdsResponse(decision)).toMatchObject({ status: 403, body: { error: "forbidden" } });
    }
    expect(decideTokenRequest(input("kube-system", { by: "object_id", value: "o" }))).toMatchObject({ kind: "exceptionRefused", reason: { kind: "unverifiableSelector" } });
  });

  it("--exception-passthrough restores the original's pass-through; --exception-namespaces replaces the list", () => {
    const selector: IdentitySelector = { by: "client_id", value: managed.spec.clientID };
    const passthrough = { ...NMI_DECISION_DEFAULTS, exceptionPassthrough: true };
    expect(decideTokenRequest({ ...input("kube-system", selector), options: passthrough })).toMatchObject({ kind: "excepted", request: { selector } });
    const listed = { ...NMI_DECISION_DEFAULTS, exceptionNamespaces: ["team-a"] };
    expect(decideTokenRequest({ ...input("team-a"), options: listed })).toMatchObject({ kind: "excepted" });
    expect(decideTokenRequest({ ...input("kube-system"), options: listed }).kind).not.toBe("excepted");
  });
});
