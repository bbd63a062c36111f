import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingHttpServer, curlFrom, httpRequestFrom } from "./netns-http.js";
import { deleteNetns, listNetns, netnsOwnerPid, newNetnsRunId, sweepStaleNetns } from "./netns-names.js";
import { netnsSupport } from "./netns-support.js";
import { createNetnsTopology, type NetnsTopology } from "./netns-topology.js";
import { runCommand } from "./run-command.js";

const support = await netnsSupport();
if (!support.supported) console.warn(`skipping network-namespace harness tests: ${support.reason}`);

describe.skipIf(!support.supported)("netns topology harness (real namespaces)", () => {
  let topology: NetnsTopology;
  let server: RecordingHttpServer;

  beforeAll(async () => {
    topology = await createNetnsTopology({ pods: 2 });
    server = await RecordingHttpServer.start(topology.node, { host: "0.0.0.0", port: 8080, name: "node-server" });
  }, 20_000);

  afterAll(async () => {
    await server?.stop();
    await topology?.destroy();
  }, 20_000);

  it("creates uniquely named namespaces with short interface names and nothing in the host namespace", async () => {
    const names = await listNetns();
    expect(names).toContain(topology.node.name);
    for (const pod of topology.pods) expect(names).toContain(pod.name);
    expect(netnsOwnerPid(topology.node.name)).toBe(process.pid);
    const nodeLinks = (await topology.node.execOrThrow(["ip", "-o", "link"])).stdout;
    for (const ifname of ["br0", "vp0", "vp1"]) expect(nodeLinks).toContain(` ${ifname}`);
    const hostLinks = (await runCommand(["ip", "-o", "link"])).stdout;
    expect(hostLinks).not.toMatch(/ vp[0-9]+@/);
    const podAddr = (await topology.pods[1]!.execOrThrow(["ip", "-o", "-4", "addr", "show", "dev", "eth0"])).stdout;
    expect(podAddr).toContain(`${topology.pods[1]!.ip}/24`);
  });

  it("gives the node the metadata address on lo, forwarding and route_localnet", async () => {
    const lo = (await topology.node.execOrThrow(["ip", "-o", "-4", "addr", "show", "dev", "lo"])).stdout;
    expect(lo).toContain("169.254.169.254/32");
    expect(await topology.node.readSysctl("net/ipv4/ip_forward")).toBe("1");
    expect(await topology.node.readSysctl("net/ipv4/conf/all/route_localnet")).toBe("1");
  });

  it("routes each pod to the node with the pod's own source address (Node client and curl)", async () => {
    for (const pod of topology.pods) {
      const outcome = await httpRequestFrom(pod, { host: topology.nodeAddress, port: 8080, path: `/from/${String(pod.index)}` });
      expect(outcome).toMatchObject({ outcome: "response", status: 200 });
      if (outcome.outcome === "response") expect(JSON.parse(outcome.body)).toMatchObject({ server: "node-server", remoteAddress: pod.ip });
    }
    const curl = await curlFrom(topology.pods[0]!, `http://${topology.nodeAddress}:8080/curl`);
    expect(curl).toMatchObject({ exitCode: 0, status: 200 });
    const requests = await server.waitForRequests(3);
    expect(requests.map((r) => [r.remoteAddress, r.url])).toEqual([
      [topology.pods[0]!.ip, "/from/0"],
      [topology.pods[1]!.ip, "/from/1"],
      [topology.pods[0]!.ip, "/curl"],
    ]);
  });

  it("classifies refused connections and keeps traffic inside (no route beyond the node)", async () => {
    expect(await httpRequestFrom(topology.pods[0]!, { host: topology.nodeAddress, port: 8081 })).toEqual({ outcome: "refused" });
    const outside = await httpRequestFrom(topology.pods[0]!, { host: "192.0.2.1", port: 80, timeoutMs: 2_000 });
    expect(["unreachable", "refused"]).toContain(outside.outcome);
    expect((await curlFrom(topology.pods[0]!, `http://${topology.nodeAddress}:8081/`)).exitCode).toBe(7);
  });
});

describe.skipIf(!support.supported)("netns cleanup", () => {
  it("destroys namespaces and the processes in them", async () => {
    const t = await createNetnsTopology({ pods: 1 });
    const names = [t.node.name, ...t.pods.map((p) => p.name)];
    let pid: number | undefined;
    try {
      const proc = t.node.spawnNode("setInterval(() => {}, 1000); console.log('up')");
      await proc.waitForLine((l) => l === "up");
      pid = proc.pid;
    } finally {
      await t.destroy();
    }
    const after = await listNetns();
    for (const name of names) expect(after).not.toContain(name);
    expect(pid).toBeDefined();
    expect(() => process.kill(pid!, 0)).toThrow();
  }, 20_000);

  it("sweeps namespaces left by a dead process and keeps live ones", async () => {
    const dead = `podid-999999-${newNetnsRunId().split("-")[2]!}-node`;
    const alive = `${newNetnsRunId()}-node`;
    expect((await runCommand(["ip", "netns", "add", dead])).exitCode).toBe(0);
    expect((await runCommand(["ip", "netns", "add", alive])).exitCode).toBe(0);
    try {
      const swept = await sweepStaleNetns();
      expect(swept).toContain(dead);
      const after = await listNetns();
      expect(after).not.toContain(dead);
      expect(after).toContain(alive);
    } finally {
      await deleteNetns(dead);
      await deleteNetns(alive);
    }
  });
});
