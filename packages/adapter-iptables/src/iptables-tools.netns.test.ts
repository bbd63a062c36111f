/**
 * IptablesNetfilter against the real iptables tools in a throw-away network namespace: the kernel does
 * what core's restore model predicts, both readers and both backends (nf_tables, legacy) work, the real
 * xtables lock is honoured, and the optional conntrack flush and route_localnet handling behave. Needs
 * root and iptables; skipped with the reason otherwise.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEFAULT_INTERCEPTION_SPEC,
  applyRestoreScript,
  inspectInterception,
  planInterceptionRepair,
  type IptablesRuleset,
} from "@podid/core";
import { createNetnsTopology, iptablesSupport, runCommand, type NetnsTopology } from "@podid/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConntrackFlushOutcome } from "./conntrack.js";
import { IptablesNetfilter } from "./iptables-netfilter.js";

const support = await iptablesSupport();
if (!support.supported) console.warn(`skipping iptables tool tests in network namespaces: ${support.reason}`);
const legacy = support.supported && (await runCommand(["iptables-legacy-restore", "--version"])).exitCode === 0 && (await runCommand(["flock", "--version"])).exitCode === 0;

const spec = DEFAULT_INTERCEPTION_SPEC;

/** Chains as comparable data: table/chain → policy and rule texts (built-ins the model never created count as empty). */
function view(rs: IptablesRuleset): Record<string, string> {
  const out: Record<string, string> = {};
  for (const table of rs.tables.values()) {
    for (const chain of table.chains.values()) {
      if (chain.policy !== undefined && chain.rules.length === 0 && chain.policy === "ACCEPT") continue;
      out[`${table.name}/${chain.name}`] = `${chain.policy ?? "-"}: ${chain.rules.map((r) => r.args.join(" ")).join(" | ")}`;
    }
  }
  return out;
}

/** Lines another agent (or an operator) might run in the node's tables, some of them hitting podid's chains. */
const foreignLine = fc.constantFrom(
  "*nat\n-N KUBE-SERVICES\n-I PREROUTING 1 -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\nCOMMIT",
  "*nat\n-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -m tcp --dport 443 -j DNAT --to-destination 10.1.0.4:6443\nCOMMIT",
  "*nat\n-I PREROUTING 1 -j ACCEPT\nCOMMIT",
  "*nat\n-F aad-metadata\nCOMMIT",
  "*nat\n-A PREROUTING -j aad-metadata\nCOMMIT",
  "*nat\n-A aad-metadata -j ACCEPT\nCOMMIT",
  "*nat\n-D PREROUTING -j aad-metadata\nCOMMIT",
  "*filter\n-A FORWARD -i cni0 -j ACCEPT\nCOMMIT",
  "*filter\n-I INPUT 1 -s 10.244.0.0/16 -j ACCEPT\nCOMMIT",
  "*filter\n-F aad-metadata-guard\nCOMMIT",
  "*filter\n-D FORWARD -j aad-metadata-guard\nCOMMIT",
  "*filter\n-I aad-metadata-guard 1 -j RETURN\nCOMMIT",
);

describe.skipIf(!support.supported)("IptablesNetfilter with the real iptables tools", () => {
  let topology: NetnsTopology;
  let scratch: string;

  beforeAll(async () => {
    topology = await createNetnsTopology({ pods: 0, metadataAddress: false });
    scratch = await mkdtemp(join(tmpdir(), "podid-ipt-"));
  }, 20_000);

  afterAll(async () => {
    await topology?.destroy();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }, 20_000);

  it("the kernel ends up exactly where core's iptables-restore model says, from any state", async () => {
    const netfilter = IptablesNetfilter.forNetns(topology.node.name, { lockWaitSeconds: 5, routeLocalnet: false });
    await fc.assert(
      fc.asyncProperty(fc.array(foreignLine, { maxLength: 5 }), fc.boolean(), async (lines, installFirst) => {
        if (installFirst) expect((await netfilter.ensure(spec)).ok).toBe(true);
        for (const line of lines) {
          const before = await netfilter.readRuleset();
          if (!before.ok) throw new Error("read failed");
          const predicted = applyRestoreScript(before.value, `${line}\n`);
          const real = await topology.node.exec(["iptables-restore", "--noflush", "-w", "5"], { input: `${line}\n` });
          expect(real.exitCode === 0, `${line}: ${real.stderr}`).toBe(predicted.ok);
          const after = await netfilter.readRuleset();
          if (!after.ok) throw new Error("read failed");
          expect(view(after.value), line).toEqual(view(predicted.ok ? predicted.value : before.value));
        }
        const current = await netfilter.readRuleset();
        if (!current.ok) throw new Error("read failed");
        const predicted = applyRestoreScript(current.value, planInterceptionRepair(spec, current.value).script);
        expect(predicted.ok).toBe(true);
        expect(await netfilter.ensure(spec)).toEqual({ ok: true, value: { intact: true, drift: [] } });
        const repaired = await netfilter.readRuleset();
        if (!repaired.ok || !predicted.ok) throw new Error("read failed");
        expect(view(repaired.value)).toEqual(view(predicted.value));
        // Clean slate for the next run: drop podid's rules and everything else.
        expect(await netfilter.release(spec, "remove")).toEqual({ ok: true, value: undefined });
        for (const table of ["nat", "filter"]) {
          await topology.node.execOrThrow(["iptables", "-w", "5", "-t", table, "-F"]);
          await topology.node.execOrThrow(["iptables", "-w", "5", "-t", table, "-X"]);
        }
      }),
      { numRuns: 8 },
    );
  }, 30_000);

  it("reads the same state with `iptables -w -S` as with iptables-save", async () => {
    const save = IptablesNetfilter.forNetns(topology.node.name, { routeLocalnet: false });
    const list = IptablesNetfilter.forNetns(topology.node.name, { routeLocalnet: false, reader: "iptables-S" });
    expect((await save.ensure(spec)).ok).toBe(true);
    await topology.node.execOrThrow(["iptables", "-t", "nat", "-I", "PREROUTING", "1", "-m", "comment", "--comment", "kubernetes service portals", "-j", "ACCEPT"]);
    const a = await save.readRuleset();
    const b = await list.readRuleset();
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) expect(view(b.value)).toEqual(view(a.value));
    expect(await list.inspect(spec)).toEqual(await save.inspect(spec));
    expect(await list.ensure(spec)).toEqual({ ok: true, value: { intact: true, drift: [] } });
    expect(await list.release(spec, "remove")).toEqual({ ok: true, value: undefined });
  });

  it("sets route_localnet=1 in the namespace when the DNAT target is loopback", async () => {
    await topology.node.writeSysctls({ "net/ipv4/conf/all/route_localnet": "0" });
    const netfilter = IptablesNetfilter.forNetns(topology.node.name);
    expect((await netfilter.ensure({ ...spec, targetAddress: "10.9.9.9" })).ok).toBe(true);
    expect(await topology.node.readSysctl("net/ipv4/conf/all/route_localnet")).toBe("0");
    expect((await netfilter.ensure(spec)).ok).toBe(true);
    expect(await topology.node.readSysctl("net/ipv4/conf/all/route_localnet")).toBe("1");
    expect(await netfilter.release(spec, "remove")).toEqual({ ok: true, value: undefined });
  });

  it("reports a missing conntrack tool and passes the documented arguments to one that exists", async () => {
    const missing: ConntrackFlushOutcome[] = [];
    const absent = IptablesNetfilter.forNetns(topology.node.name, {
      routeLocalnet: false,
      flushConntrack: true,
      binaries: { conntrack: join(scratch, "no-such-conntrack") },
      onConntrackFlush: (o) => missing.push(o),
    });
    expect(await absent.ensure(spec)).toEqual({ ok: true, value: { intact: true, drift: [] } });
    expect(missing.map((o) => o.kind)).toEqual(["unavailable"]);
    expect(await absent.release(spec, "remove")).toEqual({ ok: true, value: undefined });

    const argsFile = join(scratch, "conntrack-args");
    const fake = join(scratch, "conntrack");
    await writeFile(fake, `#!/bin/sh\necho "$@" > '${argsFile}'\necho "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted." >&2\n`);
    await chmod(fake, 0o755);
    const flushed: ConntrackFlushOutcome[] = [];
    const present = IptablesNetfilter.forNetns(topology.node.name, { routeLocalnet: false, flushConntrack: true, binaries: { conntrack: fake }, onConntrackFlush: (o) => flushed.push(o) });
    expect((await present.ensure(spec)).ok).toBe(true);
    expect(flushed).toEqual([{ kind: "flushed", deleted: 2 }]);
    expect((await readFile(argsFile, "utf8")).trim()).toBe("-D -p tcp --orig-dst 169.254.169.254 --orig-port-dst 80");
    // Intact rules: no change, so no flush.
    expect((await present.ensure(spec)).ok).toBe(true);
    expect(flushed).toHaveLength(1);
    expect(await present.release(spec, "remove")).toEqual({ ok: true, value: undefined });
  });

  it.skipIf(!legacy)("works on the legacy backend and honours the real xtables lock (-w), reporting lockTimeout", async () => {
    const lockFile = join(scratch, "xtables.lock");
    const env = { XTABLES_LOCKFILE: lockFile };
    const binaries = { iptables: "iptables-legacy", iptablesSave: "iptables-legacy-save", iptablesRestore: "iptables-legacy-restore" };
    const netfilter = IptablesNetfilter.forNetns(topology.node.name, { env, binaries, lockWaitSeconds: 1, routeLocalnet: false, reader: "iptables-S" });
    expect(await netfilter.ensure(spec)).toEqual({ ok: true, value: { intact: true, drift: [] } });
    const saved = await topology.node.execOrThrow(["iptables-legacy-save", "-t", "nat"]);
    expect(saved.stdout).toContain("-A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:2579");

    await topology.node.execOrThrow(["iptables-legacy", "-w", "1", "-t", "nat", "-F", "aad-metadata"], { env: { ...process.env, ...env } });
    // -o: flock itself (not the command it runs) holds the lock, so killing flock releases it.
    const holder = topology.node.spawn(["flock", "-o", lockFile, "sh", "-c", "echo locked; exec sleep 4"]);
    try {
      await holder.waitForLine((l) => l === "locked", 5_000);
      const startedAt = Date.now();
      const blocked = await netfilter.ensure(spec);
      expect(blocked.ok ? "ok" : blocked.error.kind).toBe("lockTimeout");
      expect(Date.now() - startedAt).toBeLessThan(4_000);
    } finally {
      await holder.stop("SIGKILL");
    }
    const state = await netfilter.ensure(spec);
    expect(state).toEqual({ ok: true, value: { intact: true, drift: [] } });
    const parsed = await netfilter.readRuleset();
    expect(parsed.ok && inspectInterception(spec, parsed.value).intact).toBe(true);
    expect(await netfilter.release(spec, "remove")).toEqual({ ok: true, value: undefined });
    expect((await topology.node.execOrThrow(["iptables-legacy-save"])).stdout).not.toContain("aad-metadata");
  }, 20_000);
});
