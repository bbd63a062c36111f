/**
 * End to end in real network namespaces, once per iptables backend (issue #14 item 2): a node whose
 * kube-proxy-like rules live in the nf_tables backend, and one whose rules live in the legacy backend
 * (Debian's iptables ships both tools). The real `podid-nmi` starts with its defaults — `--iptables-backend=auto`
 * and `HOST_IP` set to the node's bridge address, as the DaemonSet sets it from `status.hostIP` — on a node
 * whose `route_localnet` is 0 (no kube-proxy localhost setting, as on Cilium nodes). It must pick the backend
 * holding the node's rules, install its chains there only, DNAT to the node IP without touching
 * `route_localnet`, serve a bound pod, refuse a pod of another node (500) and anything that reaches the node
 * IP's port directly (TCP reset), keep the guard working when the nat chain is flushed, and still serve
 * `/host/token` callers on the node's 127.0.0.1. Needs root and iptables; skipped with the reason otherwise.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { serialisePod } from "@podid/core";
import { curlFrom, decodeFakeJwt, iptablesSupport, makePod } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2eNode, e2eIdentity, VAULT, type E2ePod } from "./e2e-node.js";
import { curlMetadata, tokenTarget } from "./pod-clients.js";

const support = await iptablesSupport();
if (!support.supported) console.warn(`skipping NMI iptables backend tests in network namespaces: ${support.reason}`);

const ALPHA = e2eIdentity("id-alpha", "team-a");
/** The backends whose tools this machine has (Debian's iptables ships both); a missing one is skipped with a warning. */
const BACKENDS = (["nft", "legacy"] as const).filter((backend) => {
  const present = spawnSync(`iptables-${backend}`, ["--version"], { stdio: "ignore", timeout: 5_000 }).status === 0;
  if (!present && support.supported) console.warn(`skipping the iptables-${backend} cases: iptables-${backend} is not installed`);
  return present;
});

describe.skipIf(!support.supported).each(BACKENDS)("NMI end to end on a node whose rules are in iptables-%s", (backend) => {
  const other = backend === "nft" ? "legacy" : "nft";
  let node: E2eNode;
  let app: E2ePod;
  let foreignPodNetns: E2ePod["netns"];

  const save = async (which: string): Promise<string> => (await node.topology.node.execOrThrow([`iptables-${which}-save`])).stdout;
  const imdsRequests = async (): Promise<number> => (await node.fakes.imds()).counts.requests;

  beforeAll(async () => {
    node = await E2eNode.create({ pods: 2, attached: [ALPHA], backend, seedKubeRules: true, nmiFlags: ["--host-token"] });
    const [p0, p1] = node.topology.pods;
    const binding = await node.addIdentityAndBinding(ALPHA, "alpha");
    app = await node.addPod(p0!, { name: "alpha-app", namespace: "team-a", selector: "alpha" });
    await node.assign(app.pod, ALPHA, binding);
    // A pod that runs on another node (its IP routes through this one here): never a caller of this NMI.
    foreignPodNetns = p1!;
    await node.upsert(serialisePod(makePod({ name: "elsewhere", namespace: "team-a", ip: p1!.ip, node: "aks-other-node", uid: randomUUID(), selector: "alpha" })));
    // No kube-proxy localhost setting: a DNAT to 127.0.0.1 would be dropped as martian here.
    await node.topology.node.writeSysctls({ "net/ipv4/conf/all/route_localnet": "0" });
    await node.startNmi();
  }, 60_000);

  afterAll(async () => {
    await node?.destroy();
  }, 30_000);

  it(`auto-detects iptables-${backend} (it holds the node's rules), logs it once, and installs only there`, async () => {
    const chosen = node.nmi.logged((l) => typeof l.msg === "string" && l.msg.startsWith("iptables backend"));
    // Twice at most: the start-up guard and the interception keeper each decide once, and agree.
    expect(chosen.length).toBeGreaterThanOrEqual(1);
    for (const line of chosen) expect(line).toMatchObject({ msg: `iptables backend: ${backend}`, backend, reason: "moreRules" });
    const rules = await save(backend);
    expect(rules).toContain(`-A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${node.topology.nodeAddress}:2579`);
    expect(rules).toContain(`-A aad-metadata-guard -d ${node.topology.nodeAddress}/32 ! -i lo -p tcp -m tcp --dport 2579 -m conntrack ! --ctstate DNAT -j REJECT --reject-with tcp-reset`);
    // podid's jump first, kube-proxy's rules kept.
    expect((await node.iptables("-t", "nat", "-S", "PREROUTING")).trim().split("\n").slice(1, 3)).toEqual([
      "-A PREROUTING -j aad-metadata",
      '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    ]);
    expect(await save(other)).not.toContain("aad-metadata");
    expect(await node.topology.node.readSysctl("net/ipv4/conf/all/route_localnet")).toBe("0");
  });

  it("a bound pod gets its token through the DNAT to the node IP", async () => {
    const curl = await curlMetadata(app.netns, tokenTarget(VAULT));
    expect(curl.status, curl.body).toBe(200);
    expect(decodeFakeJwt(curl.json?.["access_token"] as string)).toMatchObject({ aud: VAULT, appid: ALPHA.clientId, xms_mirid: ALPHA.armId });
  }, 20_000);

  it("a pod of another node is refused: 500 through the metadata path, TCP reset straight at the node IP's port", async () => {
    const before = await imdsRequests();
    const viaMetadata = await curlMetadata(foreignPodNetns, tokenTarget(VAULT));
    expect(viaMetadata.status, viaMetadata.body).toBe(500);
    expect(viaMetadata.json?.["access_token"]).toBeUndefined();
    // Direct: the port guard lets only DNATed traffic reach NMI from outside the node's loopback.
    for (const from of [foreignPodNetns, app.netns]) {
      const direct = await curlFrom(from, `http://${node.topology.nodeAddress}:2579${tokenTarget(VAULT)}`, { headers: { Metadata: "true" } });
      expect(direct.exitCode, direct.body).toBe(7);
    }
    expect(await imdsRequests()).toBe(before);
  }, 20_000);

  it("/host/token is still served to node agents on 127.0.0.1 (NMI listens there too)", async () => {
    const host = await curlFrom(node.topology.node, `http://127.0.0.1:2579/host/token/?resource=${encodeURIComponent(VAULT)}`, {
      headers: { podns: app.pod.metadata.namespace, podname: app.pod.metadata.name },
    });
    expect(host.exitCode, host.body).toBe(0);
    expect(JSON.parse(host.body)).toMatchObject({ clientid: ALPHA.clientId });
  }, 20_000);

  it(`the guard works in iptables-${backend}: with the nat chain flushed the pod is refused and IMDS sees nothing`, async () => {
    await node.iptables("-t", "nat", "-F", "aad-metadata");
    const before = await imdsRequests();
    const curl = await curlMetadata(app.netns, tokenTarget(VAULT));
    expect({ exit: curl.exitCode, status: curl.status }, curl.body + curl.stderr).toEqual({ exit: 7, status: undefined });
    expect(await imdsRequests()).toBe(before);
  }, 20_000);
});
