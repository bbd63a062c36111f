/**
 * End to end in real network namespaces: which identity a pod gets. A node namespace runs the real
 * `podid-nmi` (production adapters: informers on the fake kube-apiserver, IMDS token source, fail-closed
 * iptables) next to the fake kube-apiserver (127.0.0.1 of the node namespace) and the fake IMDS
 * (169.254.169.254:80 on the node's `lo`); pod namespaces reach the node over veth and call
 * 169.254.169.254 like any workload — curl, and `@azure/identity`'s `ManagedIdentityCredential` with no
 * special environment. The cluster holds what MIC would have written: pods with their IPs, identities,
 * bindings and `Assigned` AzureAssignedIdentities, an AzurePodIdentityException. Needs root and iptables;
 * skipped with the reason otherwise.
 */
import { decodeFakeJwt, iptablesSupport } from "@podid/testkit";
import { computeTargetId } from "@podid/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BARRIER_EXCEPTION, E2eNode, SCALE_SET, VAULT, e2eIdentity, type E2ePod } from "./e2e-node.js";
import type { NmiLogLine } from "./nmi-process.js";
import { curlMetadata, sdkTokenFrom, tokenTarget, type CurlOutcome } from "./pod-clients.js";

const support = await iptablesSupport();
if (!support.supported) console.warn(`skipping NMI end-to-end tests in network namespaces: ${support.reason}`);

const ALPHA = e2eIdentity("id-alpha", "team-a");
const BETA = e2eIdentity("id-beta", "team-b");
const AGENT_LABELS = { app: "node-agent" };

/** NMI's audit lines (one per decided request). */
const isAudit = (line: NmiLogLine): boolean => line["audit"] === true;

/** Token claims of a 200 answer (throws with the answer otherwise). */
function claimsOf(outcome: CurlOutcome) {
  expect(outcome.status, outcome.body).toBe(200);
  const token = outcome.json?.["access_token"];
  expect(typeof token).toBe("string");
  return decodeFakeJwt(token as string);
}

describe.skipIf(!support.supported)("NMI end to end: a pod gets its own identity and nothing else", () => {
  let node: E2eNode;
  let alpha: E2ePod;
  let beta: E2ePod;
  let loner: E2ePod;
  let agent: E2ePod;
  let impostor: E2ePod;
  let systemPrincipalId: string;

  beforeAll(async () => {
    node = await E2eNode.create({ pods: 7, attached: [ALPHA, BETA] });
    const [p0, p1, p2, p3, p4] = node.topology.pods;
    const alphaBinding = await node.addIdentityAndBinding(ALPHA, "alpha");
    const betaBinding = await node.addIdentityAndBinding(BETA, "beta");
    alpha = await node.addPod(p0!, { name: "alpha-app", namespace: "team-a", selector: "alpha" });
    beta = await node.addPod(p1!, { name: "beta-app", namespace: "team-b", selector: "beta" });
    loner = await node.addPod(p2!, { name: "loner", namespace: "team-a" });
    agent = await node.addPod(p3!, { name: "node-agent", namespace: "kube-system", labels: AGENT_LABELS });
    // The same label in another namespace: an exception only covers pods of its own namespace.
    impostor = await node.addPod(p4!, { name: "impostor", namespace: "team-a", labels: AGENT_LABELS });
    await node.assign(alpha.pod, ALPHA, alphaBinding);
    await node.assign(beta.pod, BETA, betaBinding);
    await node.addException("node-agents", "kube-system", AGENT_LABELS);
    await node.addException(BARRIER_EXCEPTION.name, BARRIER_EXCEPTION.namespace, BARRIER_EXCEPTION.podLabels);
    await node.startNmi();
    systemPrincipalId = node.fakes.ready.systemPrincipalId ?? "";
    expect(systemPrincipalId).not.toBe("");
  }, 60_000);

  afterAll(async () => {
    await node?.destroy();
  }, 30_000);

  it("a bound pod gets a token naming its identity — curl and ManagedIdentityCredential", async () => {
    const curl = await curlMetadata(alpha.netns, tokenTarget(VAULT));
    const claims = claimsOf(curl);
    expect(claims).toMatchObject({ aud: VAULT, appid: ALPHA.clientId, xms_mirid: ALPHA.armId });
    // IMDS's all-string shape, with the fields SDKs read.
    expect(curl.json).toMatchObject({ client_id: ALPHA.clientId, resource: VAULT, token_type: "Bearer", expires_on: expect.stringMatching(/^\d+$/), expires_in: expect.stringMatching(/^\d+$/) });

    const sdk = await sdkTokenFrom(alpha.netns, `${VAULT}/.default`);
    expect(sdk.ok, JSON.stringify(sdk)).toBe(true);
    if (sdk.ok) expect(decodeFakeJwt(sdk.token)).toMatchObject({ appid: ALPHA.clientId, xms_mirid: ALPHA.armId });

    const sdkBeta = await sdkTokenFrom(beta.netns, "https://management.azure.com/.default", { clientId: BETA.clientId });
    expect(sdkBeta.ok, JSON.stringify(sdkBeta)).toBe(true);
    if (sdkBeta.ok) expect(decodeFakeJwt(sdkBeta.token)).toMatchObject({ aud: "https://management.azure.com", appid: BETA.clientId, xms_mirid: BETA.armId });

    // NMI asked IMDS (from the node) by the identity's client_id; the pods never talked to IMDS themselves.
    const imds = await node.fakes.imds();
    const tokenCalls = imds.log.filter((e) => e.url.startsWith("/metadata/identity/oauth2/token"));
    expect(tokenCalls.length).toBeGreaterThan(0);
    for (const call of tokenCalls) expect(call.url).toMatch(/[?&]client_id=/);
  }, 40_000);

  it("a pod asking for another pod's identity is refused with an IMDS-shaped 404", async () => {
    const betaTokensBefore = (await node.fakes.imds()).log.filter((e) => e.clientId === BETA.clientId).length;
    for (const selector of [{ client_id: BETA.clientId }, { client_id: BETA.clientId.toUpperCase() }, { msi_res_id: BETA.armId }]) {
      const refused = await curlMetadata(alpha.netns, tokenTarget(VAULT, selector));
      expect(refused.status, refused.body).toBe(404);
      expect(refused.json).toEqual({ error: "not_found", error_description: expect.stringContaining("no azure identity found for pod team-a/alpha-app") });
      expect(refused.body).not.toContain("access_token");
    }
    // The SDK treats IMDS 404s as "IMDS is updating" and keeps retrying with back-off: it never gets a token.
    const auditBefore = node.nmi.logged(isAudit).length;
    const sdk = await sdkTokenFrom(alpha.netns, `${VAULT}/.default`, { clientId: BETA.clientId, timeoutMs: 2_000 });
    expect(sdk.ok).toBe(false);
    const sdkDecisions = node.nmi.logged(isAudit).slice(auditBefore).filter((l) => l["route"] === "token");
    expect(sdkDecisions.length).toBeGreaterThanOrEqual(1);
    for (const decision of sdkDecisions) expect(decision).toMatchObject({ podName: "alpha-app", decision: "notFound", status: 404 });
    // Nothing was minted for beta on alpha's behalf.
    expect((await node.fakes.imds()).log.filter((e) => e.clientId === BETA.clientId).length).toBe(betaTokensBefore);
  }, 40_000);

  it("an unbound pod gets no token: 404 at once (no binding selects it), also when it names a bound identity", async () => {
    const before = (await node.fakes.imds()).counts.issued;
    const plain = await curlMetadata(loner.netns, tokenTarget(VAULT));
    expect(plain.status, plain.body).toBe(404);
    expect(plain.json).toEqual({ error: "not_found", error_description: expect.stringContaining("no AzureIdentityBinding/AzureIdentity found for pod team-a/loner") });
    // No binding selects it, so there is no MIC assignment to wait for (issue #12; the original waited 16 × 5 s).
    expect(plain.ms).toBeLessThan(900);
    const naming = await curlMetadata(loner.netns, tokenTarget(VAULT, { client_id: ALPHA.clientId }));
    expect(naming.status, naming.body).toBe(404);
    const impostorAnswer = await curlMetadata(impostor.netns, tokenTarget(VAULT));
    expect(impostorAnswer.status, impostorAnswer.body).toBe(404);
    expect((await node.fakes.imds()).counts.issued).toBe(before);
  }, 30_000);

  it("an exception pod gets the node's own (system-assigned) identity", async () => {
    const sdk = await sdkTokenFrom(agent.netns, `${VAULT}/.default`);
    expect(sdk.ok, JSON.stringify(sdk)).toBe(true);
    if (sdk.ok) expect(decodeFakeJwt(sdk.token)).toMatchObject({ oid: systemPrincipalId, xms_mirid: computeTargetId(SCALE_SET) });
    const curl = await curlMetadata(agent.netns, tokenTarget(VAULT));
    expect(claimsOf(curl)).toMatchObject({ aud: VAULT, oid: systemPrincipalId, xms_mirid: computeTargetId(SCALE_SET) });
    expect(claimsOf(curl).appid).not.toBe(ALPHA.clientId);
  }, 30_000);

  it("a pod replaced by a new pod with the same IP never receives the old pod's identity", async () => {
    const [, , , , , reused, sentinel] = node.topology.pods;
    const alphaBinding = await node.addIdentityAndBinding(ALPHA, "alpha");
    const old = await node.addPod(reused!, { name: "old-app", namespace: "team-a", selector: "alpha" });
    await node.assign(old.pod, ALPHA, alphaBinding);
    await node.podCacheBarrier(sentinel!);
    expect(claimsOf(await curlMetadata(reused!, tokenTarget(VAULT)))).toMatchObject({ appid: ALPHA.clientId });

    // The stale-cache moment: the old pod is still listed while a new pod (new UID, unbound) holds its IP.
    const replacement = await node.addPod(reused!, { name: "new-app", namespace: "team-a" });
    await node.podCacheBarrier(sentinel!);
    for (let i = 0; i < 3; i++) {
      const ambiguous = await curlMetadata(reused!, tokenTarget(VAULT));
      expect(ambiguous.status, ambiguous.body).toBe(500);
      expect(ambiguous.json).toEqual({ error: "server_error", error_description: expect.stringContaining("more than one pod on this node has IP") });
    }

    // The old pod is gone (its AzureAssignedIdentity is still there: MIC has not caught up).
    await node.removePod(old.pod);
    await node.podCacheBarrier(sentinel!);
    const after = await curlMetadata(reused!, tokenTarget(VAULT));
    expect(after.status, after.body).toBe(404);
    expect(after.json?.["error_description"]).toContain("team-a/new-app");
    expect((await curlMetadata(reused!, tokenTarget(VAULT, { client_id: ALPHA.clientId }))).status).toBe(404);

    // A StatefulSet-style replacement: same name, same IP, new UID, but no longer labelled for the binding.
    await node.removePod(replacement.pod);
    const sameName = await node.addPod(reused!, { name: "old-app", namespace: "team-a", labels: { app: "relabelled" } });
    await node.podCacheBarrier(sentinel!);
    const sameNameAnswer = await curlMetadata(reused!, tokenTarget(VAULT));
    expect(sameNameAnswer.status, sameNameAnswer.body).toBe(404);
    expect(sameNameAnswer.body).not.toContain("access_token");

    // NMI's audit trail: the new pods' requests were decided for their own UIDs and none was issued a token.
    const newUids = [replacement.pod.metadata.uid, sameName.pod.metadata.uid];
    // Audit lines are written in batches: wait (bounded) for the three answers above to reach stdout.
    const decisions = await node.nmi.waitForLog((l) => isAudit(l) && newUids.includes(l["podUid"] as string), 3, 5_000);
    expect(decisions.filter((d) => d["decision"] === "issued")).toEqual([]);
    expect(decisions.filter((d) => d["podUid"] === old.pod.metadata.uid)).toEqual([]);
  }, 50_000);
});
