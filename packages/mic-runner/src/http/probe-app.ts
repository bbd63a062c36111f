import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

/**
 * MIC's probe and metrics HTTP servers (fastify). `/healthz` keeps the original's contract — always 200,
 * body `Active` on the replica whose controller runs and `Not Active` on the others (e2e
 * `liveness_probe`) — so existing probes and dashboards keep working; `/readyz` and `/livez` follow the
 * Kubernetes conventions with real status codes (`?verbose` lists the checks as `[+]name ok` /
 * `[-]name failed`). `/metrics` serves the process's own prom-client registry. Unlike the original, no
 * pprof handlers are reachable here.
 * @packageDocumentation
 */

/** One readiness check. */
export interface ReadinessCheck {
  readonly name: string;
  readonly ok: () => boolean;
}

/** What the probe routes report. */
export interface MicProbes {
  /** True while this replica leads and its controller runs. */
  readonly active: () => boolean;
  /** Readiness: every check must pass (a standby is ready too: leadership is not readiness). */
  readonly readiness: readonly ReadinessCheck[];
}

/** What the metrics route serves. */
export interface MicMetricsRoute {
  readonly registry: Registry;
  /** Refreshes gauges computed on demand (leader, quarantine size) right before a scrape. */
  readonly beforeScrape?: () => void;
}

/** Options of {@link buildProbeApp}: probes, metrics, or both on one server. */
export interface ProbeAppOptions {
  readonly probes?: MicProbes;
  readonly metrics?: MicMetricsRoute;
}

function checkReport(checks: readonly ReadinessCheck[]): { ok: boolean; text: string } {
  let ok = true;
  const lines = checks.map((check) => {
    let passed = false;
    try {
      passed = check.ok();
    } catch {
      passed = false;
    }
    if (!passed) ok = false;
    return passed ? `[+]${check.name} ok` : `[-]${check.name} failed`;
  });
  return { ok, text: `${lines.join("\n")}\n${ok ? "readyz check passed" : "readyz check failed"}\n` };
}

/** Builds the server (not listening yet). */
export function buildProbeApp(options: ProbeAppOptions): FastifyInstance {
  const app = Fastify({ logger: false });
  const { probes, metrics } = options;
  if (probes !== undefined) {
    app.get("/healthz", async (_request, reply) => reply.type("text/plain; charset=utf-8").send(probes.active() ? "Active" : "Not Active"));
    app.get("/livez", async (_request, reply) => reply.type("text/plain; charset=utf-8").send("ok"));
    app.get("/readyz", async (request, reply) => {
      const report = checkReport(probes.readiness);
      const verbose = typeof request.query === "object" && request.query !== null && "verbose" in request.query;
      return reply
        .code(report.ok ? 200 : 503)
        .type("text/plain; charset=utf-8")
        .send(verbose || !report.ok ? report.text : "ok");
    });
  }
  if (metrics !== undefined) {
    app.get("/metrics", async (_request, reply) => {
      metrics.beforeScrape?.();
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    });
  }
  return app;
}
