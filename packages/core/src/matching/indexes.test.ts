import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AzureIdentity, AzureIdentityBinding, ObjectMeta } from "../model/types.js";
import { bindingIdentity, indexBindingsBySelector, indexIdentities } from "./indexes.js";
import { compareByNamespaceName, compareByNamespaceNameUid, compareCodeUnits, namespacedKey } from "./order.js";

function meta(namespace: string, name: string, uid?: string): ObjectMeta {
  return { name, namespace, labels: {}, annotations: {}, finalizers: [], ...(uid === undefined ? {} : { uid }) };
}

function binding(namespace: string, name: string, azureIdentity: string, selector: string): AzureIdentityBinding {
  return { kind: "AzureIdentityBinding", metadata: meta(namespace, name), spec: { azureIdentity, selector } };
}

function identity(namespace: string, name: string, clientID = ""): AzureIdentity {
  return {
    kind: "AzureIdentity",
    metadata: meta(namespace, name),
    spec: { type: 0, resourceID: "", clientID, tenantID: "", auxiliaryTenantIDs: [], adEndpoint: "", adResourceID: "", serviceAccounts: [] },
  };
}

const nsArb = fc.constantFrom("default", "a", "a/b", "b", "");
const nameArb = fc.constantFrom("x", "y", "b/x", "id");
const selectorArb = fc.constantFrom("web", "Web", "", "other", "__proto__", "constructor");
const keyOf = (o: { readonly metadata: ObjectMeta }): string => JSON.stringify([o.metadata.namespace, o.metadata.name]);

const bindingsArb = fc.uniqueArray(
  fc.tuple(nsArb, nameArb, nameArb, selectorArb).map(([ns, name, id, sel]) => binding(ns, name, id, sel)),
  { selector: keyOf, maxLength: 12 },
);

/** Short strings over a few code units chosen to expose ordering and key-encoding mistakes. */
function tinyStringArb(units: readonly string[]): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...units), maxLength: 4 });
}

type Row = { readonly metadata: ObjectMeta };

/** A comparator over rows from the fields `fields` picks, compared one after the other with `<`. */
function byFields(fields: (row: Row) => readonly string[]): (x: Row, y: Row) => number {
  return (x, y) => {
    const [a, b] = [fields(x), fields(y)];
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] ?? "") < (b[i] ?? "") ? -1 : 1;
    return 0;
  };
}

describe("order helpers", () => {
  it("compareCodeUnits is the default string sort order (UTF-16 code units, not code points), antisymmetric", () => {
    // U+1F600 is a surrogate pair, so it sorts before U+FFFF by code unit but after it by code point.
    const stringsArb = fc.array(tinyStringArb(["a", "B", "-", "é", "\u{1F600}", "\uFFFF", "\uD800"]), { maxLength: 10 });
    fc.assert(
      fc.property(stringsArb, (strings) => {
        expect([...strings].sort(compareCodeUnits)).toEqual([...strings].sort());
        const antisymmetric = strings.every((a) =>
          strings.every((b) => compareCodeUnits(a, b) + compareCodeUnits(b, a) === 0),
        );
        expect(antisymmetric).toBe(true);
      }),
    );
    expect(compareCodeUnits("\u{1F600}", "\uFFFF")).toBe(-1);
  });

  it("compareByNamespaceName and compareByNamespaceNameUid order lexicographically by their fields", () => {
    const uidArb = fc.option(fc.constantFrom("u1", "u2"), { nil: undefined });
    fc.assert(
      fc.property(fc.array(fc.tuple(nsArb, nameArb, uidArb), { maxLength: 8 }), (rows) => {
        const objects: Row[] = rows.map(([ns, name, uid]) => ({ metadata: meta(ns, name, uid) }));
        expect([...objects].sort(compareByNamespaceName)).toEqual(
          [...objects].sort(byFields((o) => [o.metadata.namespace, o.metadata.name])),
        );
        expect([...objects].sort(compareByNamespaceNameUid)).toEqual(
          [...objects].sort(byFields((o) => [o.metadata.namespace, o.metadata.name, o.metadata.uid ?? ""])),
        );
      }),
    );
  });

  it("namespacedKey is injective, even when names contain the separator or digits", () => {
    const partArb = tinyStringArb(["a", "/", ":", "1"]);
    fc.assert(
      fc.property(partArb, partArb, partArb, partArb, (a, b, c, d) => {
        expect(namespacedKey(a, b) === namespacedKey(c, d)).toBe(a === c && b === d);
      }),
      { numRuns: 500 },
    );
    expect(namespacedKey("a/b", "c")).not.toBe(namespacedKey("a", "b/c"));
  });
});

describe("indexBindingsBySelector", () => {
  it("puts each binding with a non-empty selector once in its selector's group, sorted by (namespace, name)", () => {
    fc.assert(
      fc.property(bindingsArb, (bindings) => {
        const index = indexBindingsBySelector(bindings);
        expect(index.has("")).toBe(false);
        const flattened = [...index.values()].flat();
        expect(flattened).toHaveLength(bindings.filter((b) => b.spec.selector !== "").length);
        for (const [selector, group] of index) {
          expect(group.length).toBeGreaterThan(0);
          for (const b of group) expect(b.spec.selector).toBe(selector);
          expect([...group]).toEqual([...group].sort(compareByNamespaceName));
        }
        for (const b of bindings) if (b.spec.selector !== "") expect(index.get(b.spec.selector)).toContain(b);
      }),
    );
  });

  it("handles selectors that are Object.prototype member names", () => {
    const index = indexBindingsBySelector([
      binding("a", "b", "id", "__proto__"),
      binding("a", "c", "id", "constructor"),
    ]);
    expect(index.get("__proto__")?.map((b) => b.metadata.name)).toEqual(["b"]);
    expect(index.get("constructor")?.map((b) => b.metadata.name)).toEqual(["c"]);
    expect(index.get("toString")).toBeUndefined();
  });
});

describe("indexIdentities and bindingIdentity", () => {
  it("resolves a binding's identity in the binding's namespace only", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(nsArb, nameArb).map(([ns, name]) => identity(ns, name)),
          { selector: keyOf, maxLength: 10 },
        ),
        bindingsArb,
        (identities, bindings) => {
          const index = indexIdentities(identities);
          for (const b of bindings) {
            const expected = identities.find(
              (i) => i.metadata.namespace === b.metadata.namespace && i.metadata.name === b.spec.azureIdentity,
            );
            expect(bindingIdentity(index, b)).toBe(expected);
          }
        },
      ),
    );
  });

  it("keeps the first of two identities with the same namespace and name instead of overwriting", () => {
    const first = identity("a", "id", "first");
    const second = identity("a", "id", "second");
    const index = indexIdentities([first, second]);
    expect(bindingIdentity(index, binding("a", "b", "id", "s"))).toBe(first);
    expect(index.size).toBe(1);
  });
});
