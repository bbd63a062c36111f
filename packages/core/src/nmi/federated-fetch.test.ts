import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeAssigned, makeBinding, makeIdentity, makePod } from "@podid/testkit";
import { ok } from "../result.js";
import type { AzureIdentity, PodView } from "../model/types.js";
import { decideTokenRequest } from "./decide-token.js";
import { completeFederatedPlan, federatedCacheIdentityKey, planFederatedFetch, serviceAccountTokenRequestOf } from "./federated-fetch.js";
import { planTokenFetch } from "./fetch-plan.js";
import { toImdsResponse } from "./imds-response.js";
import type { IdentitySource } from "./identity-source.js";
import { NMI_DECISION_DEFAULTS } from "./nmi-options.js";

const VOLUME = { volumeName: "azure-identity-token", path: "azure-identity-token", expirationSeconds: 3600 };
const RESOURCE = "https://vault.azure.net";

/** A federated identity in `team-a` trusting service account `app`. */
function federatedIdentity(serviceAccounts: readonly string[] = ["app"], namespace = "team-a"): AzureIdentity {
  const base = makeIdentity({ name: "fed", namespace, type: 1, clientId: "c1d2e3f4-0000-4000-8000-000000000001", tenantId: "t1" });
  return { ...base, spec: { ...base.spec, type: 3, resourceID: "/subscriptions/s/resourceGroups/r/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fed", serviceAccounts } };
}

function pod(o: { serviceAccount?: string; namespace?: string; volume?: boolean } = {}): PodView {
  const base = makePod({ name: "app-0", namespace: o.namespace ?? "team-a", ip: "10.0.0.5", selector: "fed" });
  return { ...base, serviceAccountName: o.serviceAccount ?? "app", ...(o.volume === false ? {} : { federatedTokenVolume: VOLUME }) };
}

/** The token decision for `caller` with `identity` bound and (unless `withoutAssignment`) Assigned, in standard mode. */
function decide(caller: PodView, identity: AzureIdentity, withoutAssignment = false) {
  const binding = makeBinding(identity, "fed");
  const identities: IdentitySource = {
    mode: "standard",
    assignedIdentities: withoutAssignment ? [] : [makeAssigned(caller, identity, binding)],
    bindings: [binding],
    identities: [identity],
    options: { forceNamespaced: false },
  };
  return decideTokenRequest({
    request: ok({ resource: RESOURCE }),
    caller: ok(caller),
    exceptions: [],
    managedIdentities: [identity],
    identities,
    elapsedMs: 0,
    options: NMI_DECISION_DEFAULTS,
  });
}

describe("the token decision for a federated identity", () => {
  it("fetches with the calling pod's own token volume and service account", () => {
    const decision = decide(pod(), federatedIdentity());
    expect(decision).toMatchObject({
      kind: "fetch",
      plan: {
        kind: "federated",
        resource: RESOURCE,
        tenantId: "t1",
        clientId: "c1d2e3f4-0000-4000-8000-000000000001",
        podUid: "uid-team-a-app-0",
        serviceAccount: { namespace: "team-a", name: "app" },
        volume: VOLUME,
      },
    });
  });

  it("refuses a pod of another service account with 403 serviceAccountNotTrusted", () => {
    const decision = decide(pod({ serviceAccount: "intruder" }), federatedIdentity());
    expect(decision).toMatchObject({ kind: "federatedRefused", reason: "serviceAccountNotTrusted" });
    if (decision.kind !== "federatedRefused") throw new Error("unreachable");
    const response = toImdsResponse(decision);
    expect(response.status).toBe(403);
    expect(response.body).toMatchObject({ error: "forbidden", error_description: expect.stringMatching(/^serviceAccountNotTrusted: .*team-a\/fed/) });
  });

  it("answers 403 at once, not after a wait, a pod MIC gives no AzureAssignedIdentity because it is not trusted", () => {
    expect(decide(pod({ serviceAccount: "intruder" }), federatedIdentity(), true)).toMatchObject({ kind: "federatedRefused", reason: "serviceAccountNotTrusted" });
    // A trusted pod without its AzureAssignedIdentity yet waits for MIC, as for any identity.
    expect(decide(pod(), federatedIdentity(), true)).toMatchObject({ kind: "wait", reason: "noneAssigned" });
  });

  it("refuses a pod of a listed service account name in another namespace", () => {
    expect(decide(pod({ namespace: "team-b" }), federatedIdentity())).toMatchObject({ kind: "federatedRefused", reason: "serviceAccountNotTrusted" });
  });

  it("refuses a trusted pod without a federated token volume with 403 federatedTokenVolumeMissing", () => {
    const decision = decide(pod({ volume: false }), federatedIdentity());
    expect(decision).toMatchObject({ kind: "federatedRefused", reason: "federatedTokenVolumeMissing" });
    if (decision.kind !== "federatedRefused") throw new Error("unreachable");
    expect(toImdsResponse(decision)).toMatchObject({ status: 403, body: { error_description: expect.stringMatching(/^federatedTokenVolumeMissing: /) } });
  });

  it("a pod that names no service account runs as `default`", () => {
    expect(decide(pod({ serviceAccount: "" }), federatedIdentity(["default"]))).toMatchObject({ kind: "fetch", plan: { serviceAccount: { name: "default" } } });
  });

  it("is never planned without the pod (type 3 is not a service principal)", () => {
    expect(planTokenFetch(federatedIdentity(), RESOURCE)).toMatchObject({ ok: false, error: { kind: "invalidIdentity" } });
    const noTenant = federatedIdentity();
    expect(planFederatedFetch({ ...noTenant, spec: { ...noTenant.spec, tenantID: "" } }, pod(), RESOURCE)).toMatchObject({ ok: false, error: { kind: "invalidIdentity" } });
  });

  it("fetches exactly for trusted pods with a volume (any service accounts, namespaces, volumes)", () => {
    fc.assert(
      fc.property(
        fc.subarray(["app", "web", "default"]),
        fc.constantFrom("app", "web", "batch", ""),
        fc.constantFrom("team-a", "team-b"),
        fc.boolean(),
        (listed, serviceAccount, namespace, volume) => {
          const decision = decide(pod({ serviceAccount, namespace, volume }), federatedIdentity(listed, namespace === "team-b" ? "team-a" : "team-a"));
          const trusted = namespace === "team-a" && listed.includes(serviceAccount === "" ? "default" : serviceAccount);
          const expected = !trusted ? "serviceAccountNotTrusted" : !volume ? "federatedTokenVolumeMissing" : "fetch";
          expect(decision.kind === "fetch" ? "fetch" : decision.kind === "federatedRefused" ? decision.reason : decision.kind).toBe(expected);
        },
      ),
    );
  });
});

describe("federated fetch plumbing", () => {
  it("reads the pod's own token and sends it as the assertion", () => {
    const plan = planFederatedFetch(federatedIdentity(), pod(), RESOURCE);
    if (!plan.ok) throw new Error("planned");
    expect(serviceAccountTokenRequestOf(plan.value)).toEqual({ podUid: "uid-team-a-app-0", namespace: "team-a", serviceAccountName: "app", volume: VOLUME });
    expect(completeFederatedPlan(plan.value, "eyJ.a.b")).toEqual({
      kind: "federated",
      resource: RESOURCE,
      tenantId: "t1",
      clientId: "c1d2e3f4-0000-4000-8000-000000000001",
      authorityHost: "",
      assertion: "eyJ.a.b",
    });
  });

  it("cache keys differ for every (identity key, namespace, service account)", () => {
    const part = fc.string({ maxLength: 6 });
    fc.assert(
      fc.property(fc.tuple(part, part, part), fc.tuple(part, part, part), ([i1, n1, s1], [i2, n2, s2]) => {
        const k1 = federatedCacheIdentityKey(`identity:${i1}`, { namespace: n1, name: s1 });
        const k2 = federatedCacheIdentityKey(`identity:${i2}`, { namespace: n2, name: s2 });
        expect(k1 === k2).toBe(i1 === i2 && n1 === n2 && s1 === s2);
      }),
    );
  });
});
