import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { silentPino } from "../observability/pino-logger.js";

/**
 * The health and metrics server, on its own port (never the token port, which pods can reach):
 * `/healthz` as the original (always 200; `Active` once the interception is installed, else `Not Active`),
 * `/livez`, `/readyz` with Kubernetes' `?verbose` convention, and `/metrics` from a prom-client registry.
 * @packageDocumentation
 */

/** One readiness check. */
export interface ReadinessCheck {
  readonly name: string;
  readonly ok: () => boolean;
}

/** Options of {@link buildProbeApp}. */
export interface ProbeAppOptions {
  /** Serve `/healthz`, `/livez` and `/readyz`. */
  readonly probes?: {
    /** True once the interception rules were installed (the original's `Initialized`). */
    readonly interceptionInstalled: () => boolean;
    readonly readiness: readonly ReadinessCheck[];
  };
  /** Serve `/metrics` from this registry. */
  readonly metrics?: Registry;
  readonly pino?: Logger;
}

/** True when the raw URL's query has a `verbose` key. */
function wantsVerbose(rawUrl: string | undefined): boolean {
  const q = rawUrl?.indexOf("?") ?? -1;
  if (rawUrl === undefined || q < 0) return false;
  return rawUrl
    .slice(q + 1)
    .split("&")
    .some((part) => part.split("=")[0] === "verbose");
}

/** Builds the probe and/or metrics server. */
export function buildProbeApp(options: ProbeAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: (options.pino ?? silentPino()) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
  });
  const probes = options.probes;
  if (probes !== undefined) {
    app.get("/healthz", async (_req, reply) => reply.type("text/plain; charset=utf-8").send(probes.interceptionInstalled() ? "Active" : "Not Active"));
    app.get("/livez", async (_req, reply) => reply.type("text/plain; charset=utf-8").send("ok"));
    app.get("/readyz", async (req, reply) => {
      const results = probes.readiness.map((c) => ({ name: c.name, ok: c.ok() }));
      const ready = results.every((r) => r.ok);
      const lines = wantsVerbose(req.raw.url) ? results.map((r) => `[${r.ok ? "+" : "-"}]${r.name} ${r.ok ? "ok" : "failed"}`) : results.filter((r) => !r.ok).map((r) => `[-]${r.name} failed`);
      const summary = ready ? (lines.length > 0 ? "readyz check passed" : "ok") : "readyz check failed";
      return reply
        .code(ready ? 200 : 503)
        .type("text/plain; charset=utf-8")
        .send([...lines, summary].join("\n"));
    });
  }
  const registry = options.metrics;
  if (registry !== undefined) {
    app.get("/metrics", async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  }
  return app;
}
