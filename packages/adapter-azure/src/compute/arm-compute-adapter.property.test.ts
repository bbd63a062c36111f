import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { formatUserAssignedIdentityId, identityKey, planIdentityPatches, type ComputeTarget } from "@podid/core";
import { ARM_AUDIENCES, encodeFakeJwt, FakeArmServer, FakeCompute, FakeIdentityCatalog, systemClock, TestCertificateAuthority } from "@podid/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArmComputeAdapter } from "./arm-compute-adapter.js";

/**
 * Random sequences of add/remove intents, each carried out the way MIC does it (the adapter's own GET,
 * core's `planIdentityPatches` with a small chunk size so chunking happens, one PATCH per chunk), over
 * real HTTPS against the fake ARM. After every step the fake must hold exactly what the model says: the
 * identities the intents left, plus every foreign identity (attached out of band, never named by an
 * intent), and the system-assigned identity with the same principal it started with.
 */
const SUB = "1e2d3c4b-5a69-4788-97a6-b5c4d3e2f1a0";
const uami = (name: string) => formatUserAssignedIdentityId({ subscriptionId: SUB, resourceGroup: "ids", name });
const key = (id: string) => identityKey(id) ?? id;
const POOL = ["p0", "p1", "p2", "p3", "p4", "p5", "p6"].map((n) => key(uami(n)));
const FOREIGN = ["foreign-0", "foreign-1"].map(uami);

/** A bearer token with ARM's audience, as AAD would mint it (the credential is not what is under test here). */
const credential: TokenCredential = {
  getToken: async (): Promise<AccessToken> => {
    const now = Math.floor(Date.now() / 1000);
    return {
      token: encodeFakeJwt({ aud: "https://management.azure.com/", iss: "https://sts.windows.net/t/", appid: "mic", oid: "mic", sub: "mic", tid: "t", iat: now, nbf: now, exp: now + 3600, uti: "u", ver: "1.0" }),
      expiresOnTimestamp: (now + 3600) * 1000,
    };
  },
};

let compute: FakeCompute;
let arm: FakeArmServer;
let adapter: ArmComputeAdapter;
let run = 0;

beforeAll(async () => {
  compute = new FakeCompute({ clock: systemClock, patchLatencyMs: 1, oneOperationAtATimePerTarget: true });
  arm = await FakeArmServer.start({ ca: TestCertificateAuthority.fromEnvironment(), compute, catalog: new FakeIdentityCatalog(), auth: { audiences: ARM_AUDIENCES } });
  adapter = new ArmComputeAdapter({
    credential,
    endpoint: arm.url,
    scope: "https://management.azure.com/.default",
    retry: { maxRetries: 0 },
    pollIntervalMs: 2,
  });
});

afterAll(async () => {
  await arm?.close();
});

const intent = fc.record({
  add: fc.subarray(POOL),
  remove: fc.subarray(POOL),
});

describe("ArmComputeAdapter property", () => {
  it("random add/remove sequences leave ARM holding exactly the model's identities, never dropping system or foreign ones", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<"vm" | "vmss">("vm", "vmss"),
        fc.boolean(),
        fc.integer({ min: 0, max: FOREIGN.length }),
        fc.subarray(POOL),
        fc.array(intent, { minLength: 1, maxLength: 4 }),
        async (kind, systemAssigned, foreignCount, initial, steps) => {
          run += 1;
          const ref = { subscriptionId: SUB, resourceGroup: "rg", name: `node-${run}` };
          const foreign = FOREIGN.slice(0, foreignCount);
          const target: ComputeTarget =
            kind === "vm"
              ? compute.addVm(ref, { systemAssigned, userAssigned: [...foreign, ...initial] })
              : compute.addVmss(ref, { systemAssigned, userAssigned: [...foreign, ...initial] });
          const principal = compute.identitiesOf(target)?.systemAssignedPrincipalId;
          const model = new Set(initial);
          for (const step of steps) {
            const current = await adapter.getIdentities(target);
            expect(current.ok).toBe(true);
            if (!current.ok) return;
            const plan = planIdentityPatches(current.value, step, 2);
            for (const patch of plan.patches) {
              const patched = await adapter.patchIdentities(target, patch);
              expect(patched).toMatchObject({ ok: true });
            }
            // The original's rule: removals first, then additions (an id in both stays).
            for (const id of step.remove) model.delete(id);
            for (const id of step.add) model.add(id);
            const snapshot = compute.identitiesOf(target);
            expect(snapshot?.userAssignedKeys).toEqual([...model, ...foreign.map(key)].sort());
            expect(snapshot?.systemAssignedPrincipalId).toBe(principal);
            const reread = await adapter.getIdentities(target);
            expect(reread.ok && reread.value.userAssignedIdentityIds.map(key).sort()).toEqual(snapshot?.userAssignedKeys);
          }
          expect(arm.malformedPatches).toEqual([]);
        },
      ),
      { numRuns: 15 },
    );
  }, 20_000);
});
