import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { IdentityPatch, ResourceIdentityType } from "@podid/core";
import { normaliseIdentityType, toComputeIdentityState, toSdkIdentity } from "./identity-mapping.js";

const id = (n: string) => `/subscriptions/s/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${n}`;

describe("identity mapping", () => {
  it("normalises ARM's spellings of identity.type and an absent block", () => {
    expect(normaliseIdentityType(undefined)).toBe("None");
    expect(normaliseIdentityType({ type: "SystemAssigned,UserAssigned" as ResourceIdentityType })).toBe("SystemAssigned, UserAssigned");
    expect(normaliseIdentityType({ type: "userassigned" as ResourceIdentityType })).toBe("UserAssigned");
    // An unknown value is derived from what is there instead of trusted.
    expect(normaliseIdentityType({ type: "Weird" as ResourceIdentityType, principalId: "p", userAssignedIdentities: { [id("a")]: {} } })).toBe(
      "SystemAssigned, UserAssigned",
    );
    expect(normaliseIdentityType({ userAssignedIdentities: { [id("a")]: {} } })).toBe("UserAssigned");
  });

  it("keeps ids exactly as ARM returned them, with provisioningState and etag", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9-]{1,10}$/), { maxLength: 20 }), fc.option(fc.string(), { nil: undefined }), (names, etag) => {
        const ids = names.map(id);
        const state = toComputeIdentityState({
          identity: { type: "UserAssigned", userAssignedIdentities: Object.fromEntries(ids.map((i) => [i, { clientId: "c", principalId: "p" }])) },
          provisioningState: "Succeeded",
          ...(etag !== undefined ? { etag } : {}),
        });
        expect(state.userAssignedIdentityIds).toEqual(ids);
        expect(state.provisioningState).toBe("Succeeded");
        expect(state.etag).toBe(etag);
      }),
      { numRuns: 100 },
    );
  });

  it("passes core's delta through unchanged, null detaches included", () => {
    const entry = fc.tuple(fc.stringMatching(/^[a-z0-9]{1,8}$/).map(id), fc.oneof(fc.constant({} as Record<string, never>), fc.constant(null)));
    fc.assert(
      fc.property(fc.constantFrom<ResourceIdentityType>("UserAssigned", "SystemAssigned, UserAssigned"), fc.array(entry, { maxLength: 20 }), (type, entries) => {
        const patch: IdentityPatch = { identity: { type, userAssignedIdentities: Object.fromEntries(entries) } };
        expect(JSON.stringify({ identity: toSdkIdentity(patch) })).toBe(JSON.stringify(patch));
      }),
      { numRuns: 100 },
    );
    expect(toSdkIdentity({ identity: { type: "None" } })).toEqual({ type: "None" });
  });
});
