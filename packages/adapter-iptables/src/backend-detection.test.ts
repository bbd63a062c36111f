import { DEFAULT_INTERCEPTION_SPEC, EMPTY_RULESET, applyRestoreScript, renderIptablesSave, type IptablesRuleset } from "@podid/core";
import { RecordingLogger } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import { detectIptablesBackend } from "./backend-detection.js";
import type { CommandOutcome, CommandRunner } from "./command-runner.js";
import { IptablesNetfilter } from "./iptables-netfilter.js";

const KUBE_NAT = `*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -m tcp --dport 443 -j DNAT --to-destination 10.1.0.4:6443
COMMIT
`;

/** Two backends' worth of tables: each `*-save` prints its backend's dump, each restore applies to it (core's model). */
class TwoBackendRunner implements CommandRunner {
  readonly state = new Map<string, IptablesRuleset>([["nft", EMPTY_RULESET], ["legacy", EMPTY_RULESET]]);
  readonly dumps = new Map<string, string>();
  readonly calls: string[] = [];
  readonly missing = new Set<string>();

  async run(argv: readonly [string, ...string[]], options: { readonly input?: string; readonly timeoutMs: number }): Promise<CommandOutcome> {
    const [binary, ...args] = argv;
    this.calls.push(argv.join(" "));
    if (this.missing.has(binary)) return { kind: "notFound", command: binary, message: `${binary}: ENOENT` };
    const backend = /-(nft|legacy)-/.exec(binary)?.[1];
    if (backend === undefined) return { kind: "notFound", command: binary, message: `${binary}: ENOENT` };
    const state = this.state.get(backend) ?? EMPTY_RULESET;
    if (binary.endsWith("-save")) {
      if (binary.startsWith("ip6")) return { kind: "exited", exitCode: 0, stdout: "", stderr: "" };
      const table = args.includes("-t") ? args[args.indexOf("-t") + 1] : undefined;
      const own = table === undefined ? renderIptablesSave(state) : renderIptablesSave({ tables: new Map([[table, state.tables.get(table) ?? { name: table, chains: new Map() }]]) });
      return { kind: "exited", exitCode: 0, stdout: `${table === undefined ? (this.dumps.get(backend) ?? "") : ""}${own}`, stderr: "" };
    }
    if (binary.endsWith("-restore")) {
      const applied = applyRestoreScript(state, options.input ?? "");
      if (!applied.ok) return { kind: "exited", exitCode: 1, stdout: "", stderr: applied.error.message };
      this.state.set(backend, applied.value);
      return { kind: "exited", exitCode: 0, stdout: "", stderr: "" };
    }
    return { kind: "notFound", command: binary, message: `${binary}: ENOENT` };
  }
}

describe("detectIptablesBackend", () => {
  it("picks the backend holding kube-proxy's rules, and nft on an empty node", async () => {
    const runner = new TwoBackendRunner();
    expect(await detectIptablesBackend(runner, ["aad-metadata", "aad-metadata-guard"], 1_000)).toMatchObject({ backend: "nft", reason: "tieDefaultsToNft" });
    runner.dumps.set("legacy", KUBE_NAT);
    expect(await detectIptablesBackend(runner, ["aad-metadata", "aad-metadata-guard"], 1_000)).toMatchObject({ backend: "legacy", reason: "moreRules", legacy: { rules: 2 }, nft: { rules: 0 } });
  });

  it("counts a missing backend's tools as empty and names them", async () => {
    const runner = new TwoBackendRunner();
    runner.missing.add("iptables-legacy-save").add("ip6tables-legacy-save");
    runner.dumps.set("nft", KUBE_NAT);
    expect(await detectIptablesBackend(runner, [], 1_000)).toMatchObject({ backend: "nft", unreadable: ["iptables-legacy-save", "ip6tables-legacy-save"] });
  });
});

describe("IptablesNetfilter backend", () => {
  it("auto: detects once before the first operation, logs it, and runs only that backend's tools", async () => {
    const runner = new TwoBackendRunner();
    runner.dumps.set("legacy", KUBE_NAT);
    const logger = new RecordingLogger();
    const netfilter = new IptablesNetfilter({ runner, backend: "auto", logger, routeLocalnet: false });
    expect(netfilter.backend).toBeUndefined();
    expect(await netfilter.guard(DEFAULT_INTERCEPTION_SPEC)).toEqual({ ok: true, value: undefined });
    expect(await netfilter.ensure(DEFAULT_INTERCEPTION_SPEC)).toEqual({ ok: true, value: { intact: true, drift: [] } });
    expect(netfilter.backend).toBe("legacy");
    expect(logger.lines.filter((l) => l.message.startsWith("iptables backend"))).toEqual([expect.objectContaining({ message: "iptables backend: legacy", fields: expect.objectContaining({ reason: "moreRules", legacyRules: 2, nftRules: 0 }) })]);
    // Detection ran the four save tools once; every later command is a legacy tool.
    const detection = runner.calls.filter((c) => /^ip6?tables-(nft|legacy)-save$/.test(c));
    expect(detection).toEqual(["iptables-nft-save", "ip6tables-nft-save", "iptables-legacy-save", "ip6tables-legacy-save"]);
    expect(runner.calls.slice(4).every((c) => c.startsWith("iptables-legacy-"))).toBe(true);
    expect(renderIptablesSave(runner.state.get("legacy")!)).toContain("-A aad-metadata ");
    expect(renderIptablesSave(runner.state.get("nft")!)).not.toContain("aad-metadata");
  });

  it("a fixed backend never detects; podid's own rules in the other backend do not sway auto", async () => {
    const fixed = new TwoBackendRunner();
    const netfilter = new IptablesNetfilter({ runner: fixed, backend: "legacy", routeLocalnet: false });
    expect(netfilter.backend).toBe("legacy");
    await netfilter.ensure(DEFAULT_INTERCEPTION_SPEC);
    expect(fixed.calls.every((c) => c.startsWith("iptables-legacy-"))).toBe(true);
    // Only podid's rules exist (in legacy): a tie, so a later auto start goes to nft.
    const auto = new IptablesNetfilter({ runner: fixed, backend: "auto", routeLocalnet: false });
    await auto.inspect(DEFAULT_INTERCEPTION_SPEC);
    expect(auto.backend).toBe("nft");
  });
});
