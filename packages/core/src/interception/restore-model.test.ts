import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_INTERCEPTION_SPEC } from "./interception-spec.js";
import { inspectInterception } from "./interception-drift.js";
import { EMPTY_RULESET, findChain, parseIptablesDump, type IptablesRuleset } from "./iptables-ruleset.js";
import { applyRestoreScript } from "./restore-model.js";
import { planInterceptionRemoval, renderInterceptionInstallScript } from "./restore-script.js";

function parse(text: string): IptablesRuleset {
  const parsed = parseIptablesDump(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

const kubeNat = parse(`*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -m tcp --dport 443 -j DNAT --to-destination 10.1.0.4:6443
COMMIT
`);

describe("applyRestoreScript (model of iptables-restore --noflush)", () => {
  it("installs next to kube-proxy's rules, with podid's jump first", () => {
    const result = applyRestoreScript(kubeNat, renderInterceptionInstallScript(DEFAULT_INTERCEPTION_SPEC));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(findChain(result.value, "nat", "PREROUTING")?.rules.map((r) => r.args.at(-1))).toEqual(["aad-metadata", "KUBE-SERVICES"]);
    expect(findChain(result.value, "nat", "KUBE-SERVICES")).toEqual(findChain(kubeNat, "nat", "KUBE-SERVICES"));
    expect(inspectInterception(DEFAULT_INTERCEPTION_SPEC, result.value).intact).toBe(true);
  });

  it("empties an existing custom chain on `:CHAIN` and creates built-ins on first use", () => {
    const result = applyRestoreScript(kubeNat, "*nat\n:KUBE-SERVICES - [0:0]\n-A POSTROUTING -j ACCEPT\nCOMMIT\n");
    expect(result.ok && findChain(result.value, "nat", "KUBE-SERVICES")?.rules).toEqual([]);
    expect(result.ok && findChain(result.value, "nat", "POSTROUTING")).toEqual({ name: "POSTROUTING", policy: "ACCEPT", rules: [{ chain: "POSTROUTING", args: ["-j", "ACCEPT"] }] });
  });

  it("fails like iptables: missing rule to delete, chain in use, unknown target, missing COMMIT", () => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["*nat\n-D PREROUTING -j nothing-here\nCOMMIT\n", "Bad rule"],
      ["*nat\n-F KUBE-SERVICES\n-X KUBE-SERVICES\nCOMMIT\n", "in use"],
      ["*nat\n-X KUBE-SERVICES\nCOMMIT\n", "not empty"],
      ["*nat\n-X PREROUTING\nCOMMIT\n", "built-in"],
      ["*nat\n-A PREROUTING -j no-such-chain\nCOMMIT\n", "does not exist"],
      ["*nat\n-I PREROUTING 9 -j ACCEPT\nCOMMIT\n", "too big"],
      ["*nat\n-N KUBE-SERVICES\nCOMMIT\n", "already exists"],
      ["*nat\n-A PREROUTING -j ACCEPT\n", "COMMIT expected"],
      ["-A PREROUTING -j ACCEPT\n", "no table"],
    ];
    for (const [script, message] of cases) {
      const result = applyRestoreScript(kubeNat, script);
      expect(result.ok, script).toBe(false);
      if (!result.ok) expect(result.error.message, script).toContain(message);
    }
  });

  it("keeps tables committed before a failing one, and nothing of the failing one", () => {
    fc.assert(
      fc.property(fc.constantFrom("-D INPUT -j nope", "-A INPUT -j nope", "-X INPUT"), (bad) => {
        const result = applyRestoreScript(EMPTY_RULESET, `*nat\n-A PREROUTING -j ACCEPT\nCOMMIT\n*filter\n-A FORWARD -j DROP\n${bad}\nCOMMIT\n`);
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.error.line).toBe(6);
        expect(findChain(result.error.committed, "nat", "PREROUTING")?.rules).toHaveLength(1);
        expect(result.error.committed.tables.has("filter")).toBe(false);
      }),
      { numRuns: 10 },
    );
  });

  it("removal after install leaves kube-proxy's table as it was (apart from empty built-ins)", () => {
    const installed = applyRestoreScript(kubeNat, renderInterceptionInstallScript(DEFAULT_INTERCEPTION_SPEC));
    if (!installed.ok) throw new Error(installed.error.message);
    const removed = applyRestoreScript(installed.value, planInterceptionRemoval(DEFAULT_INTERCEPTION_SPEC, installed.value).script);
    expect(removed.ok).toBe(true);
    if (!removed.ok) return;
    for (const chain of ["PREROUTING", "OUTPUT", "KUBE-SERVICES"]) expect(findChain(removed.value, "nat", chain)).toEqual(findChain(kubeNat, "nat", chain));
    expect(findChain(removed.value, "filter", "aad-metadata-guard")).toBeUndefined();
  });
});
