/**
 * End to end in real network namespaces: NMI never fails open. The real `podid-nmi` runs in a node
 * namespace with its fail-closed iptables interception (nat `aad-metadata` DNAT + filter guard) and
 * `--ipt-update-interval-sec=1`; the fake IMDS listens on 169.254.169.254:80 there. With NMI killed
 * (SIGKILL), stopped (SIGTERM) or its nat chain flushed by hand, pods must get connection refused — not
 * the IMDS, whose request log must not move — and tokens must flow again once NMI is back or the rules
 * are repaired. A last test runs the original's fail-open `--interception-release=remove` as a positive
 * control: there a pod does reach IMDS and gets the node's identity, so "IMDS saw nothing" is a check
 * that can fail. Needs root and iptables; skipped with the reason otherwise.
 */
import { computeTargetId } from "@podid/core";
import { decodeFakeJwt, iptablesSupport } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2eNode, SCALE_SET, VAULT, e2eIdentity, type E2ePod } from "./e2e-node.js";
import { loggedAt, type NmiLogLine } from "./nmi-process.js";
import { MetadataProber, curlMetadata, rawGet, rawRequestFrom, sdkTokenFrom, tokenTarget, type ProbeRecord } from "./pod-clients.js";

const support = await iptablesSupport();
if (!support.supported) console.warn(`skipping NMI end-to-end tests in network namespaces: ${support.reason}`);

const ALPHA = e2eIdentity("id-alpha", "team-a");
const BETA = e2eIdentity("id-beta", "team-b");
/** Bound to the loner but never assigned: its requests wait for MIC (a pod no binding selects gets 404 at once). */
const GAMMA = e2eIdentity("id-gamma", "team-a");
const INTERVAL_MS = 1_000;
/** The DNAT NMI installs: to the node IP it listens on (`HOST_IP`, which E2eNode sets as the DaemonSet does). */
const dnatRule = (nodeIp: string): string => `-A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination ${nodeIp}:2579`;
const GUARD_RULE = "-A aad-metadata-guard -d 169.254.169.254/32 ! -i lo -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset";
const isRepair = (l: NmiLogLine): boolean => l.msg === "metadata interception drifted; repairing";

/** Waits (bounded) until the prober has recorded `count` requests. */
async function waitForProbes(prober: MetadataProber, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (prober.records().length < count) {
    if (Date.now() > deadline) throw new Error(`the prober recorded ${String(prober.records().length)} of ${String(count)} requests within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Lets the prober see the restarted NMI a few times, then stops it. */
async function settleProber(prober: MetadataProber): Promise<readonly ProbeRecord[]> {
  await waitForProbes(prober, prober.records().length + 3);
  return prober.stop();
}

/** Fail-closed outcomes a pod may see while NMI goes down and comes back. */
const ACCEPTABLE_PROBES = new Set([
  "200:own",
  "error:ECONNREFUSED",
  // A connection NMI accepted just before it closed its sockets.
  "error:ECONNRESET",
  // A request that arrived while NMI was draining (NMI's own IMDS-shaped 503, no token).
  "503:undefined",
]);

/**
 * What a pod saw across the whole outage: its own identity's token, or a refused connection — never an
 * answer from IMDS itself (which would carry the scale set's identity), never a timeout.
 */
function expectOnlyOwnTokensOrRefusals(probes: readonly ProbeRecord[], clientId: string): void {
  const summary = probes.map((p) => (p.outcome === "response" ? `${String(p.status)}:${p.appid === clientId ? "own" : String(p.appid)}` : `${p.outcome}:${p.code ?? ""}`));
  const unexpected = summary.filter((s) => !ACCEPTABLE_PROBES.has(s));
  expect(unexpected, summary.join(" ")).toEqual([]);
  expect(summary.filter((s) => s === "error:ECONNREFUSED").length, summary.join(" ")).toBeGreaterThan(0);
  expect(summary.at(-1)).toBe("200:own");
  expect(probes.some((p) => p.xms_mirid === computeTargetId(SCALE_SET))).toBe(false);
  console.info(`prober: ${String(summary.filter((s) => s === "200:own").length)} own tokens, ${String(summary.filter((s) => s !== "200:own").length)} refused connections`);
}

/** IMDS's log shows only NMI's own calls: token requests by client_id (pods call without one). */
function expectOnlyNmiCalledImds(log: readonly { readonly url: string }[]): void {
  for (const entry of log) expect(entry.url).toMatch(/^\/metadata\/identity\/oauth2\/token\?.*client_id=/);
}

describe.skipIf(!support.supported)("NMI end to end: fail-closed through kills, stops and rule drift", () => {
  let node: E2eNode;
  let alpha: E2ePod;
  let beta: E2ePod;
  let loner: E2ePod;
  let pods: readonly E2ePod[];

  /** Requests the fake IMDS has seen so far. */
  const imdsRequests = async (): Promise<number> => (await node.fakes.imds()).counts.requests;

  /** True when the nat DNAT, its PREROUTING jump and the filter guard are all in place. */
  const rulesIntact = async (): Promise<boolean> => {
    // Listing a missing chain fails: that is "not intact", not an error.
    const list = async (...args: string[]): Promise<string> => (await node.topology.node.exec([`iptables-${node.backend}`, "-w", "5", ...args])).stdout;
    const [chain, prerouting, guard] = await Promise.all([list("-t", "nat", "-S", "aad-metadata"), list("-t", "nat", "-S", "PREROUTING"), list("-t", "filter", "-S", "aad-metadata-guard")]);
    return chain.includes(dnatRule(node.topology.nodeAddress)) && prerouting.split("\n")[1] === "-A PREROUTING -j aad-metadata" && guard.includes(GUARD_RULE);
  };

  const waitForIntactRules = async (timeoutMs: number): Promise<number> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await rulesIntact()) return Date.now();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`the interception rules were not intact within ${String(timeoutMs)} ms`);
  };

  /** Every way a pod can try IMDS is refused at the TCP level (curl exit 7, ECONNREFUSED). */
  const expectBlocked = async (pod: E2ePod): Promise<void> => {
    const token = await curlMetadata(pod.netns, tokenTarget(VAULT));
    expect({ exit: token.exitCode, status: token.status }, `${pod.pod.metadata.name}: ${token.body}${token.stderr}`).toEqual({ exit: 7, status: undefined });
    const instance = await curlMetadata(pod.netns, "/metadata/instance?api-version=2021-02-01");
    expect(instance.exitCode, instance.body).toBe(7);
    expect(await rawRequestFrom(pod.netns, rawGet(tokenTarget(VAULT)))).toEqual({ outcome: "refused" });
  };

  /** Alpha gets alpha's token with curl, beta gets beta's with ManagedIdentityCredential. */
  const expectTokensFlow = async (): Promise<void> => {
    const curl = await curlMetadata(alpha.netns, tokenTarget(VAULT));
    expect(curl.status, curl.body).toBe(200);
    expect(decodeFakeJwt(curl.json?.["access_token"] as string)).toMatchObject({ appid: ALPHA.clientId, xms_mirid: ALPHA.armId });
    const sdk = await sdkTokenFrom(beta.netns, `${VAULT}/.default`);
    expect(sdk.ok, JSON.stringify(sdk)).toBe(true);
    if (sdk.ok) expect(decodeFakeJwt(sdk.token)).toMatchObject({ appid: BETA.clientId, xms_mirid: BETA.armId });
  };

  beforeAll(async () => {
    node = await E2eNode.create({
      pods: 3,
      attached: [ALPHA, BETA],
      // Drift is checked every second; an unassigned pod waits 5 s (so a SIGTERM arrives during the wait).
      nmiFlags: [`--ipt-update-interval-sec=${String(INTERVAL_MS / 1000)}`, "--retry-attempts-for-created=5"],
    });
    const [p0, p1, p2] = node.topology.pods;
    const alphaBinding = await node.addIdentityAndBinding(ALPHA, "alpha");
    const betaBinding = await node.addIdentityAndBinding(BETA, "beta");
    alpha = await node.addPod(p0!, { name: "alpha-app", namespace: "team-a", selector: "alpha" });
    beta = await node.addPod(p1!, { name: "beta-app", namespace: "team-b", selector: "beta" });
    await node.addIdentityAndBinding(GAMMA, "gamma");
    loner = await node.addPod(p2!, { name: "loner", namespace: "team-a", selector: "gamma" });
    pods = [alpha, beta, loner];
    await node.assign(alpha.pod, ALPHA, alphaBinding);
    await node.assign(beta.pod, BETA, betaBinding);
    await node.startNmi();
  }, 60_000);

  afterAll(async () => {
    await node?.destroy();
  }, 30_000);

  it("tokens flow while NMI runs, with the rules installed", async () => {
    expect(await rulesIntact()).toBe(true);
    await expectTokensFlow();
  }, 20_000);

  it("SIGKILL: the rules stay, pods get connection refused and never reach IMDS; a restarted NMI serves again", async () => {
    const logBefore = (await node.fakes.imds()).log.length;
    const prober = MetadataProber.start(alpha.netns, tokenTarget(VAULT));
    await waitForProbes(prober, 3);
    expect(await node.nmi.stop("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
    const before = await imdsRequests();
    expect(await rulesIntact()).toBe(true);
    for (const pod of pods) await expectBlocked(pod);
    // An unmodified SDK finds no IMDS at all.
    const sdk = await sdkTokenFrom(alpha.netns, `${VAULT}/.default`, { timeoutMs: 5_000 });
    expect(sdk.ok).toBe(false);
    expect(await imdsRequests()).toBe(before);

    await node.startNmi();
    await expectTokensFlow();
    const probes = await settleProber(prober);
    expectOnlyOwnTokensOrRefusals(probes, ALPHA.clientId);
    expectOnlyNmiCalledImds((await node.fakes.imds()).log.slice(logBefore));
  }, 40_000);

  it("SIGTERM: waiting requests get 503, NMI exits 0 leaving the rules fail-closed, pods never reach IMDS; restart serves again", async () => {
    const nmi = node.nmi;
    const logBefore = (await node.fakes.imds()).log.length;
    const prober = MetadataProber.start(beta.netns, tokenTarget(VAULT));
    await waitForProbes(prober, 3);
    // A bound pod without an AzureAssignedIdentity is waiting for MIC (up to 5 s) when the SIGTERM arrives.
    const waiting = curlMetadata(loner.netns, tokenTarget(VAULT), { maxTimeSeconds: 10 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const signalledAt = Date.now();
    const exit = nmi.stop("SIGTERM");
    const answer = await waiting;
    expect(answer.status, answer.body).toBe(503);
    expect(answer.json).toMatchObject({ error: "service_unavailable" });
    expect(Date.now() - signalledAt).toBeLessThan(3_000);
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(nmi.logged((l) => l.msg === "interception released fail-closed: pod traffic to the metadata address stays blocked")).toHaveLength(1);
    expect(nmi.logged((l) => l.msg === "handled termination")).toHaveLength(1);

    const before = await imdsRequests();
    expect(await rulesIntact()).toBe(true);
    for (const pod of pods) await expectBlocked(pod);
    expect(await imdsRequests()).toBe(before);

    await node.startNmi();
    await expectTokensFlow();
    const probes = await settleProber(prober);
    expectOnlyOwnTokensOrRefusals(probes, BETA.clientId);
    expectOnlyNmiCalledImds((await node.fakes.imds()).log.slice(logBefore));
  }, 40_000);

  it("a nat chain flushed (or its jump deleted) by hand blocks pods until NMI repairs it within the interval", async () => {
    const timings: Record<string, number> = {};
    for (const breakage of [
      ["-t", "nat", "-F", "aad-metadata"],
      ["-t", "nat", "-D", "PREROUTING", "-j", "aad-metadata"],
    ]) {
      const what = breakage.join(" ");
      // Break once and wait for the repair: the next check is then a whole interval away, so the probes
      // below certainly run while the rules are broken.
      const repairsBefore = node.nmi.logged(isRepair).length;
      await node.iptables(...breakage);
      await node.nmi.waitForLog(isRepair, repairsBefore + 1, INTERVAL_MS + 3_000);
      await waitForIntactRules(2_000);

      const before = await imdsRequests();
      const brokenAt = Date.now();
      await node.iptables(...breakage);
      const [probe, raw] = await Promise.all([curlMetadata(alpha.netns, tokenTarget(VAULT)), rawRequestFrom(beta.netns, rawGet(tokenTarget(VAULT)))]);
      const probedAt = Date.now();
      const [repair] = (await node.nmi.waitForLog(isRepair, repairsBefore + 2, INTERVAL_MS + 3_000)).slice(-1);
      const intactAt = await waitForIntactRules(2_000);
      // The probes ran before the repair (otherwise they prove nothing) and were refused by the guard.
      expect(probedAt, what).toBeLessThan(loggedAt(repair));
      expect({ exit: probe.exitCode, status: probe.status }, `${what}: ${probe.body}`).toEqual({ exit: 7, status: undefined });
      expect(raw, what).toEqual({ outcome: "refused" });
      timings[what] = intactAt - brokenAt;
      expect(intactAt - brokenAt, what).toBeLessThan(INTERVAL_MS + 1_000);
      expect(await imdsRequests(), what).toBe(before);
      await expectTokensFlow();
    }
    console.info(`drift repaired (break → rules intact): ${JSON.stringify(timings)} ms`);
  }, 40_000);

  it("positive control — with --interception-release=remove (the original's fail-open cleanup) a stopped NMI lets pods reach IMDS and the node identity", async () => {
    await node.nmi.stop("SIGTERM");
    await node.startNmi(["--interception-release=remove"]);
    expect(await node.nmi.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(await rulesIntact()).toBe(false);
    const before = await imdsRequests();
    const direct = await curlMetadata(loner.netns, tokenTarget(VAULT));
    expect(direct.status, direct.body).toBe(200);
    // IMDS answered the pod itself — with the scale set's own identity: the hazard fail-closed prevents.
    expect(decodeFakeJwt(direct.json?.["access_token"] as string)).toMatchObject({ xms_mirid: computeTargetId(SCALE_SET) });
    expect(await imdsRequests()).toBe(before + 1);
  }, 40_000);
});
