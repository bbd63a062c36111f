import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EMPTY_RULESET, applyRestoreScript, err, inspectInterception, ok, renderIptablesSave, type IptablesRuleset, type Result } from "@podid/core";
import { IptablesNetfilter, type CommandOutcome, type CommandRunner, type SysctlAccess } from "@podid/adapter-iptables";
import { FakeCluster, FakeTokenSource, TEST_NODE, VirtualClock } from "@podid/testkit";
import { silentPino, type DaemonProcessIo } from "@podid/daemon-shell";
import type { NmiAdapters } from "./compose-nmi.js";
import { defineNmiConfig, interceptionSpecFrom } from "./config/nmi-config.js";
import { runNmi } from "./run-nmi.js";
import { RecordingForwarder } from "./test-support/nmi-harness.js";

/**
 * The DNAT target decides whether NMI needs `route_localnet` (docs/adr/0014-dnat-target-and-iptables-backend.md),
 * tested at the sysctl port: the real adapter over core's iptables-restore model with a `/proc/sys` that
 * refuses writes, as in a non-privileged container. (The real read-only `/proc/sys` check is in
 * harness/src/nmi-e2e/startup-fail-closed.netns.test.ts.)
 */

const dir = mkdtempSync(join(tmpdir(), "podid-route-localnet-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const kubelet = join(dir, "kubelet");
writeFileSync(kubelet, "--network-plugin=cni");

/** iptables-save / iptables-restore on core's model of the kernel's tables. */
class ModelRunner implements CommandRunner {
  state: IptablesRuleset = EMPTY_RULESET;
  async run(argv: readonly [string, ...string[]], options: { readonly input?: string; readonly timeoutMs: number }): Promise<CommandOutcome> {
    const [binary, ...args] = argv;
    if (binary === "iptables-save") {
      const table = args[args.indexOf("-t") + 1] ?? "filter";
      return { kind: "exited", exitCode: 0, stdout: renderIptablesSave({ tables: new Map([[table, this.state.tables.get(table) ?? { name: table, chains: new Map() }]]) }), stderr: "" };
    }
    if (binary === "iptables-restore") {
      const applied = applyRestoreScript(this.state, options.input ?? "");
      if (!applied.ok) return { kind: "exited", exitCode: 1, stdout: "", stderr: applied.error.message };
      this.state = applied.value;
      return { kind: "exited", exitCode: 0, stdout: "", stderr: "" };
    }
    return { kind: "notFound", command: binary, message: `${binary}: ENOENT` };
  }
}

/** route_localnet is 0 and /proc/sys is read-only. */
class ReadOnlySysctl implements SysctlAccess {
  writes = 0;
  async read(): Promise<Result<string, string>> {
    return ok("0");
  }
  async write(key: string): Promise<Result<void, string>> {
    this.writes += 1;
    return err(`cannot write ${key}: EROFS: read-only file system, open '/proc/sys/${key}'`);
  }
}

function setup() {
  const runner = new ModelRunner();
  const sysctl = new ReadOnlySysctl();
  const clock = new VirtualClock();
  const cluster = new FakeCluster({ clock });
  const adapters: NmiAdapters = {
    kubeReader: () => cluster,
    tokenSource: () => new FakeTokenSource({ clock }),
    netfilter: () => new IptablesNetfilter({ runner, sysctl }),
    forwarder: () => new RecordingForwarder(),
  };
  const stderr: string[] = [];
  const handlers = new Map<string, () => void>();
  const io: DaemonProcessIo = {
    stdout: () => undefined,
    stderr: (t) => stderr.push(t),
    onSignal: (s, h) => {
      handlers.set(s, h);
      return () => handlers.delete(s);
    },
    onUnhandledRejection: () => () => undefined,
  };
  return { runner, sysctl, adapters, io, stderr, handlers };
}

const FLAGS = [`--node=${TEST_NODE}`, `--kubelet-config=${kubelet}`, "--nmi-port=0", "--http-probe-port=0", "--prometheus-port=0", "--probe-listen-address=127.0.0.1"];

describe("NMI on a node where route_localnet is 0 and cannot be set", () => {
  it("a 127.0.0.1 target (no HOST_IP): exit 1, exactly one stderr line naming both fixes, only the guard installed", async () => {
    const s = setup();
    expect(await runNmi(FLAGS, {}, s.adapters, { io: s.io, pino: silentPino() })).toBe(1);
    const text = s.stderr.join("");
    expect(text.endsWith("\n")).toBe(true);
    expect(text.trimEnd().split("\n")).toEqual([
      "podid-nmi: start-up failed: cannot install the metadata interception: DNAT to 127.0.0.1 needs net.ipv4.conf.all.route_localnet=1, which is 0 and cannot be set here " +
        "(cannot write net/ipv4/conf/all/route_localnet: EROFS: read-only file system, open '/proc/sys/net/ipv4/conf/all/route_localnet'): " +
        "set net.ipv4.conf.all.route_localnet=1 on the node, or let NMI DNAT to the node IP (env HOST_IP from status.hostIP)",
    ]);
    // Fail-closed: the guard refuses pods, and no DNAT to an address the kernel would drop as martian.
    const spec = interceptionSpecFrom(defineNmiConfig({ nodeName: TEST_NODE }));
    const drift = inspectInterception(spec, s.runner.state).drift;
    expect(drift.filter((d) => d.startsWith("nat"))).toEqual(["nat chain aad-metadata does not exist", "nat PREROUTING does not jump to aad-metadata"]);
    // (The guard's port rule names the ephemeral port NMI bound; its metadata rule is the one pods hit.)
    expect(drift.filter((d) => d.includes("--dport 80 "))).toEqual([]);
    expect(renderIptablesSave(s.runner.state)).toContain("-A aad-metadata-guard -d 169.254.169.254/32 ! -i lo -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset");
    expect(s.sysctl.writes).toBeGreaterThan(0);
  });
});
