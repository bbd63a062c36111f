import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ComputeIdentityState, ResourceIdentityType } from "../azure-ids/types.js";
import { applyIdentityPatch, hasSystemAssigned, MAX_IDENTITIES_PER_REQUEST, planIdentityPatches } from "./identity-delta.js";

const id = (n: number) => `/subscriptions/s/resourcegroups/rg/providers/microsoft.managedidentity/userassignedidentities/id${n}`;
const mixedCase = (value: string, flips: readonly boolean[]) =>
  [...value].map((c, i) => (flips[i % Math.max(1, flips.length)] ? c.toUpperCase() : c)).join("");

const typeArb = fc.constantFrom<ResourceIdentityType>("None", "SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned");
const stateArb = fc
  .record({
    system: fc.boolean(),
    users: fc.uniqueArray(fc.nat(400), { maxLength: 200 }),
    flips: fc.array(fc.boolean(), { minLength: 1, maxLength: 7 }),
  })
  .map(({ system, users, flips }): ComputeIdentityState => ({
    type: users.length > 0 ? (system ? "SystemAssigned, UserAssigned" : "UserAssigned") : system ? "SystemAssigned" : "None",
    userAssignedIdentityIds: users.map((n) => mixedCase(id(n), flips)),
  }));
const intentArb = fc.record({
  add: fc.uniqueArray(fc.nat(400), { maxLength: 250 }).map((ns) => ns.map(id)),
  remove: fc.uniqueArray(fc.nat(400), { maxLength: 250 }).map((ns) => ns.map(id)),
});
const keysOf = (state: ComputeIdentityState) => new Set(state.userAssignedIdentityIds.map((x) => x.toLowerCase()));

describe("planIdentityPatches", () => {
  it("reaches exactly (current ∪ add) \\ (remove \\ add), keeps the system identity, never exceeds 150 per request", () => {
    fc.assert(
      fc.property(stateArb, intentArb, (state, intent) => {
        const plan = planIdentityPatches(state, intent);
        let applied = state;
        for (const patch of plan.patches) {
          expect(Object.keys(patch.identity.userAssignedIdentities ?? {}).length).toBeLessThanOrEqual(MAX_IDENTITIES_PER_REQUEST);
          applied = applyIdentityPatch(applied, patch);
        }
        const expected = new Set(keysOf(state));
        for (const key of intent.remove) if (!intent.add.includes(key)) expected.delete(key);
        for (const key of intent.add) expected.add(key);
        expect(keysOf(applied)).toEqual(expected);
        expect(keysOf(plan.resulting)).toEqual(expected);
        expect(hasSystemAssigned(applied.type)).toBe(hasSystemAssigned(state.type));
      }),
      { numRuns: 200 },
    );
  });

  it("never mentions an identity the intent does not name (foreign identities are untouched)", () => {
    fc.assert(
      fc.property(stateArb, intentArb, (state, intent) => {
        const named = new Set([...intent.add, ...intent.remove]);
        for (const patch of planIdentityPatches(state, intent).patches) {
          for (const key of Object.keys(patch.identity.userAssignedIdentities ?? {})) expect(named.has(key.toLowerCase())).toBe(true);
          // A type without UserAssigned clears every user identity: only allowed when nothing foreign remains.
          if (patch.identity.userAssignedIdentities === undefined) {
            const foreign = [...keysOf(state)].filter((key) => !named.has(key));
            expect(foreign).toEqual([]);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("sends nothing when the state already matches (idempotent)", () => {
    fc.assert(
      fc.property(stateArb, intentArb, (state, intent) => {
        const first = planIdentityPatches(state, intent);
        expect(planIdentityPatches(first.resulting, intent).patches).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  it("detaching the last user identity keeps a system-assigned identity (type SystemAssigned, never None)", () => {
    const state: ComputeIdentityState = { type: "SystemAssigned, UserAssigned", userAssignedIdentityIds: [id(1)] };
    const plan = planIdentityPatches(state, { add: [], remove: [id(1)] });
    expect(plan.patches).toEqual([{ identity: { type: "SystemAssigned" } }]);
    const userOnly = planIdentityPatches({ type: "UserAssigned", userAssignedIdentityIds: [id(1)] }, { add: [], remove: [id(1)] });
    expect(userOnly.patches).toEqual([{ identity: { type: "None" } }]);
  });

  it("adds with the combined type when a system identity exists", () => {
    const plan = planIdentityPatches({ type: "SystemAssigned", userAssignedIdentityIds: [] }, { add: [id(2)], remove: [] });
    expect(plan.patches).toEqual([{ identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [id(2)]: {} } } }]);
  });

  it("chunks 165 additions (#813) into 150 + 15", () => {
    const add = Array.from({ length: 165 }, (_, n) => id(n));
    const plan = planIdentityPatches({ type: "None", userAssignedIdentityIds: [] }, { add, remove: [] });
    expect(plan.patches.map((p) => Object.keys(p.identity.userAssignedIdentities ?? {}).length)).toEqual([150, 15]);
  });

  it("refuses to patch a VM or scale set that is being deleted", () => {
    const plan = planIdentityPatches({ type: "UserAssigned", userAssignedIdentityIds: [], provisioningState: "Deleting" }, { add: [id(1)], remove: [] });
    expect(plan.blockedBy).toBe("deleting");
    expect(plan.patches).toEqual([]);
  });

  it("applyIdentityPatch: UserAssigned drops the system identity, None drops everything", () => {
    fc.assert(
      fc.property(stateArb, typeArb, (state, type) => {
        const after = applyIdentityPatch(state, { identity: { type } });
        expect(hasSystemAssigned(after.type)).toBe(hasSystemAssigned(type));
        if (type === "None" || type === "SystemAssigned") expect(after.userAssignedIdentityIds).toEqual([]);
      }),
    );
  });
});
