/**
 * The interception in real network namespaces: a "node" namespace holding a stand-in IMDS on
 * 169.254.169.254:80 and a stand-in NMI on 127.0.0.1:2579, pod namespaces routed through it, and the real
 * iptables tools driven by IptablesNetfilter inside the node namespace — once with the nf_tables backend
 * (`iptables-nft`) and once with the legacy one (`iptables-legacy`), both shipped by Debian's iptables.
 * Needs root and iptables; skipped with the reason otherwise. Nothing here touches the host's own
 * namespace or rules.
 */
import { spawnSync } from "node:child_process";
import { DEFAULT_INTERCEPTION_SPEC } from "@podid/core";
import {
  RecordingHttpServer,
  createNetnsTopology,
  curlFrom,
  httpRequestFrom,
  iptablesSupport,
  systemClock,
  type NetnsHandle,
  type NetnsHttpOutcome,
  type NetnsTopology,
} from "@podid/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DriftRepairLoop, type DriftRepairEvent } from "./drift-repair-loop.js";
import { IptablesNetfilter } from "./iptables-netfilter.js";

const support = await iptablesSupport();
if (!support.supported) console.warn(`skipping iptables interception tests in network namespaces: ${support.reason}`);

const spec = DEFAULT_INTERCEPTION_SPEC;
const METADATA = spec.metadataAddress;
/** The backends whose tools this machine has (Debian's iptables ships both); a missing one is skipped with a warning. */
const BACKENDS = (["nft", "legacy"] as const).filter((backend) => {
  const present = spawnSync(`iptables-${backend}`, ["--version"], { stdio: "ignore", timeout: 5_000 }).status === 0;
  if (!present && support.supported) console.warn(`skipping the iptables-${backend} cases: iptables-${backend} is not installed`);
  return present;
});

describe.skipIf(!support.supported).each(BACKENDS)("metadata interception in real network namespaces (iptables-%s)", (backend) => {
  const iptables = `iptables-${backend}`;
  let topology: NetnsTopology;
  let imds: RecordingHttpServer;
  let nmi: RecordingHttpServer | undefined;
  let netfilter: IptablesNetfilter;

  const startNmi = async (): Promise<void> => {
    if (nmi?.running === true) return;
    nmi = await RecordingHttpServer.start(topology.node, { host: spec.targetAddress, port: spec.targetPort, name: "nmi" });
  };
  const podIps = (): readonly string[] => topology.pods.map((p) => p.ip);
  /** Connections and requests from pod addresses that reached the IMDS stand-in. */
  const imdsPodEvents = () => imds.events().filter((e) => podIps().includes(e.remoteAddress));
  const tokenRequest = (from: NetnsHandle): Promise<NetnsHttpOutcome> =>
    httpRequestFrom(from, { host: METADATA, path: "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net", headers: { Metadata: "true" }, timeoutMs: 2_000 });
  const iptablesInNode = async (...args: string[]): Promise<string> => (await topology.node.execOrThrow([iptables, "-w", "5", ...args])).stdout;
  const answeredBy = (outcome: NetnsHttpOutcome): { server: string; remoteAddress: string } | undefined =>
    outcome.outcome === "response" ? (JSON.parse(outcome.body) as { server: string; remoteAddress: string }) : undefined;

  beforeAll(async () => {
    topology = await createNetnsTopology({ pods: 2 });
    imds = await RecordingHttpServer.start(topology.node, { host: METADATA, port: spec.metadataPort, name: "imds" });
    await startNmi();
    netfilter = IptablesNetfilter.forNetns(topology.node.name, { lockWaitSeconds: 5, backend });
  }, 30_000);

  afterAll(async () => {
    await nmi?.stop();
    await imds?.stop();
    await topology?.destroy();
  }, 30_000);

  beforeEach(async () => {
    await startNmi();
  });

  it("without interception a pod reaches the IMDS stand-in directly (the hazard the rules exist for)", async () => {
    const outcome = await tokenRequest(topology.pods[0]!);
    expect(answeredBy(outcome)).toEqual({ server: "imds", remoteAddress: topology.pods[0]!.ip, url: expect.any(String) });
  });

  it("ensure installs the original's chain atomically; every pod reaches NMI with its own source address", async () => {
    await topology.node.writeSysctls({ "net/ipv4/conf/all/route_localnet": "0" });
    expect(await netfilter.ensure(spec)).toEqual({ ok: true, value: { intact: true, drift: [] } });
    expect(await topology.node.readSysctl("net/ipv4/conf/all/route_localnet")).toBe("1");
    // docs/compatibility.md#iptables-rules: exactly the original's three lines, and the jump first in PREROUTING.
    expect((await iptablesInNode("-t", "nat", "-S", "aad-metadata")).trim().split("\n")).toEqual([
      "-N aad-metadata",
      "-A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:2579",
      "-A aad-metadata -j RETURN",
    ]);
    expect((await iptablesInNode("-t", "nat", "-S", "PREROUTING")).trim().split("\n")[1]).toBe("-A PREROUTING -j aad-metadata");
    expect((await iptablesInNode("-t", "filter", "-S", "FORWARD")).trim().split("\n")[1]).toBe("-A FORWARD -j aad-metadata-guard");
    expect((await iptablesInNode("-t", "filter", "-S", "INPUT")).trim().split("\n")[1]).toBe("-A INPUT -j aad-metadata-guard");
    // The rules live in this backend's tables only.
    const otherBackend = backend === "nft" ? "legacy" : "nft";
    expect((await topology.node.execOrThrow([`iptables-${otherBackend}-save`])).stdout).not.toContain("aad-metadata");

    const imdsBefore = imdsPodEvents().length;
    for (const pod of topology.pods) {
      expect(answeredBy(await tokenRequest(pod))).toMatchObject({ server: "nmi", remoteAddress: pod.ip });
    }
    const curl = await curlFrom(topology.pods[1]!, `http://${METADATA}/metadata/identity/oauth2/token?resource=x`, { headers: { Metadata: "true" } });
    expect(curl.exitCode).toBe(0);
    expect(JSON.parse(curl.body)).toMatchObject({ server: "nmi", remoteAddress: topology.pods[1]!.ip });
    const seen = await nmi!.waitForRequests(3);
    expect(seen.slice(-3).map((r) => r.remoteAddress)).toEqual([...podIps(), topology.pods[1]!.ip]);
    expect(imdsPodEvents().length).toBe(imdsBefore);
  });

  it("does not intercept the node's own calls to the metadata address (they go through OUTPUT)", async () => {
    expect((await netfilter.inspect(spec)).ok).toBe(true);
    const outcome = await tokenRequest(topology.node);
    expect(answeredBy(outcome)).toMatchObject({ server: "imds" });
  });

  it("with NMI killed (SIGKILL) pods get connection refused and the IMDS stand-in sees nothing", async () => {
    await netfilter.ensure(spec);
    await nmi!.stop("SIGKILL");
    const imdsBefore = imdsPodEvents().length;
    for (const pod of topology.pods) expect(await tokenRequest(pod)).toEqual({ outcome: "refused" });
    expect((await curlFrom(topology.pods[0]!, `http://${METADATA}/`)).exitCode).toBe(7);
    expect(imdsPodEvents().length).toBe(imdsBefore);
  });

  it("a flushed nat chain leaves pods blocked by the guard, and the drift loop repairs it within its interval", async () => {
    await netfilter.ensure(spec);
    await topology.node.execOrThrow([iptables, "-w", "5", "-t", "nat", "-F", "aad-metadata"]);
    const imdsBefore = imdsPodEvents().length;
    expect(await tokenRequest(topology.pods[0]!)).toEqual({ outcome: "refused" });
    expect(imdsPodEvents().length).toBe(imdsBefore);
    const inspected = await netfilter.inspect(spec);
    expect(inspected.ok && inspected.value.drift).toContain("nat chain aad-metadata is missing rule: -A aad-metadata -j RETURN");

    const repairs: DriftRepairEvent[] = [];
    const loop = new DriftRepairLoop({ netfilter, spec, clock: systemClock, intervalMs: 300, onRepair: (e) => repairs.push(e) });
    try {
      // start() ensures at once; then break the rules again while it runs and time the repair.
      expect((await loop.start()).ok).toBe(true);
      expect(answeredBy(await tokenRequest(topology.pods[0]!))).toMatchObject({ server: "nmi" });
      for (const breakage of [
        ["-t", "nat", "-F", "aad-metadata"],
        ["-t", "nat", "-I", "PREROUTING", "1", "-j", "ACCEPT"],
        ["-t", "filter", "-D", "FORWARD", "-j", "aad-metadata-guard"],
      ]) {
        const before = repairs.length;
        const brokenAt = Date.now();
        await topology.node.execOrThrow([iptables, "-w", "5", ...breakage]);
        await waitFor(() => repairs.length > before, 3_000);
        expect(Date.now() - brokenAt, breakage.join(" ")).toBeLessThan(300 + 1_500);
        expect(repairs.at(-1)?.state.intact).toBe(true);
      }
      expect(answeredBy(await tokenRequest(topology.pods[1]!))).toMatchObject({ server: "nmi", remoteAddress: topology.pods[1]!.ip });
      // The foreign ACCEPT stays, below podid's jump.
      expect((await iptablesInNode("-t", "nat", "-S", "PREROUTING")).trim().split("\n").slice(1)).toEqual(["-A PREROUTING -j aad-metadata", "-A PREROUTING -j ACCEPT"]);
    } finally {
      await loop.stop();
    }
    expect(imdsPodEvents().length).toBe(imdsBefore);
  });

  it("cuts a pod's keep-alive connection to IMDS opened before the rules were installed", async () => {
    expect(await netfilter.release(spec, "remove")).toEqual({ ok: true, value: undefined });
    const client = topology.pods[0]!.spawnNode(KEEP_ALIVE_CLIENT, [METADATA]);
    try {
      const first = JSON.parse(await client.waitForLine((l) => l.includes('"step":1'), 5_000)) as { outcome: string; server?: string; localPort: number };
      expect(first).toMatchObject({ outcome: "response", server: "imds" });
      expect(await netfilter.ensure(spec)).toEqual({ ok: true, value: { intact: true, drift: [] } });
      const imdsRequestsBefore = imds.requests().filter((r) => r.remotePort === first.localPort).length;
      process.kill(client.pid!, "SIGUSR2");
      const second = JSON.parse(await client.waitForLine((l) => l.includes('"step":2'), 6_000)) as { outcome: string; code?: string };
      expect(second.outcome).toBe("error");
      // The guard answers the established flow's next packet with a TCP reset.
      expect(second.code).toBe("ECONNRESET");
      expect(imds.requests().filter((r) => r.remotePort === first.localPort).length).toBe(imdsRequestsBefore);
    } finally {
      await client.stop("SIGKILL");
    }
  });

  it("release('failClosed') keeps pods away from IMDS while NMI is down", async () => {
    await netfilter.ensure(spec);
    await topology.node.execOrThrow([iptables, "-w", "5", "-t", "nat", "-F", "aad-metadata"]);
    expect(await netfilter.release(spec, "failClosed")).toEqual({ ok: true, value: undefined });
    await nmi!.stop("SIGTERM");
    expect(await netfilter.inspect(spec)).toEqual({ ok: true, value: { intact: true, drift: [] } });
    const imdsBefore = imdsPodEvents().length;
    for (const pod of topology.pods) expect(await tokenRequest(pod)).toEqual({ outcome: "refused" });
    expect(imdsPodEvents().length).toBe(imdsBefore);
    // NMI restarting finds the rules in place: no window in which pods reach IMDS.
    await startNmi();
    expect(answeredBy(await tokenRequest(topology.pods[0]!))).toMatchObject({ server: "nmi" });
  });

  it("a node IP target: no route_localnet needed, NMI's port answers only DNATed pod traffic and the node itself", async () => {
    const nodeIpSpec = { ...spec, targetAddress: topology.nodeAddress };
    const atNodeIp = await RecordingHttpServer.start(topology.node, { host: topology.nodeAddress, port: spec.targetPort, name: "nmi-node-ip" });
    try {
      await topology.node.writeSysctls({ "net/ipv4/conf/all/route_localnet": "0" });
      expect(await netfilter.ensure(nodeIpSpec)).toEqual({ ok: true, value: { intact: true, drift: [] } });
      expect(await topology.node.readSysctl("net/ipv4/conf/all/route_localnet")).toBe("0");
      const imdsBefore = imdsPodEvents().length;
      for (const pod of topology.pods) expect(answeredBy(await tokenRequest(pod))).toMatchObject({ server: "nmi-node-ip", remoteAddress: pod.ip });
      // Straight to the node IP and port, past the metadata path (and its anti-spoofing checks): reset.
      const direct = await httpRequestFrom(topology.pods[0]!, { host: topology.nodeAddress, port: spec.targetPort, path: "/metadata/identity/oauth2/token?resource=x", headers: { Metadata: "true" }, timeoutMs: 2_000 });
      expect(direct).toEqual({ outcome: "refused" });
      // The node's own processes (host agents on /host/token) arrive on lo and are served.
      expect(answeredBy(await httpRequestFrom(topology.node, { host: topology.nodeAddress, port: spec.targetPort, path: "/", timeoutMs: 2_000 }))).toMatchObject({ server: "nmi-node-ip" });
      expect(imdsPodEvents().length).toBe(imdsBefore);
    } finally {
      await atNodeIp.stop();
      await topology.node.writeSysctls({ "net/ipv4/conf/all/route_localnet": "1" });
      await netfilter.ensure(spec);
    }
  });

  it("release('remove') deletes everything and restores direct access (the original's fail-open shutdown)", async () => {
    await netfilter.ensure(spec);
    expect(await netfilter.release(spec, "remove")).toEqual({ ok: true, value: undefined });
    const state = await netfilter.inspect(spec);
    expect(state.ok && state.value.drift).toContain("nat chain aad-metadata does not exist");
    expect(await iptablesInNode("-t", "nat", "-S")).not.toContain("aad-metadata");
    expect(await iptablesInNode("-t", "filter", "-S")).not.toContain("aad-metadata");
    const outcome = await tokenRequest(topology.pods[1]!);
    expect(answeredBy(outcome)).toMatchObject({ server: "imds", remoteAddress: topology.pods[1]!.ip });
  });
});

/** A pod-side client: one request over a keep-alive connection, then (on SIGUSR2) a second on the same socket. */
const KEEP_ALIVE_CLIENT = `
const http = require("node:http");
const host = process.argv[1];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const get = () => new Promise((resolve) => {
  const req = http.get({ host, port: 80, path: "/keepalive", agent }, (res) => {
    const localPort = res.socket.localPort;
    let body = "";
    res.on("data", (c) => { body += c; });
    res.on("end", () => resolve({ outcome: "response", status: res.statusCode, server: JSON.parse(body).server, localPort }));
  });
  req.setTimeout(3000, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
  req.on("error", (e) => resolve({ outcome: "error", code: e.code }));
});
process.on("SIGUSR2", async () => { console.log(JSON.stringify({ step: 2, ...(await get()) })); });
get().then((r) => console.log(JSON.stringify({ step: 1, ...r })));
setInterval(() => {}, 1000);
`;

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${String(timeoutMs)} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
