import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { anyUserAssignedIdentityIdArb, armNameArb, caseVariantArb } from "@podid/testkit";
import {
  formatUserAssignedIdentityId,
  identityKey,
  parseUserAssignedIdentityId,
  sameIdentityId,
} from "./user-assigned-identity-id.js";
import type { AzureIdErrorReason } from "./errors.js";

const ID =
  "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-frontend";

describe("parseUserAssignedIdentityId — examples", () => {
  it("parses the documented form and keeps the casing of values", () => {
    const r = parseUserAssignedIdentityId(
      "/subscriptions/SUB/resourceGroups/My-RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/KeyVaultReader",
    );
    expect(r).toEqual({
      ok: true,
      value: {
        subscriptionId: "SUB",
        resourceGroup: "My-RG",
        name: "KeyVaultReader",
        key: "/subscriptions/sub/resourcegroups/my-rg/providers/microsoft.managedidentity/userassignedidentities/keyvaultreader",
      },
    });
  });

  it("accepts lower-case segment names (the CLI writes resourcegroups) with the same key", () => {
    expect(identityKey(ID.toLowerCase())).toBe(identityKey(ID));
    expect(sameIdentityId(ID, ID.toUpperCase())).toBe(true);
  });

  it.each<[string, string, AzureIdErrorReason]>([
    ["empty (legacy ResourceID read as resourceID)", "", "emptyId"],
    ["trailing slash", `${ID}/`, "trailingSlash"],
    ["missing leading slash", ID.slice(1), "missingLeadingSlash"],
    ["leading whitespace", ` ${ID}`, "containsWhitespace"],
    ["newline inside", ID.replace("rg-identities", "rg-\nidentities"), "containsWhitespace"],
    ["empty resource group", ID.replace("rg-identities", ""), "emptySegment"],
    ["extra segment", `${ID}/extra`, "wrongSegmentCount"],
    ["missing name", ID.slice(0, ID.lastIndexOf("/")), "wrongSegmentCount"],
    ["wrong provider", ID.replace("Microsoft.ManagedIdentity", "Microsoft.Compute"), "wrongProvider"],
    ["wrong type", ID.replace("userAssignedIdentities", "systemAssignedIdentities"), "wrongResourceType"],
    ["resourceGroups misspelt", ID.replace("resourceGroups", "resourceGroup"), "unexpectedSegment"],
    ["portal URL pasted", `https://portal.azure.com/#@tenant/resource${ID}`, "missingLeadingSlash"],
  ])("rejects %s", (_label, input, reason) => {
    const r = parseUserAssignedIdentityId(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatchObject({ kind: "invalidAzureId", reason, input });
      expect(r.error.message.length).toBeGreaterThan(0);
    }
    expect(identityKey(input)).toBeUndefined();
  });

  it("never treats invalid ids as the same, not even as themselves", () => {
    expect(sameIdentityId("", "")).toBe(false);
    expect(sameIdentityId(`${ID}/`, `${ID}/`)).toBe(false);
  });
});

describe("parseUserAssignedIdentityId — properties", () => {
  it("valid ids parse to their parts, and key/format round-trip case-insensitively", () => {
    fc.assert(
      fc.property(anyUserAssignedIdentityIdArb, ({ id, subscriptionId, resourceGroup, name }) => {
        const r = parseUserAssignedIdentityId(id);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        // Values keep the casing they were written with (the generator may change the case of values).
        expect(r.value.subscriptionId.toLowerCase()).toBe(subscriptionId.toLowerCase());
        expect(r.value.resourceGroup.toLowerCase()).toBe(resourceGroup.toLowerCase());
        expect(r.value.name.toLowerCase()).toBe(name.toLowerCase());
        const formatted = formatUserAssignedIdentityId(r.value);
        expect(formatted.toLowerCase()).toBe(r.value.key);
        expect(identityKey(formatted)).toBe(r.value.key);
        expect(r.value.key).toBe(r.value.key.toLowerCase());
        expect(sameIdentityId(id, formatted)).toBe(true);
        expect(sameIdentityId(id.toUpperCase(), id.toLowerCase())).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("ids differing in any value are not the same identity", () => {
    fc.assert(
      fc.property(anyUserAssignedIdentityIdArb, armNameArb, ({ id, name }, other) => {
        fc.pre(other.toLowerCase() !== name.toLowerCase());
        const changed = `${id.slice(0, id.lastIndexOf("/"))}/${other}`;
        expect(sameIdentityId(id, changed)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  const mutations: readonly [string, (segments: string[]) => string, AzureIdErrorReason][] = [
    ["drop a segment", (s) => `/${s.filter((_, i) => i !== 3).join("/")}`, "wrongSegmentCount"],
    ["add a segment", (s) => `/${[...s, "extra"].join("/")}`, "wrongSegmentCount"],
    ["wrong provider", (s) => `/${s.map((x, i) => (i === 5 ? "Microsoft.KeyVault" : x)).join("/")}`, "wrongProvider"],
    ["empty name", (s) => `/${s.slice(0, 7).join("/")}/`, "trailingSlash"],
    ["empty subscription", (s) => `/${s.map((x, i) => (i === 1 ? "" : x)).join("/")}`, "emptySegment"],
    ["whitespace in a value", (s) => `/${s.map((x, i) => (i === 7 ? `${x} ` : x)).join("/")}`, "containsWhitespace"],
    ["no leading slash", (s) => s.join("/"), "missingLeadingSlash"],
  ];

  it("random mutations are rejected with the matching reason", () => {
    fc.assert(
      fc.property(anyUserAssignedIdentityIdArb, fc.constantFrom(...mutations), ({ id }, [, mutate, reason]) => {
        const mutated = mutate(id.slice(1).split("/"));
        const r = parseUserAssignedIdentityId(mutated);
        expect(r.ok ? undefined : r.error.reason).toBe(reason);
      }),
      { numRuns: 200 },
    );
  });

  it("segment names are matched case-insensitively", () => {
    fc.assert(
      fc.property(caseVariantArb("resourceGroups"), caseVariantArb("userAssignedIdentities"), (rg, type) => {
        const id = ID.replace("resourceGroups", rg).replace("userAssignedIdentities", type);
        expect(identityKey(id)).toBe(identityKey(ID));
      }),
      { numRuns: 50 },
    );
  });
});
