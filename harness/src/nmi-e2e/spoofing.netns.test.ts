/**
 * End to end in real network namespaces: a pod cannot obtain a neighbour's token by spoofing the
 * neighbour's source IP (docs/adr/0010-anti-spoofing.md). For BOTH pod topologies — bridged (veths on the
 * node's `br0`, as kubenet / the bridge plugin) and routed (one veth per pod with a /32 route, as Azure CNI
 * transparent mode / Calico) — an attacker pod attacks a bound victim pod:
 *   (a) holding CAP_NET_RAW but not CAP_NET_ADMIN (`setpriv --bounding-set=-net_admin`, checked in
 *       /proc/self/status): gratuitous ARP claiming the victim's IP (bridged) and a hand-built TCP
 *       handshake from the victim's IP through an AF_PACKET socket (`spoof-attack.py`), then a token GET;
 *   (b) with CAP_NET_ADMIN: the victim's IP added to its own eth0, gratuitous ARP, then plain curl bound
 *       to that address.
 * Each attack asks for its own resource, so its traces are unmistakable: the attacker gets no token, NMI
 * never even sees the request (no audit line), the fake IMDS records nothing for it, and the victim keeps
 * getting its own token. `PODID_E2E_ANTI_SPOOFING=off` runs NMI with `--anti-spoofing=false` (the
 * original's behaviour) to show the attacks succeeding. Needs root, iptables, nft and python3.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { decodeFakeJwt, iptablesSupport } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BARRIER_EXCEPTION, E2eNode, VAULT, e2eIdentity, type E2ePod } from "./e2e-node.js";
import { curlMetadata, tokenTarget } from "./pod-clients.js";

const ATTACK = fileURLToPath(new URL("../../src/nmi-e2e/spoof-attack.py", import.meta.url));
const PYTHON = "/usr/bin/python3";
const ANTI_SPOOFING_OFF = process.env["PODID_E2E_ANTI_SPOOFING"] === "off";

const support = await iptablesSupport();
const tools = ["nft", "setpriv", PYTHON].filter((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status !== 0);
const reason = !support.supported ? support.reason : tools.length > 0 ? `missing ${tools.join(", ")}` : undefined;
if (reason !== undefined) console.warn(`skipping NMI anti-spoofing tests in network namespaces: ${reason}`);

const VICTIM_ID = e2eIdentity("id-victim", "victims");

interface AttackResult {
  readonly caps: { readonly net_admin?: boolean; readonly net_raw?: boolean };
  readonly synAck: boolean;
  readonly status: number | null;
  readonly body: string;
  readonly error: string | null;
}

describe.skipIf(reason !== undefined).each(["bridged", "routed"] as const)("NMI end to end: spoofing a neighbour's IP (%s pods)", (topology) => {
  let node: E2eNode;
  let victim: E2ePod;
  let attacker: E2ePod;

  /** The victim asks for its own token until it gets one (bounded: the first ask may precede the node's neighbour entry). */
  async function victimToken(timeoutMs = 15_000): Promise<ReturnType<typeof decodeFakeJwt>> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (let i = 0; i < 100 && Date.now() < deadline; i += 1) {
      const outcome = await curlMetadata(victim.netns, tokenTarget(VAULT), { maxTimeSeconds: 3 });
      if (outcome.status === 200 && typeof outcome.json?.["access_token"] === "string") return decodeFakeJwt(outcome.json["access_token"] as string);
      last = `${String(outcome.status ?? outcome.exitCode)} ${outcome.body}`;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`the victim got no token within ${String(timeoutMs)} ms (last: ${last})`);
  }

  /** What NMI and the fake IMDS saw of requests for `resource` (the attack's marker). */
  async function tracesOf(resource: string): Promise<{ audit: number; imds: number }> {
    const audit = node.nmi.logs().filter((l) => l["audit"] === true && l["resource"] === resource).length;
    const imds = (await node.fakes.imds()).log.filter((e) => decodeURIComponent(e.url).includes(resource)).length;
    return { audit, imds };
  }

  function runAttack(args: readonly string[], withNetAdmin = false): Promise<AttackResult> {
    const prefix = withNetAdmin ? [] : ["setpriv", "--bounding-set=-net_admin", "--inh-caps=-all", "--"];
    return attacker.netns
      .exec([...prefix, PYTHON, ATTACK, "--own-ip", attacker.netns.ip, "--victim-ip", victim.netns.ip, "--gateway-ip", node.topology.nodeAddress, ...args], {
        timeoutMs: 20_000,
        env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
      })
      .then((r) => {
        const line = r.stdout.trim().split("\n").pop() ?? "";
        try {
          return JSON.parse(line) as AttackResult;
        } catch {
          throw new Error(`attack script printed no JSON (exit ${String(r.exitCode)}): ${r.stdout}${r.stderr}`);
        }
      });
  }

  beforeAll(async () => {
    node = await E2eNode.create({ pods: 3, attached: [VICTIM_ID], topology });
    const [p0, p1] = node.topology.pods;
    const binding = await node.addIdentityAndBinding(VICTIM_ID, "victim");
    victim = await node.addPod(p0!, { name: "victim", namespace: "victims", selector: "victim" });
    attacker = await node.addPod(p1!, { name: "attacker", namespace: "evil" });
    await node.assign(victim.pod, VICTIM_ID, binding);
    await node.addException(BARRIER_EXCEPTION.name, BARRIER_EXCEPTION.namespace, BARRIER_EXCEPTION.podLabels);
    await node.startNmi(ANTI_SPOOFING_OFF ? ["--anti-spoofing=false"] : ["--ipt-update-interval-sec=1"]);
  }, 60_000);

  afterAll(async () => {
    await node?.destroy();
  }, 30_000);

  it("the victim gets its own token", async () => {
    expect(await victimToken()).toMatchObject({ appid: VICTIM_ID.clientId, xms_mirid: VICTIM_ID.armId });
    if (!ANTI_SPOOFING_OFF) {
      const listing = (await node.topology.node.execOrThrow(["nft", "list", "table", topology === "bridged" ? "bridge" : "ip", "podid-antispoof"])).stdout;
      expect(listing).toContain(`"${victim.netns.nodeInterface}" . ${victim.netns.ip}`);
    }
  }, 30_000);

  it("(a) CAP_NET_RAW only: gratuitous ARP + raw-socket handshake from the victim's IP gets nothing; NMI and IMDS never see it", async () => {
    await victimToken();
    const resource = "https://attack-a.example";
    // The victim's view: a SYN-ACK for a connection it never opened shows the spoofed SYN got through to NMI.
    const sniffer = victim.netns.spawn([PYTHON, ATTACK, "--own-ip", victim.netns.ip, "--victim-ip", victim.netns.ip, "--gateway-ip", node.topology.nodeAddress, "--target", "/", "--sniff-seconds", "8"]);
    try {
      await sniffer.waitForLine((l) => l.includes("listening"), 5_000);
      const result = await runAttack(["--target", tokenTarget(resource), "--garp-seconds", topology === "bridged" ? "2" : "0.5", "--timeout", "3"]);
      expect(result.caps).toEqual({ net_admin: false, net_raw: true });
      expect(result.body, JSON.stringify(result)).not.toContain("access_token");
      expect(result.status).not.toBe(200);
      expect(await tracesOf(resource)).toEqual({ audit: 0, imds: 0 });
      const counted = await sniffer.waitForLine((l) => l.includes("synAcks"), 12_000);
      // Dropped before DNAT: NMI never answered the spoofed SYN, to the attacker or to the victim.
      expect(result.synAck).toBe(false);
      expect(JSON.parse(counted)).toEqual({ synAcks: 0 });
    } finally {
      await sniffer.stop("SIGKILL").catch(() => undefined);
    }
    expect(await victimToken(5_000)).toMatchObject({ appid: VICTIM_ID.clientId });
  }, 60_000);

  it("(b) CAP_NET_ADMIN: the victim's IP on the attacker's eth0 + gratuitous ARP, then curl from that IP, gets nothing", async () => {
    await victimToken();
    const resource = "https://attack-b.example";
    await attacker.netns.execOrThrow(["ip", "addr", "add", `${victim.netns.ip}/32`, "dev", "eth0"]);
    const sniffer = victim.netns.spawn([PYTHON, ATTACK, "--own-ip", victim.netns.ip, "--victim-ip", victim.netns.ip, "--gateway-ip", node.topology.nodeAddress, "--target", "/", "--sniff-seconds", "7"]);
    try {
      await sniffer.waitForLine((l) => l.includes("listening"), 5_000);
      const garp = await runAttack(["--target", "/", "--garp-seconds", "2", "--garp-only"], true);
      expect(garp.error).toBeNull();
      const curl = await attacker.netns.exec(
        ["curl", "-sS", "--max-time", "3", "--interface", victim.netns.ip, "-H", "Metadata: true", "-w", "\n%{http_code}", `http://169.254.169.254${tokenTarget(resource)}`],
        { timeoutMs: 10_000, env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin" } },
      );
      expect(curl.stdout, curl.stdout).not.toContain("access_token");
      expect(await tracesOf(resource)).toEqual({ audit: 0, imds: 0 });
      // Dropped before DNAT: no SYN-ACK for the attacker's connection reached the victim either.
      expect(JSON.parse(await sniffer.waitForLine((l) => l.includes("synAcks"), 12_000))).toEqual({ synAcks: 0 });
    } finally {
      await sniffer.stop("SIGKILL").catch(() => undefined);
      await attacker.netns.exec(["ip", "addr", "del", `${victim.netns.ip}/32`, "dev", "eth0"]);
    }
    expect(await victimToken(10_000)).toMatchObject({ appid: VICTIM_ID.clientId });
  }, 60_000);

  it.skipIf(ANTI_SPOOFING_OFF)("the rules follow pod deletion and drift: a deleted pod's binding goes, a flushed table is repaired", async () => {
    const family = topology === "bridged" ? "bridge" : "ip";
    const pairOf = (pod: E2ePod) => `"${pod.netns.nodeInterface}" . ${pod.netns.ip}`;
    await node.topology.node.execOrThrow(["nft", "flush", "table", family, "podid-antispoof"]);
    const deadline = Date.now() + 10_000;
    let listing = "";
    for (let i = 0; i < 100 && Date.now() < deadline; i += 1) {
      listing = (await node.topology.node.exec(["nft", "list", "table", family, "podid-antispoof"])).stdout;
      if (listing.includes(pairOf(victim))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(listing).toContain(pairOf(victim));
    await node.removePod(victim.pod);
    for (let i = 0; i < 100 && Date.now() < deadline + 10_000; i += 1) {
      listing = (await node.topology.node.exec(["nft", "list", "table", family, "podid-antispoof"])).stdout;
      if (!listing.includes(pairOf(victim))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(listing).not.toContain(pairOf(victim));
  }, 40_000);
});
