import type { AddressInfo } from "node:net";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";

/**
 * The daemons' probe and metrics server (fastify), on ports of its own (never NMI's token port, which pods
 * can reach). `/healthz` keeps the original's contract — always 200, body `Active` or `Not Active` (MIC:
 * the replica whose controller runs; NMI: once the interception is installed) — so existing probes and
 * dashboards keep working. `/readyz` and `/livez` follow the Kubernetes conventions with real status codes
 * (`?verbose` lists every check as `[+]name ok` / `[-]name failed`; otherwise a passing `/readyz` says
 * `ok` and a failing one lists only the failed checks). `/metrics` serves a prom-client registry. No pprof
 * handlers are reachable, unlike the original.
 * @packageDocumentation
 */

/** One readiness check. */
export interface ReadinessCheck {
  readonly name: string;
  /** True when passing; a check that throws counts as failed (a probe must always answer). */
  readonly ok: () => boolean;
}

/** What the probe routes report. */
export interface ProbeRoutes {
  /** The `/healthz` body: `Active` when true, else `Not Active` (always 200). */
  readonly active: () => boolean;
  /** Readiness: every check must pass. */
  readonly readiness: readonly ReadinessCheck[];
}

/** What the metrics route serves. */
export interface MetricsRoute {
  readonly registry: Registry;
  /** Refreshes values computed on demand (e.g. MIC's leader and quarantine gauges) right before a scrape. */
  readonly beforeScrape?: () => void;
}

/** Options of {@link buildProbeApp}: probes, metrics, or both on one server. */
export interface ProbeAppOptions {
  /** Serve `/healthz`, `/livez` and `/readyz`. */
  readonly probes?: ProbeRoutes;
  /** Serve `/metrics`. */
  readonly metrics?: MetricsRoute;
  /** fastify's own lines (errors; request logging stays off: kubelet probes every few seconds). Default: none. */
  readonly logger?: Logger;
}

/** True when the raw URL's query has a `verbose` key (`?verbose`, `?verbose=1`, `?a&verbose`). */
function wantsVerbose(rawUrl: string | undefined): boolean {
  const q = rawUrl?.indexOf("?") ?? -1;
  if (rawUrl === undefined || q < 0) return false;
  return rawUrl
    .slice(q + 1)
    .split("&")
    .some((part) => part.split("=")[0] === "verbose");
}

function passes(check: ReadinessCheck): boolean {
  try {
    return check.ok();
  } catch {
    return false;
  }
}

/** The `/readyz` answer for `checks`. */
export function readinessReport(checks: readonly ReadinessCheck[], verbose: boolean): { readonly ready: boolean; readonly body: string } {
  const results = checks.map((c) => ({ name: c.name, ok: passes(c) }));
  const ready = results.every((r) => r.ok);
  const lines = verbose ? results.map((r) => `[${r.ok ? "+" : "-"}]${r.name} ${r.ok ? "ok" : "failed"}`) : results.filter((r) => !r.ok).map((r) => `[-]${r.name} failed`);
  const summary = ready ? (lines.length > 0 ? "readyz check passed" : "ok") : "readyz check failed";
  return { ready, body: [...lines, summary].join("\n") };
}

/** Builds the server (not listening yet; see {@link listenOn}). */
export function buildProbeApp(options: ProbeAppOptions): FastifyInstance {
  const app =
    options.logger === undefined
      ? Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true } })
      : Fastify({
          loggerInstance: options.logger as FastifyBaseLogger,
          logController: new LogController({ disableRequestLogging: true }),
          routerOptions: { ignoreTrailingSlash: true },
        });
  const { probes, metrics } = options;
  if (probes !== undefined) {
    app.get("/healthz", async (_req, reply) => reply.type("text/plain; charset=utf-8").send(probes.active() ? "Active" : "Not Active"));
    app.get("/livez", async (_req, reply) => reply.type("text/plain; charset=utf-8").send("ok"));
    app.get("/readyz", async (req, reply) => {
      const report = readinessReport(probes.readiness, wantsVerbose(req.raw.url));
      return reply
        .code(report.ready ? 200 : 503)
        .type("text/plain; charset=utf-8")
        .send(report.body);
    });
  }
  if (metrics !== undefined) {
    app.get("/metrics", async (_req, reply) => {
      metrics.beforeScrape?.();
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  return app;
}

/** Starts `app` listening on `host`:`port` (0: a free port) and returns the address it bound. */
export async function listenOn(app: FastifyInstance, host: string, port: number): Promise<AddressInfo> {
  await app.listen({ host, port });
  return app.server.address() as AddressInfo;
}
