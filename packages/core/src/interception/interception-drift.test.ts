import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { InterceptionSpec } from "../ports/netfilter.port.js";
import { DEFAULT_INTERCEPTION_SPEC, guardChainName, validateInterceptionSpec } from "./interception-spec.js";
import { desiredInterception, dnatRule, jumpRule } from "./desired-rules.js";
import { diagnoseInterception, inspectInterception } from "./interception-drift.js";
import { sameRule, type IptablesRule } from "./iptables-rule.js";
import { EMPTY_RULESET, parseIptablesDump, renderIptablesSave, type IptablesChain, type IptablesRuleset } from "./iptables-ruleset.js";
import { applyRestoreScript } from "./restore-model.js";
import { planInterceptionRemoval, planInterceptionRepair, renderInterceptionInstallScript } from "./restore-script.js";

const spec: fc.Arbitrary<InterceptionSpec> = fc
  .record({
    chain: fc.oneof(fc.constant("aad-metadata"), fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/)),
    metadataAddress: fc.oneof(fc.constant("169.254.169.254"), fc.ipV4()),
    metadataPort: fc.oneof(fc.constant(80), fc.integer({ min: 1, max: 65535 })),
    targetAddress: fc.oneof(fc.constant("127.0.0.1"), fc.ipV4()),
    targetPort: fc.oneof(fc.constant(2579), fc.integer({ min: 1, max: 65535 })),
  })
  .filter((s) => validateInterceptionSpec(s).ok);

/** Other agents' rules (kube-proxy, CNI, Docker) in the built-in chains and their own chains. */
const foreignArgs = (ownChains: readonly string[]): fc.Arbitrary<readonly string[]> =>
  fc.oneof(
    fc.constant(["-j", "ACCEPT"]),
    fc.constant(["-s", "10.244.0.0/16", "-j", "RETURN"]),
    fc.constant(["-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"]),
    fc.constant(["-i", "cni0", "-p", "tcp", "-m", "tcp", "--dport", "53", "-j", "DROP"]),
    ...ownChains.map((c) => fc.constant(["-m", "comment", "--comment", "jump to a foreign chain", "-j", c])),
  );

const foreignRuleset: fc.Arbitrary<IptablesRuleset> = fc
  .record({ natRules: fc.array(fc.tuple(fc.constantFrom("PREROUTING", "OUTPUT", "POSTROUTING", "KUBE-SERVICES"), fc.nat()), { maxLength: 6 }), filterRules: fc.array(fc.tuple(fc.constantFrom("INPUT", "FORWARD", "OUTPUT", "KUBE-SERVICES", "CNI-FW"), fc.nat()), { maxLength: 6 }) })
  .chain(({ natRules, filterRules }) =>
    fc.tuple(fc.array(foreignArgs([]), { minLength: natRules.length, maxLength: natRules.length }), fc.array(foreignArgs(["CNI-FW"]), { minLength: filterRules.length, maxLength: filterRules.length })).map(([natArgs, filterArgs]) => {
      const build = (name: string, chains: readonly string[], placed: ReadonlyArray<readonly [string, number]>, args: ReadonlyArray<readonly string[]>) => {
        const map = new Map<string, IptablesChain>(chains.map((c) => [c, { name: c, ...(c === c.toUpperCase() && !c.includes("-") ? { policy: "ACCEPT" } : {}), rules: [] }]));
        placed.forEach(([chain, _], i) => {
          const existing = map.get(chain);
          const a = args[i] ?? ["-j", "ACCEPT"];
          // Never let a foreign chain jump to itself.
          if (existing === undefined || a.includes(chain)) return;
          map.set(chain, { ...existing, rules: [...existing.rules, { chain, args: a }] });
        });
        return [name, { name, chains: map }] as const;
      };
      return {
        tables: new Map([
          build("nat", ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "KUBE-SERVICES"], natRules, natArgs),
          build("filter", ["INPUT", "FORWARD", "OUTPUT", "KUBE-SERVICES", "CNI-FW"], filterRules, filterArgs),
        ]),
      };
    }),
  );

function installed(s: InterceptionSpec, base: IptablesRuleset): IptablesRuleset {
  const result = applyRestoreScript(base, planInterceptionRepair(s, base).script);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

function mapChain(rs: IptablesRuleset, table: string, chain: string, f: (rules: readonly IptablesRule[]) => readonly IptablesRule[] | undefined): IptablesRuleset {
  const t = rs.tables.get(table);
  if (t === undefined) return rs;
  const chains = new Map(t.chains);
  const existing = chains.get(chain);
  const next = f(existing?.rules ?? []);
  if (next === undefined) chains.delete(chain);
  else chains.set(chain, { ...(existing ?? { name: chain }), rules: next });
  return { tables: new Map(rs.tables).set(table, { name: table, chains }) };
}

/** Foreign rules: everything except podid's chains and its exact jumps. */
function foreignView(s: InterceptionSpec, rs: IptablesRuleset): Record<string, readonly string[]> {
  const owned = desiredInterception(s);
  const out: Record<string, readonly string[]> = {};
  for (const table of rs.tables.values()) {
    for (const chain of table.chains.values()) {
      if (owned.some((o) => o.table === table.name && o.chain === chain.name)) continue;
      const jumps = owned.filter((o) => o.table === table.name).map((o) => jumpRule(chain.name, o.chain));
      out[`${table.name}/${chain.name}`] = chain.rules.filter((r) => !jumps.some((j) => sameRule(r, j))).map((r) => r.args.join(" "));
    }
  }
  return out;
}

type Mutation = { readonly name: string; readonly apply: (s: InterceptionSpec, rs: IptablesRuleset) => IptablesRuleset };

const intruder: IptablesRule = { chain: "", args: ["-m", "comment", "--comment", "kubernetes service portals", "-j", "ACCEPT"] };

const mutations: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom(0, 1), fc.constantFrom(0, 1)).map(([owned, index]): Mutation => ({
    name: `delete rule ${String(index)} of owned chain ${String(owned)}`,
    apply: (s, rs) => {
      const o = desiredInterception(s)[owned];
      return o === undefined ? rs : mapChain(rs, o.table, o.chain, (rules) => rules.filter((_, i) => i !== index));
    },
  })),
  fc.constantFrom(["filter", "INPUT"], ["filter", "FORWARD"], ["nat", "PREROUTING"]).chain(([table, from]) =>
    fc.constantFrom<Mutation>(
      {
        name: `delete jump from ${from}`,
        apply: (s, rs) => {
          const target = table === "nat" ? s.chain : guardChainName(s);
          return mapChain(rs, table, from, (rules) => rules.filter((r) => !sameRule(r, jumpRule(from, target))));
        },
      },
      { name: `rule inserted before the jump in ${from}`, apply: (_s, rs) => mapChain(rs, table, from, (rules) => [{ ...intruder, chain: from }, ...rules]) },
      {
        name: `duplicate jump in ${from}`,
        apply: (s, rs) => mapChain(rs, table, from, (rules) => [...rules, jumpRule(from, table === "nat" ? s.chain : guardChainName(s))]),
      },
    ),
  ),
  fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.ipV4()).map(([port, address]): Mutation => ({
    name: `DNAT retargeted to ${address}:${String(port)}`,
    apply: (s, rs) =>
      mapChain(rs, "nat", s.chain, (rules) =>
        rules.map((r) => (sameRule(r, dnatRule(s)) ? dnatRule({ ...s, targetAddress: address, targetPort: port === s.targetPort && address === s.targetAddress ? (port % 65535) + 1 : port }) : r)),
      ),
  })),
  fc.tuple(fc.constantFrom(0, 1), fc.nat(3)).map(([owned, at]): Mutation => ({
    name: `extra rule at ${String(at)} in owned chain ${String(owned)}`,
    apply: (s, rs) => {
      const o = desiredInterception(s)[owned];
      if (o === undefined) return rs;
      return mapChain(rs, o.table, o.chain, (rules) => [...rules.slice(0, at), { chain: o.chain, args: ["-j", "ACCEPT"] }, ...rules.slice(at)]);
    },
  })),
  fc.constantFrom(0, 1).map((owned): Mutation => ({
    name: `reorder owned chain ${String(owned)}`,
    apply: (s, rs) => {
      const o = desiredInterception(s)[owned];
      return o === undefined ? rs : mapChain(rs, o.table, o.chain, (rules) => [...rules].reverse());
    },
  })),
  fc.constantFrom(0, 1).map((owned): Mutation => ({
    name: `flush owned chain ${String(owned)}`,
    apply: (s, rs) => {
      const o = desiredInterception(s)[owned];
      return o === undefined ? rs : mapChain(rs, o.table, o.chain, () => []);
    },
  })),
  fc.constantFrom(0, 1).map((owned): Mutation => ({
    name: `delete owned chain ${String(owned)} and its jumps`,
    apply: (s, rs) => {
      const o = desiredInterception(s)[owned];
      if (o === undefined) return rs;
      let next = mapChain(rs, o.table, o.chain, () => undefined);
      for (const from of o.jumpFrom) next = mapChain(next, o.table, from, (rules) => rules.filter((r) => !sameRule(r, jumpRule(from, o.chain))));
      return next;
    },
  })),
);

describe("install, inspect and repair (properties over any foreign ruleset)", () => {
  it("installing gives an intact state, keeps every foreign rule, and round-trips through iptables-save text", () => {
    fc.assert(
      fc.property(spec, foreignRuleset, (s, base) => {
        const after = installed(s, base);
        expect(inspectInterception(s, after)).toEqual({ intact: true, drift: [] });
        expect(foreignView(s, after)).toEqual(foreignView(s, base));
        expect(parseIptablesDump(renderIptablesSave(after))).toEqual({ ok: true, value: after });
        // Idempotent: nothing left to do.
        expect(planInterceptionRepair(s, after)).toEqual({ changes: false, tables: [], script: "" });
      }),
      { numRuns: 150 },
    );
  });

  it("detects any single mutation as drift, and the repair plan restores it without touching foreign rules", () => {
    fc.assert(
      fc.property(spec, foreignRuleset, mutations, (s, base, mutation) => {
        const good = installed(s, base);
        const bad = mutation.apply(s, good);
        const state = inspectInterception(s, bad);
        expect(state.intact, mutation.name).toBe(false);
        expect(state.drift.length, mutation.name).toBeGreaterThan(0);
        const plan = planInterceptionRepair(s, bad);
        expect(plan.changes).toBe(true);
        const repaired = applyRestoreScript(bad, plan.script);
        expect(repaired.ok, mutation.name).toBe(true);
        if (!repaired.ok) return;
        expect(inspectInterception(s, repaired.value)).toEqual({ intact: true, drift: [] });
        expect(foreignView(s, repaired.value)).toEqual(foreignView(s, bad));
      }),
      { numRuns: 300 },
    );
  });

  it("the removal plan deletes everything podid owns and nothing else, and is then a no-op", () => {
    fc.assert(
      fc.property(spec, foreignRuleset, fc.option(mutations, { nil: undefined }), (s, base, mutation) => {
        const good = installed(s, base);
        const current = mutation === undefined ? good : mutation.apply(s, good);
        const removed = applyRestoreScript(current, planInterceptionRemoval(s, current).script);
        expect(removed.ok).toBe(true);
        if (!removed.ok) return;
        for (const owned of desiredInterception(s)) expect(removed.value.tables.get(owned.table)?.chains.has(owned.chain)).toBe(false);
        expect(foreignView(s, removed.value)).toEqual(foreignView(s, current));
        expect(planInterceptionRemoval(s, removed.value).changes).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});

describe("drift messages (documented cases)", () => {
  const s = DEFAULT_INTERCEPTION_SPEC;

  it("names what is missing on a bare node", () => {
    expect(inspectInterception(s, EMPTY_RULESET).drift).toEqual([
      "filter chain aad-metadata-guard does not exist",
      "filter INPUT does not jump to aad-metadata-guard",
      "filter FORWARD does not jump to aad-metadata-guard",
      "nat chain aad-metadata does not exist",
      "nat PREROUTING does not jump to aad-metadata",
    ]);
  });

  it("reports a flushed nat chain (`iptables -t nat -F aad-metadata`) rule by rule", () => {
    const flushed = mapChain(installed(s, EMPTY_RULESET), "nat", "aad-metadata", () => []);
    expect(inspectInterception(s, flushed).drift).toEqual([
      "nat chain aad-metadata is missing rule: -A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:2579",
      "nat chain aad-metadata is missing rule: -A aad-metadata -j RETURN",
    ]);
    const diagnosis = diagnoseInterception(s, flushed);
    expect(diagnosis.map((d) => [d.exists, d.contentsIntact])).toEqual([[true, true], [true, false]]);
  });

  it("reports a jump pushed down by kube-proxy and a repeated jump", () => {
    let rs = installed(s, EMPTY_RULESET);
    rs = mapChain(rs, "nat", "PREROUTING", (rules) => [{ chain: "PREROUTING", args: ["-j", "ACCEPT"] }, ...rules, jumpRule("PREROUTING", "aad-metadata")]);
    expect(inspectInterception(s, rs).drift).toEqual([
      "nat PREROUTING jumps to aad-metadata at position 2, expected 1",
      "nat PREROUTING jumps to aad-metadata 2 times, expected once",
    ]);
    expect(planInterceptionRepair(s, rs)).toEqual({
      changes: true,
      tables: ["nat"],
      script: "*nat\n-D PREROUTING -j aad-metadata\n-D PREROUTING -j aad-metadata\n-I PREROUTING 1 -j aad-metadata\nCOMMIT\n",
    });
  });

  it("installs filter before nat, so the guard exists before the DNAT", () => {
    expect(renderInterceptionInstallScript(s)).toBe(
      [
        "*filter",
        ":aad-metadata-guard - [0:0]",
        "-A aad-metadata-guard -d 169.254.169.254/32 ! -i lo -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset",
        // NMI's own port is reachable from outside the node only through the DNAT.
        "-A aad-metadata-guard -d 127.0.0.1/32 ! -i lo -p tcp -m tcp --dport 2579 -m conntrack ! --ctstate DNAT -j REJECT --reject-with tcp-reset",
        "-A aad-metadata-guard -j RETURN",
        "-I INPUT 1 -j aad-metadata-guard",
        "-I FORWARD 1 -j aad-metadata-guard",
        "COMMIT",
        "*nat",
        ":aad-metadata - [0:0]",
        "-A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:2579",
        "-A aad-metadata -j RETURN",
        "-I PREROUTING 1 -j aad-metadata",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });
});
