import type { FastifyInstance } from "fastify";
import { Counter, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { silentPino } from "../observability/pino-logger.js";
import { buildProbeApp, listenOn } from "./probe-app.js";

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe("probe server", () => {
  it("/healthz is always 200, 'Not Active' then 'Active' (the original's contract); /livez is ok", async () => {
    let active = false;
    app = buildProbeApp({ probes: { active: () => active, readiness: [] } });
    expect(await app.inject({ url: "/healthz" })).toMatchObject({ statusCode: 200, body: "Not Active" });
    active = true;
    const res = await app.inject({ url: "/healthz" });
    expect(res).toMatchObject({ statusCode: 200, body: "Active" });
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(await app.inject({ url: "/livez" })).toMatchObject({ statusCode: 200, body: "ok" });
    expect(await app.inject({ url: "/healthz/" })).toMatchObject({ statusCode: 200, body: "Active" });
    expect((await app.inject({ url: "/metrics" })).statusCode).toBe(404);
  });

  it("/readyz: 'ok' when passing, the failed checks with 503 otherwise, every check with ?verbose", async () => {
    let synced = false;
    app = buildProbeApp({
      probes: {
        active: () => true,
        readiness: [
          { name: "interception", ok: () => true },
          { name: "informers-synced", ok: () => synced },
          {
            name: "throws",
            ok: () => {
              if (!synced) throw new Error("not yet");
              return true;
            },
          },
        ],
      },
    });
    expect(await app.inject({ url: "/readyz" })).toMatchObject({ statusCode: 503, body: "[-]informers-synced failed\n[-]throws failed\nreadyz check failed" });
    expect(await app.inject({ url: "/readyz?verbose" })).toMatchObject({
      statusCode: 503,
      body: "[+]interception ok\n[-]informers-synced failed\n[-]throws failed\nreadyz check failed",
    });
    synced = true;
    expect(await app.inject({ url: "/readyz" })).toMatchObject({ statusCode: 200, body: "ok" });
    for (const url of ["/readyz?verbose", "/readyz?verbose=1", "/readyz/?x=1&verbose"]) {
      expect(await app.inject({ url })).toMatchObject({ statusCode: 200, body: "[+]interception ok\n[+]informers-synced ok\n[+]throws ok\nreadyz check passed" });
    }
    expect(await app.inject({ url: "/readyz?verbosely" })).toMatchObject({ statusCode: 200, body: "ok" });
  });

  it("serves /metrics from the registry, refreshing on-demand values first; a metrics-only server has no probes", async () => {
    const registry = new Registry();
    const scrapes = new Counter({ name: "scrapes_total", help: "h", registers: [registry] });
    app = buildProbeApp({ metrics: { registry, beforeScrape: () => scrapes.inc() } });
    const res = await app.inject({ url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe(registry.contentType);
    expect(res.body).toBe(await registry.metrics());
    expect(res.body).toMatch(/^scrapes_total 1$/m);
    expect((await app.inject({ url: "/healthz" })).statusCode).toBe(404);
  });

  it("listens on the address asked for, with or without a logger", async () => {
    app = buildProbeApp({ probes: { active: () => true, readiness: [] }, metrics: { registry: new Registry() }, logger: silentPino() });
    const address = await listenOn(app, "127.0.0.1", 0);
    expect(address.address).toBe("127.0.0.1");
    const res = await fetch(`http://127.0.0.1:${address.port}/healthz`);
    expect(await res.text()).toBe("Active");
  });
});
