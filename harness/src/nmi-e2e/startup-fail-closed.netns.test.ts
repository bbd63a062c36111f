/**
 * End to end in real network namespaces (issue #12 item 6): a NMI that cannot start never leaves pods able
 * to reach IMDS. The real `podid-nmi` is started on a node with no podid rules at all — the state of a fresh
 * node, or one whose previous NMI removed its rules — with a missing `--kubelet-config`, with a kubeconfig
 * pointing at an apiserver nobody listens on, and with invalid flags. Each time a pod must get connection
 * refused and the fake IMDS must see nothing. A positive control first shows that without rules the pod does
 * reach IMDS (and the node identity), so "IMDS saw nothing" is a check that can fail. With /proc/sys
 * read-only (a private mount namespace, as in a non-privileged container) and route_localnet 0, a NMI that
 * would DNAT to 127.0.0.1 exits 1 with one line naming the fix and leaves only the guard; with HOST_IP it
 * starts. Needs root and iptables; skipped with the reason otherwise.
 */
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { computeTargetId } from "@podid/core";
import { decodeFakeJwt, iptablesSupport } from "@podid/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { E2eNode, NMI_MAIN, NODE_NAME, SCALE_SET, VAULT, type E2ePod } from "./e2e-node.js";
import { curlMetadata, rawGet, rawRequestFrom, tokenTarget } from "./pod-clients.js";

const support = await iptablesSupport();
if (!support.supported) console.warn(`skipping NMI start-up fail-closed tests in network namespaces: ${support.reason}`);

const GUARD_RULE = "-A aad-metadata-guard -d 169.254.169.254/32 ! -i lo -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset";

describe.skipIf(!support.supported)("NMI end to end: fail-closed from the first instant of start-up", () => {
  let node: E2eNode;
  let pod: E2ePod;

  const imdsRequests = async (): Promise<number> => (await node.fakes.imds()).counts.requests;

  /** Removes every podid rule (as on a fresh node): jumps first, then the chains. Never throws. */
  const removeRules = async (): Promise<void> => {
    const ipt = (...args: string[]) => node.topology.node.exec([`iptables-${node.backend}`, "-w", "5", ...args]);
    for (let i = 0; i < 5; i++) {
      await ipt("-t", "filter", "-D", "INPUT", "-j", "aad-metadata-guard");
      await ipt("-t", "filter", "-D", "FORWARD", "-j", "aad-metadata-guard");
      await ipt("-t", "nat", "-D", "PREROUTING", "-j", "aad-metadata");
    }
    for (const [table, chain] of [["filter", "aad-metadata-guard"], ["nat", "aad-metadata"]] as const) {
      await ipt("-t", table, "-F", chain);
      await ipt("-t", table, "-X", chain);
    }
  };

  /** Runs podid-nmi with the node's flags replaced by `flags` (bounded); returns its exit. */
  const runNmiFor = async (flags: readonly string[], timeoutMs: number): Promise<{ exitCode: number | null; stderr: string; timedOut: boolean }> => {
    const result = await node.topology.node.exec([process.execPath, NMI_MAIN, ...flags], { timeoutMs, env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin" } });
    return { exitCode: result.exitCode, stderr: result.stderr, timedOut: result.timedOut === true };
  };

  /** The pod is refused at the TCP level and IMDS sees nothing. */
  const expectPodBlocked = async (what: string): Promise<void> => {
    const before = await imdsRequests();
    const curl = await curlMetadata(pod.netns, tokenTarget(VAULT));
    expect({ exit: curl.exitCode, status: curl.status }, `${what}: ${curl.body}${curl.stderr}`).toEqual({ exit: 7, status: undefined });
    expect(await rawRequestFrom(pod.netns, rawGet(tokenTarget(VAULT))), what).toEqual({ outcome: "refused" });
    expect(await imdsRequests(), what).toBe(before);
    expect(await node.iptables("-t", "filter", "-S", "aad-metadata-guard"), what).toContain(GUARD_RULE);
  };

  const baseFlags = (): string[] => node.nmiFlags.filter((f) => !f.startsWith("--kubelet-config=") && !f.startsWith("--kubeconfig="));
  const flag = (name: string): string => node.nmiFlags.find((f) => f.startsWith(`${name}=`)) ?? "";

  beforeAll(async () => {
    node = await E2eNode.create({ pods: 1, attached: [] });
    const [p0] = node.topology.pods;
    pod = await node.addPod(p0!, { name: "app", namespace: "team-a" });
  }, 60_000);

  beforeEach(removeRules, 20_000);

  afterAll(async () => {
    await node?.destroy();
  }, 30_000);

  it("positive control: with no rules a pod reaches IMDS and gets the node identity", async () => {
    const before = await imdsRequests();
    const direct = await curlMetadata(pod.netns, tokenTarget(VAULT));
    expect(direct.status, direct.body).toBe(200);
    expect(decodeFakeJwt(direct.json?.["access_token"] as string)).toMatchObject({ xms_mirid: computeTargetId(SCALE_SET) });
    expect(await imdsRequests()).toBe(before + 1);
  }, 20_000);

  it("a missing --kubelet-config: NMI exits 1 and pods stay blocked", async () => {
    const run = await runNmiFor([...baseFlags(), flag("--kubeconfig"), `--kubelet-config=${join(tmpdir(), "podid-no-such-kubelet-config")}`], 20_000);
    expect(run.exitCode, run.stderr).toBe(1);
    await expectPodBlocked("missing kubelet config");
  }, 40_000);

  it("an unreachable apiserver: while NMI waits for its caches (and after it is stopped) pods are blocked", async () => {
    const dir = join(tmpdir(), `podid-unreachable-${String(process.pid)}`);
    const kubeconfig = `${dir}.kubeconfig`;
    await writeFile(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9', insecure-skip-tls-verify: true}}]",
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
        "",
      ].join("\n"),
    );
    const nmi = node.topology.node.spawn([process.execPath, NMI_MAIN, ...baseFlags(), flag("--kubelet-config"), `--kubeconfig=${kubeconfig}`], { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin" });
    try {
      await nmi.waitForLine((l) => l.includes("installed the metadata guard"), 15_000);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(nmi.exit).toBeUndefined();
      await expectPodBlocked("apiserver unreachable, NMI waiting");
      // start() never settles without an apiserver, so the SIGTERM ends it through the shutdown deadline.
      const exit = await nmi.stop("SIGTERM", 15_000);
      expect(exit.signal, nmi.stderr()).toBeNull();
      await expectPodBlocked("after NMI stopped without ever being healthy");
    } finally {
      await nmi.stop("SIGKILL").catch(() => undefined);
    }
  }, 60_000);

  describe("a node whose /proc/sys is read-only (a non-privileged container) and route_localnet is 0", () => {
    const PATH = process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin";
    /** `argv` in a private mount namespace where /proc/sys is remounted read-only (writes fail with EROFS). */
    const readOnlyProcSys = (argv: readonly string[]): string[] => [
      "unshare", "--mount", "sh", "-c", 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$0" "$@"', ...argv,
    ];

    beforeEach(async () => {
      await node.topology.node.writeSysctls({ "net/ipv4/conf/all/route_localnet": "0" });
    });
    afterAll(async () => {
      await node.topology.node.writeSysctls({ "net/ipv4/conf/all/route_localnet": "1" });
    });

    it("DNAT to 127.0.0.1 (no HOST_IP): exit 1 with exactly one stderr line naming the fix, pods stay blocked", async () => {
      const result = await node.topology.node.exec(readOnlyProcSys([process.execPath, NMI_MAIN, ...node.nmiFlags]), { timeoutMs: 30_000, env: { PATH } });
      expect(result.exitCode, result.stderr).toBe(1);
      const lines = result.stderr.trim().split("\n");
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^podid-nmi: start-up failed: cannot install the metadata interception: DNAT to 127\.0\.0\.1 needs net\.ipv4\.conf\.all\.route_localnet=1, which is 0 and cannot be set here \(.*(EROFS|read-only file system).*\): /);
      expect(lines[0]).toContain("set net.ipv4.conf.all.route_localnet=1 on the node, or let NMI DNAT to the node IP (env HOST_IP from status.hostIP)");
      expect(await node.topology.node.readSysctl("net/ipv4/conf/all/route_localnet")).toBe("0");
      // Only the guard went in (no DNAT to a loopback address the kernel would drop): pods are refused at once.
      expect(await node.topology.node.exec([`iptables-${node.backend}`, "-w", "5", "-t", "nat", "-S", "aad-metadata"])).toMatchObject({ exitCode: 1 });
      await expectPodBlocked("read-only /proc/sys with a loopback target");
    }, 60_000);

    it("positive control: with HOST_IP (the DaemonSet's setting) the same node starts and serves pods", async () => {
      const nmi = node.topology.node.spawn(readOnlyProcSys([process.execPath, NMI_MAIN, ...node.nmiFlags]), { PATH, ...node.nmiEnv });
      try {
        await nmi.waitForLine((l) => l.includes("metadata interception installed"), 20_000);
        const curl = await curlMetadata(pod.netns, tokenTarget(VAULT));
        // The pod reaches NMI (which has no identity for it: 404), never IMDS and never a refusal.
        expect(curl.status, curl.body + curl.stderr).toBe(404);
        expect(await node.topology.node.readSysctl("net/ipv4/conf/all/route_localnet")).toBe("0");
      } finally {
        await nmi.stop("SIGKILL").catch(() => undefined);
      }
    }, 60_000);
  });

  it("invalid flags: NMI exits 2 with the guard installed for the default metadata address and port", async () => {
    const run = await runNmiFor([`--node=${NODE_NAME}`, "--nmi-port=not-a-port"], 20_000);
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toContain("--nmi-port");
    await expectPodBlocked("invalid flags");
  }, 40_000);
});
