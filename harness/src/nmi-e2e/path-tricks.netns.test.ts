/**
 * End to end in real network namespaces: request-target tricks of the CVE-2022-23551 class. In the
 * original, `/metadata/identity\oauth2\token` slipped past NMI's router, was proxied to IMDS and came back
 * with a token of the NODE's identity. Here a bound pod (the worst case: it can reach NMI and has
 * identities) sends backslashes, encoded and raw dot segments, `//`, encoded delimiters, case variants,
 * prefix look-alikes and malformed targets — with `curl --path-as-is` and, for what curl will not send,
 * raw TCP — through the node's real iptables to the real `podid-nmi`. Every one must be refused with 400
 * and none may reach the fake IMDS (its request log is compared before and after). Controls show the
 * canonical path is served and other paths are still proxied, so "IMDS saw nothing" is meaningful.
 * Needs root and iptables; skipped with the reason otherwise.
 */
import { decodeFakeJwt, iptablesSupport } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2eNode, VAULT, e2eIdentity, type E2ePod } from "./e2e-node.js";
import { curlMetadata, rawGet, rawRequestFrom, tokenTarget } from "./pod-clients.js";

const support = await iptablesSupport();
if (!support.supported) console.warn(`skipping NMI end-to-end tests in network namespaces: ${support.reason}`);

const ALPHA = e2eIdentity("id-alpha", "team-a");
const QUERY = "?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net";
const INVALID = { error: "invalid_request", error_description: "Invalid request" };

/** Paths curl sends byte for byte with `--path-as-is` (each followed by {@link QUERY}). */
const CURL_TRICKS: readonly string[] = [
  // Backslashes: the CVE itself and its variants, raw and encoded.
  "/metadata/identity\\oauth2\\token",
  "/metadata\\identity\\oauth2\\token",
  "/metadata/identity/oauth2\\token",
  "/metadata/identity/oauth2/token\\",
  "/metadata/identity%5Coauth2%5Ctoken",
  "/metadata/identity%5coauth2%5ctoken",
  // Dot segments, raw and encoded, upper and lower case, with matrix parameters.
  "/metadata/identity/oauth2/../oauth2/token",
  "/metadata/identity/./oauth2/token",
  "/metadata/identity/oauth2/token/.",
  "/metadata/identity/oauth2/token/..",
  "/metadata/identity/oauth2/%2e%2e/oauth2/token",
  "/metadata/identity/oauth2/%2E%2E/oauth2/token",
  "/metadata/identity/oauth2/.%2e/oauth2/token",
  "/metadata/identity/%2e/oauth2/token",
  "/metadata/identity/oauth2/..;/oauth2/token",
  "/foo/../metadata/identity/oauth2/token",
  // Empty segments.
  "//metadata/identity/oauth2/token",
  "/metadata//identity/oauth2/token",
  "/metadata/identity//oauth2/token",
  "/metadata/identity/oauth2//token",
  "/metadata/identity/oauth2/token//",
  // Encoded delimiters and control characters.
  "/metadata/identity%2Foauth2%2Ftoken",
  "/metadata%2fidentity%2foauth2%2ftoken",
  "/metadata/identity/oauth2/token%3F",
  "/metadata/identity/oauth2/token%23",
  "/metadata/identity/oauth2/token%00",
  "/metadata/identity/oauth2/token%20",
  "/metadata/identity/oauth2/token%25",
  "/metadata/identity/oauth2/tok%65n",
  "/metadata/identity/oauth2/%74oken",
  "/metadata/identity/oauth2/token%EF%BC%8F",
  "/metadata/identity/oauth2/token%zz",
  // Case variants below /metadata, and prefix look-alikes gorilla/mux's PathPrefix routed to the token handler.
  "/metadata/Identity/oauth2/token",
  "/metadata/identity/OAuth2/token",
  "/metadata/identity/oauth2/Token",
  "/metadata/IDENTITY/OAUTH2/TOKEN",
  "/Metadata/Identity/OAuth2/Token",
  "/metadata/identity/oauth2/token;x",
  "/metadata/identity/oauth2/tokenX",
  "/metadata/identity/oauth2/token/x",
  "/metadata/identity/oauth2/token.json",
  "/metadata/identity/oauth2/token/token",
];

/** Whole requests written to the socket as they are (targets curl or Node's client refuse or rewrite). */
const RAW_TRICKS: readonly { readonly name: string; readonly request: string }[] = [
  { name: "absolute-form target", request: rawGet(`http://169.254.169.254/metadata/identity/oauth2/token${QUERY}`) },
  { name: "absolute-form, other host", request: rawGet(`http://127.0.0.1:2579/metadata/identity/oauth2/token${QUERY}`) },
  { name: "asterisk-form", request: rawGet("*") },
  { name: "raw non-ASCII byte", request: rawGet(`/metadata/identity/oauth2/tok\u00e9n${QUERY}`) },
  { name: "fragment", request: rawGet(`/metadata/identity/oauth2/token#x${QUERY}`) },
  { name: "backslash, HTTP/1.0", request: `GET /metadata/identity\\oauth2\\token${QUERY} HTTP/1.0\r\nMetadata: true\r\n\r\n` },
  { name: "leading backslash", request: rawGet(`\\metadata/identity/oauth2/token${QUERY}`) },
  { name: "tab in target", request: rawGet(`/metadata/identity/oauth2/token\t${QUERY}`) },
  { name: "backslash with a Host of the node", request: `GET /metadata/identity\\oauth2\\token${QUERY} HTTP/1.1\r\nHost: 127.0.0.1:2579\r\nMetadata: true\r\nConnection: close\r\n\r\n` },
];

describe.skipIf(!support.supported)("NMI end to end: path tricks (CVE-2022-23551 class) are refused and never reach IMDS", () => {
  let node: E2eNode;
  let pod: E2ePod;

  beforeAll(async () => {
    node = await E2eNode.create({ pods: 1, attached: [ALPHA] });
    const binding = await node.addIdentityAndBinding(ALPHA, "alpha");
    pod = await node.addPod(node.topology.pods[0]!, { name: "alpha-app", namespace: "team-a", selector: "alpha" });
    await node.assign(pod.pod, ALPHA, binding);
    await node.startNmi();
  }, 60_000);

  afterAll(async () => {
    await node?.destroy();
  }, 30_000);

  it("curl --path-as-is: every trick gets NMI's 400 'Invalid request' and IMDS sees none of them", async () => {
    const before = (await node.fakes.imds()).log.length;
    const wrong: string[] = [];
    for (const path of CURL_TRICKS) {
      const outcome = await curlMetadata(pod.netns, `${path}${QUERY}`);
      if (outcome.status !== 400 || JSON.stringify(outcome.json) !== JSON.stringify(INVALID)) {
        wrong.push(`${path} → ${String(outcome.status ?? `curl exit ${String(outcome.exitCode)}`)} ${outcome.body.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect((await node.fakes.imds()).log.slice(before)).toEqual([]);
    // NMI's audit trail: each was rejected before any identity lookup.
    const rejected = node.nmi.logged((l) => l["audit"] === true && l["route"] === "rejected");
    expect(rejected.length).toBeGreaterThanOrEqual(CURL_TRICKS.length);
    expect(rejected.every((l) => l["status"] === 400 && l["podName"] === undefined)).toBe(true);
  }, 30_000);

  it("raw sockets: absolute-form, asterisk, raw bytes and fragments get 400 and IMDS sees none of them", async () => {
    const before = (await node.fakes.imds()).log.length;
    const wrong: string[] = [];
    for (const trick of RAW_TRICKS) {
      const outcome = await rawRequestFrom(pod.netns, trick.request);
      // Whether fastify's handler or Node's HTTP parser refused it, the answer is IMDS's JSON 400.
      const body = outcome.outcome === "response" ? outcome.body : "";
      if (outcome.outcome !== "response" || outcome.status !== 400 || body !== JSON.stringify(INVALID)) {
        wrong.push(`${trick.name} → ${JSON.stringify(outcome).slice(0, 200)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect((await node.fakes.imds()).log.slice(before)).toEqual([]);
  }, 30_000);

  it("controls: the canonical path (any case of /metadata) is served by NMI, other paths are proxied to IMDS", async () => {
    const before = (await node.fakes.imds()).log.length;
    const canonical = await curlMetadata(pod.netns, tokenTarget(VAULT));
    expect(canonical.status, canonical.body).toBe(200);
    expect(decodeFakeJwt(canonical.json?.["access_token"] as string)).toMatchObject({ appid: ALPHA.clientId, xms_mirid: ALPHA.armId });
    const upper = await curlMetadata(pod.netns, `/METADATA/identity/oauth2/token/${QUERY}`);
    expect(upper.status, upper.body).toBe(200);
    expect(decodeFakeJwt(upper.json?.["access_token"] as string)).toMatchObject({ appid: ALPHA.clientId });
    const instance = await curlMetadata(pod.netns, "/metadata/instance/compute/vmScaleSetName?api-version=2021-02-01&format=text");
    expect(instance).toMatchObject({ status: 200, body: "aks-nodepool1-12345678-vmss" });
    const log = (await node.fakes.imds()).log.slice(before);
    // IMDS saw NMI's own token call (by client_id, canonical path) and the proxied instance request — nothing else.
    expect(log.map((e) => e.url.split("?")[0])).toEqual(expect.arrayContaining(["/metadata/instance/compute/vmScaleSetName"]));
    for (const entry of log) expect(["/metadata/identity/oauth2/token", "/metadata/instance/compute/vmScaleSetName"]).toContain(entry.url.split("?")[0]);
    const tokenCalls = log.filter((e) => e.url.startsWith("/metadata/identity/oauth2/token"));
    expect(tokenCalls.length).toBeLessThanOrEqual(1);
    for (const call of tokenCalls) expect(call.url).toContain(`client_id=${ALPHA.clientId}`);
  }, 30_000);
});
