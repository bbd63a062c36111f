import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { fakeGuid, FakeCluster, FakeTokenSource, VirtualClock } from "@podid/testkit";
import { pinoLoggerPort, PromMetrics, REDACTED } from "@podid/daemon-shell";
import { createNmiPino } from "../nmi-logging.js";
import { NMI_METRIC_DEFINITIONS } from "../nmi-metrics.js";
import { bindPod, makeAssigned, makeBinding, makeIdentity, makePod, TEST_NODE, tokenUrl } from "@podid/testkit";
import { createHarness, RecordingForwarder, type NmiHarness } from "../test-support/nmi-harness.js";
import { createNmiServer, type NmiApp } from "./1-http-entry.js";
import { defineNmiConfig } from "../config/nmi-config.js";

const META = { Metadata: "true" };
let h: NmiHarness | undefined;
let app: NmiApp | undefined;

afterEach(async () => {
  await h?.app.close();
  await app?.close();
  h = undefined;
  app = undefined;
});

/** A writable collecting pino's lines. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

describe("audit records", () => {
  it("writes exactly one record per request with pod, identity, resource, decision, cache and upstream facts", async () => {
    h = createHarness({ tokenLatencyMs: 0 });
    const { pod, identity } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    await h.app.inject({ url: tokenUrl(), headers: { ...META, "x-ms-client-request-id": "a1b2c3d4-0000-4000-8000-000000000001" }, remoteAddress: "10.0.0.5" });
    await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await h.app.inject({ url: "/metadata/instance?api-version=2021-02-01", remoteAddress: "10.0.0.5" });
    const records = h.logger.findAll("nmi decision");
    expect(records).toHaveLength(3);
    expect(records[0]?.fields).toMatchObject({
      audit: true,
      requestId: "a1b2c3d4-0000-4000-8000-000000000001",
      route: "token",
      podUid: pod.metadata.uid,
      podNamespace: "default",
      podName: "app",
      identity: "default/id-a",
      clientId: identity.spec.clientID,
      resource: "https://management.azure.com/",
      decision: "issued",
      status: 200,
      cacheHit: false,
      cache: "miss",
      upstreamMs: 0,
      sourceIp: "10.0.0.5",
    });
    expect(records[1]?.fields).toMatchObject({ decision: "issued", cacheHit: true, cache: "hit" });
    expect(records[2]?.fields).toMatchObject({ route: "instance", path: "/metadata/instance", decision: "badRequest", reason: "metadataHeaderMissing", status: 400 });
  });

  it("never records a token or a secret", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    const tenant = "11111111-1111-4111-8111-111111111111";
    const sp = fakeGuid("sp");
    h.tokens.registerServicePrincipal({ tenantId: tenant, clientId: sp, secret: "very-secret-password" });
    h.cluster.applySecret("default", "sp", { clientSecret: "very-secret-password" });
    const spIdentity = h.cluster.apply("azureidentities", makeIdentity({ name: "sp", type: 1, clientId: sp, secretRef: { namespace: "default", name: "sp" } }));
    const spBinding = h.cluster.apply("azureidentitybindings", makeBinding(spIdentity, "sp-sel"));
    const spPod = h.cluster.apply("pods", makePod({ name: "sp-app", ip: "10.0.0.6", selector: "sp-sel" }));
    h.cluster.apply("azureassignedidentities", makeAssigned(spPod, spIdentity, spBinding));
    const tokens: string[] = [];
    for (const ip of ["10.0.0.5", "10.0.0.6"]) {
      for (const resource of ["https://a/", "https://b/"]) {
        const res = await h.app.inject({ url: tokenUrl(resource), headers: { ...META, authorization: "Bearer pod-sent-credential" }, remoteAddress: ip });
        expect(res.statusCode).toBe(200);
        tokens.push(String(JSON.parse(res.body)["access_token"]));
      }
    }
    expect(h.logger.lines.length).toBeGreaterThanOrEqual(4);
    for (const t of tokens) expect(h.logger.mentions(t)).toBe(false);
    expect(h.logger.mentions("very-secret-password")).toBe(false);
    expect(h.logger.mentions("pod-sent-credential")).toBe(false);
  });
});

describe("pino redaction", () => {
  it("redacts token, secret and authorization fields at any of the first three levels", () => {
    const out = sink();
    const logger = pinoLoggerPort(createNmiPino({ destination: out.stream }));
    logger.info(
      {
        access_token: "AT-1",
        body: { refresh_token: "RT-1", client_secret: "CS-1" },
        req: { headers: { authorization: "Bearer AUTH-1", cookie: "C-1" } },
        token: { access_token: "AT-2" },
      },
      "test",
    );
    logger.child({ component: "x" }).warn({ password: "PW-1", certificate: "CERT-1" }, "child");
    const text = out.text();
    for (const secret of ["AT-1", "RT-1", "CS-1", "AUTH-1", "C-1", "AT-2", "PW-1", "CERT-1"]) expect(text).not.toContain(secret);
    expect(text).toContain(REDACTED);
    expect(text.split("\n").filter(Boolean)).toHaveLength(2);
  });

  it("keeps tokens out of the whole log of a real app (fastify logger and audit through pino)", async () => {
    const out = sink();
    const pino = createNmiPino({ destination: out.stream, level: "debug" });
    const clock = new VirtualClock();
    const cluster = new FakeCluster({ clock });
    const tokens = new FakeTokenSource({ clock });
    bindPod({ cluster, tokens }, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    app = createNmiServer(
      defineNmiConfig({ nodeName: TEST_NODE, bodyLimitBytes: 8 }),
      { kube: cluster, tokenSource: tokens, clock, logger: pinoLoggerPort(pino), metrics: new PromMetrics(NMI_METRIC_DEFINITIONS), forwarder: new RecordingForwarder(), pino },
    ).app;
    const res = await app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    const token = String(JSON.parse(res.body)["access_token"]);
    await app.inject({ method: "POST", url: "/x", headers: { ...META, "content-type": "text/plain" }, payload: token, remoteAddress: "10.0.0.5" });
    const text = out.text();
    expect(text).toContain('"msg":"nmi decision"');
    expect(text).not.toContain(token);
  });
});

describe("metrics", () => {
  it("exposes the original's NMI and IMDS metric names with bounded labels", async () => {
    const metrics = new PromMetrics(NMI_METRIC_DEFINITIONS);
    const clock = new VirtualClock();
    const cluster = new FakeCluster({ clock });
    const tokens = new FakeTokenSource({ clock });
    bindPod({ cluster, tokens }, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    app = createNmiServer(
      defineNmiConfig({ nodeName: TEST_NODE }),
      { kube: cluster, tokenSource: tokens, clock, logger: pinoLoggerPort(createNmiPino({ level: "silent" })), metrics, forwarder: new RecordingForwarder() },
    ).app;
    // Five token requests: a miss, then four memoised hits, recorded through the series NMI binds once.
    for (let i = 0; i < 5; i++) await app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    for (let i = 0; i < 30; i++) await app.inject({ url: `/random/path/${i}?q=${i}`, headers: META, remoteAddress: "10.0.0.5" });
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'aadpodidentity_nmi_operations_duration_seconds_count{operation_type="/metadata/identity/oauth2/token",status_code="200",namespace="default",resource="https://management.azure.com/"} 5',
    );
    expect(text).toContain('podid_nmi_token_cache_requests_total{result="hit"} 4');
    expect(text).toContain('podid_nmi_decisions_total{decision="issued"} 5');
    expect(text).toContain('aadpodidentity_nmi_operations_duration_seconds_count{operation_type="proxy",status_code="200",namespace="",resource=""} 30');
    expect(text).toContain('aadpodidentity_imds_operations_duration_seconds_count{operation_type="adal_token_msi_userassignedid"} 1');
    expect(text).toContain('podid_nmi_token_cache_requests_total{result="miss"} 1');
    expect(text).not.toContain("/random/path");
    expect(metrics.unknownNames()).toEqual([]);
  });
});
