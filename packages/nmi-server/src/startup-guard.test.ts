import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_INTERCEPTION_SPEC } from "@podid/core";
import { FakeCluster, FakeNetfilter, FakeTokenSource, TEST_NODE, VirtualClock } from "@podid/testkit";
import { silentPino, type DaemonProcessIo } from "@podid/daemon-shell";
import type { NmiAdapters } from "./compose-nmi.js";
import { defineNmiConfig, interceptionSpecFrom } from "./config/nmi-config.js";
import { runNmi } from "./run-nmi.js";
import { RecordingForwarder } from "./test-support/nmi-harness.js";

/**
 * Issue #12 item 6: NMI installs its metadata guard before anything that can fail, so a NMI that cannot
 * start leaves pods blocked (FakeNetfilter's verdict), never "direct".
 */

const dir = mkdtempSync(join(tmpdir(), "podid-startup-guard-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(): DaemonProcessIo & { err: string[]; handlers: Map<string, () => void> } {
  const err: string[] = [];
  const handlers = new Map<string, () => void>();
  return {
    err,
    handlers,
    stdout: () => undefined,
    stderr: (t) => err.push(t),
    onSignal: (s, h) => {
      handlers.set(s, h);
      return () => handlers.delete(s);
    },
    onUnhandledRejection: () => () => undefined,
  };
}

function adapters(netfilter: FakeNetfilter, kubeReader?: NmiAdapters["kubeReader"]): NmiAdapters {
  const clock = new VirtualClock();
  const cluster = new FakeCluster({ clock });
  return {
    kubeReader: kubeReader ?? (() => cluster),
    tokenSource: () => new FakeTokenSource({ clock }),
    netfilter: () => netfilter,
    clock,
    forwarder: () => new RecordingForwarder(),
  };
}

const FLAGS = [`--node=${TEST_NODE}`, "--nmi-port=0", "--http-probe-port=0", "--prometheus-port=0", "--probe-listen-address=127.0.0.1"];
const SPEC = interceptionSpecFrom(defineNmiConfig({ nodeName: TEST_NODE }));

describe("runNmi: the metadata guard goes in before anything that can fail", () => {
  it("a missing --kubelet-config exits 1 and leaves pods blocked (signal handlers already installed when the guard goes in)", async () => {
    const netfilter = new FakeNetfilter();
    const p = io();
    const handlersAtGuard: boolean[] = [];
    netfilter.injectFault((op) => {
      if (op === "guard") handlersAtGuard.push(p.handlers.has("SIGTERM") && p.handlers.has("SIGINT"));
      return undefined;
    });
    expect(netfilter.verdict(SPEC)).toBe("direct");
    expect(await runNmi([...FLAGS, `--kubelet-config=${join(dir, "missing")}`], {}, adapters(netfilter), { io: p, pino: silentPino() })).toBe(1);
    expect(p.err.join("")).toMatch(/kubelet/i);
    expect(netfilter.verdict(SPEC)).toBe("blocked");
    expect(handlersAtGuard).toEqual([true]);
  });

  it("an adapter failing at composition (e.g. an unreadable kubeconfig) exits 1 and leaves pods blocked", async () => {
    const cni = join(dir, "kubelet-cni");
    writeFileSync(cni, "--network-plugin=cni");
    const netfilter = new FakeNetfilter();
    const broken: NmiAdapters["kubeReader"] = () => {
      throw new Error("cannot read kubeconfig");
    };
    expect(await runNmi([...FLAGS, `--kubelet-config=${cni}`], {}, adapters(netfilter, broken), { io: io(), pino: silentPino() })).toBe(1);
    expect(netfilter.verdict(SPEC)).toBe("blocked");
  });

  it("invalid flags exit 2 with the guard installed for the default metadata address and port; --help and --version install nothing", async () => {
    const netfilter = new FakeNetfilter();
    expect(await runNmi(["--node=n", "--nmi-port=abc"], {}, adapters(netfilter), { io: io(), pino: silentPino() })).toBe(2);
    expect(netfilter.verdict(DEFAULT_INTERCEPTION_SPEC)).toBe("blocked");
    const quiet = new FakeNetfilter();
    expect(await runNmi(["--help"], {}, adapters(quiet), { io: io(), pino: silentPino() })).toBe(0);
    expect(await runNmi(["--version"], {}, adapters(quiet), { io: io(), pino: silentPino() })).toBe(0);
    expect(quiet.counts().guards).toBe(0);
  });

  it("--interception-release=remove does not open the node when start-up fails before NMI was ever healthy", async () => {
    const cni = join(dir, "kubelet-cni-remove");
    writeFileSync(cni, "--network-plugin=cni");
    const netfilter = new FakeNetfilter();
    netfilter.failNext(1, { kind: "commandFailed", exitCode: 4, stderr: "iptables: Resource temporarily unavailable" }, ["ensure"]);
    expect(await runNmi([...FLAGS, `--kubelet-config=${cni}`, "--interception-release=remove"], {}, adapters(netfilter), { io: io(), pino: silentPino() })).toBe(1);
    expect(netfilter.verdict(SPEC)).toBe("blocked");
  });
});
