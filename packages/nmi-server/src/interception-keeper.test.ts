import { afterEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { FakeNetfilter, RecordingLogger, RecordingMetrics, VirtualClock } from "@podid/testkit";
import { defineNmiConfig, interceptionSpecFrom } from "./config/nmi-config.js";
import { buildProbeApp, PromMetrics } from "@podid/daemon-shell";
import { NMI_METRIC_DEFINITIONS } from "./nmi-metrics.js";
import { InterceptionKeeper } from "./interception-keeper.js";

const spec = interceptionSpecFrom(defineNmiConfig({ nodeName: "n" }));
let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

function keeper(netfilter: FakeNetfilter, clock = new VirtualClock()) {
  const metrics = new RecordingMetrics();
  const logger = new RecordingLogger();
  return { keeper: new InterceptionKeeper({ netfilter, spec, clock, logger, metrics, intervalMs: 60_000 }), metrics, logger, clock };
}

describe("probe server", () => {
  it("/healthz is 200 always: 'Not Active' until the rules are installed, then 'Active' (as the original)", async () => {
    const netfilter = new FakeNetfilter();
    const k = keeper(netfilter);
    app = buildProbeApp({ probes: { active: () => k.keeper.installed, readiness: [{ name: "interception", ok: () => k.keeper.intact }] } });
    expect(await app.inject({ url: "/healthz" })).toMatchObject({ statusCode: 200, body: "Not Active" });
    expect((await app.inject({ url: "/readyz" })).statusCode).toBe(503);
    await k.keeper.start();
    expect(await app.inject({ url: "/healthz" })).toMatchObject({ statusCode: 200, body: "Active" });
    expect(await app.inject({ url: "/readyz" })).toMatchObject({ statusCode: 200, body: "ok" });
    expect(await app.inject({ url: "/readyz?verbose" })).toMatchObject({ statusCode: 200, body: "[+]interception ok\nreadyz check passed" });
    expect(await app.inject({ url: "/livez" })).toMatchObject({ statusCode: 200, body: "ok" });
    expect((await app.inject({ url: "/metrics" })).statusCode).toBe(404);
  });

  it("serves /metrics in Prometheus text format when given a registry", async () => {
    const metrics = new PromMetrics(NMI_METRIC_DEFINITIONS);
    metrics.increment("podid_nmi_rate_limited_total", { scope: "pod" });
    app = buildProbeApp({ metrics: { registry: metrics.registry } });
    const res = await app.inject({ url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    expect(res.body).toContain('podid_nmi_rate_limited_total{scope="pod"} 1');
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(404);
  });
});

describe("InterceptionKeeper", () => {
  it("repairs drift at each interval and reports errors without giving up", async () => {
    const netfilter = new FakeNetfilter();
    const k = keeper(netfilter);
    expect((await k.keeper.start()).ok).toBe(true);
    expect(netfilter.verdict(spec)).toBe("intercepted");
    netfilter.tamper(spec, "jumpNotFirst");
    await k.clock.advanceAsync(60_000);
    await k.keeper.checkNow();
    expect(netfilter.verdict(spec)).toBe("intercepted");
    expect(k.metrics.counter("podid_nmi_interception_repairs_total")).toBe(1);
    netfilter.failNext(1, { kind: "lockTimeout", message: "xtables lock" }, ["inspect"]);
    await k.keeper.checkNow();
    expect(k.keeper.intact).toBe(false);
    expect(k.keeper.installed).toBe(true);
    expect(k.metrics.counter("podid_nmi_interception_errors_total", { operation: "inspect" })).toBe(1);
    await k.keeper.checkNow();
    expect(k.keeper.intact).toBe(true);
    expect(k.metrics.gauge("podid_nmi_interception_active")).toBe(1);
  });

  it("releases fail-closed: pod traffic to the metadata address is blocked, never direct", async () => {
    const netfilter = new FakeNetfilter();
    const k = keeper(netfilter);
    await k.keeper.start();
    expect((await k.keeper.release("failClosed")).ok).toBe(true);
    expect(netfilter.verdict(spec)).toBe("blocked");
    expect(k.keeper.intact).toBe(false);
    // The next NMI installs the interception again and lifts the block.
    const next = keeper(netfilter);
    await next.keeper.start();
    expect(netfilter.verdict(spec)).toBe("intercepted");
    expect((await next.keeper.release("remove")).ok).toBe(true);
    expect(netfilter.verdict(spec)).toBe("direct");
  });

  it("a failed first install is returned (start-up is fatal then)", async () => {
    const netfilter = new FakeNetfilter();
    netfilter.failNext(1, { kind: "unavailable", message: "iptables not found" }, ["ensure"]);
    const k = keeper(netfilter);
    const result = await k.keeper.start();
    expect(result.ok).toBe(false);
    expect(k.keeper.installed).toBe(false);
    expect(k.logger.find("netfilter operation failed")).toBeDefined();
  });
});
