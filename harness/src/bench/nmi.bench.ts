/**
 * `npm run bench:nmi`: cached-token throughput and latency of nmi-server against a bare `node:http` server
 * returning the same JSON, at 1, 16 and 64 connections, with autocannon as the load generator (in a worker
 * thread, so it does not share the server's event loop); then the number of upstream token calls for
 * K pods × M requests of one (identity, resource), cold and over several token lifetimes. Ends with one
 * JSON line. Each level is measured `BENCH_REPS` times (default 3) in interleaved order (bare, NMI, NMI
 * without audit log, …) for `BENCH_SECONDS` each (default 3), after a warm-up; medians are reported, since
 * on a small shared machine single runs vary by ±30 %.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus } from "node:os";
import { pino } from "pino";
import autocannon, { type AutocannonResult } from "autocannon";
import { err, type TokenSourcePort } from "@podid/core";
import { pinoLoggerPort, PromMetrics } from "@podid/daemon-shell";
import { createNmiLogging, createNmiServer, defineNmiConfig, NMI_METRIC_DEFINITIONS, type ImdsForwarder, type NmiApp, type NmiLogging } from "@podid/nmi-server";
import { bindPod, FakeCluster, FakeTokenSource, makeAssigned, makeBinding, makeIdentity, makePod, TEST_NODE, tokenUrl, VirtualClock } from "@podid/testkit";

/** The benchmark's requests are all token requests NMI answers itself; nothing is forwarded to IMDS. */
const UNREACHABLE_IMDS: ImdsForwarder = {
  forward: async () => err({ kind: "upstreamFailed", message: "the benchmark forwards nothing" }),
  close: () => undefined,
};

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? "3");
const REPS = Number(process.env["BENCH_REPS"] ?? "3");
const LEVELS = [1, 16, 64] as const;
const K_PODS = 50;
const M_REQUESTS = 20;
const LIFETIMES = 3;
const TOKEN_LIFETIME_S = 86_399;
const RESOURCE = "https://management.azure.com/";
/** Real latency of the fake IMDS, so concurrent misses really overlap. */
const UPSTREAM_LATENCY_MS = 25;

interface Run {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
}

interface LevelResult {
  readonly connections: number;
  /** NMI as deployed: one JSON audit line per request (to /dev/null here, batched per turn) and Prometheus metrics. */
  readonly nmi: Run;
  /** The same NMI with its log level set to silent: what the audit line costs. */
  readonly nmiQuiet: Run;
  readonly bare: Run;
  readonly ratio: number;
  readonly ratioQuiet: number;
}

function summarise(r: AutocannonResult): Run {
  return { rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

/** The run with the median throughput (its latencies come with it); non-2xx and errors are summed. */
function median(runs: readonly Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  const mid = sorted[Math.floor(sorted.length / 2)] ?? { rps: 0, p50: 0, p99: 0, non2xx: 0, errors: 0 };
  return { ...mid, non2xx: runs.reduce((n, r) => n + r.non2xx, 0), errors: runs.reduce((n, r) => n + r.errors, 0) };
}

async function load(port: number, connections: number, seconds = SECONDS): Promise<AutocannonResult> {
  return autocannon({
    url: `http://127.0.0.1:${port}${tokenUrl(RESOURCE)}`,
    connections,
    duration: seconds,
    workers: 1,
    headers: { Metadata: "true" },
  });
}

/** One GET from a given loopback source address (Linux routes all of 127.0.0.0/8 to lo). */
function getFrom(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: tokenUrl(RESOURCE), localAddress, headers: { Metadata: "true" }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

async function listen(server: { listen(port: number, host: string, cb: () => void): unknown; address(): AddressInfo | string | null }): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function main(): Promise<void> {
  // ── The NMI under test: production-like logging (JSON audit line per request, to /dev/null) and metrics ──
  const clock = new VirtualClock({ startMs: Date.now() });
  const cluster = new FakeCluster({ clock });
  const fake = new FakeTokenSource({ clock, tokenLifetimeSeconds: TOKEN_LIFETIME_S });
  let upstreamCalls = 0;
  const tokenSource: TokenSourcePort = {
    acquire: async (req, signal) => {
      upstreamCalls += 1;
      await new Promise((r) => setTimeout(r, UPSTREAM_LATENCY_MS));
      return fake.acquire(req, signal);
    },
  };
  const build = (logging: NmiLogging): NmiApp =>
    createNmiServer(
      // One client (127.0.0.1) sends everything, so the per-pod request limit (5/s) is off for the benchmark and
      // its connection cap (64 per source address) is raised above the 64 connections of the top level.
      defineNmiConfig({ nodeName: TEST_NODE, podRateLimitPerSecond: 0, maxConnectionsPerPod: 256 }),
      {
        kube: cluster,
        tokenSource,
        clock,
        logger: pinoLoggerPort(logging.pino),
        audit: logging.audit,
        metrics: new PromMetrics(NMI_METRIC_DEFINITIONS),
        forwarder: UNREACHABLE_IMDS,
      },
    ).app;
  // Logging exactly as podid-nmi sets it up (createNmiLogging: synchronous writes, audit lines batched
  // per event-loop turn), to /dev/null instead of stdout.
  const app = build(createNmiLogging({ base: { node: TEST_NODE }, destination: pino.destination({ dest: "/dev/null", sync: true }) }));
  const quiet = build(createNmiLogging({ level: "silent" }));
  bindPod({ cluster, tokens: fake }, { pod: "bench-pod", ip: "127.0.0.1", identity: "bench-identity" });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const nmiPort = (app.server.address() as AddressInfo).port;
  await quiet.listen({ host: "127.0.0.1", port: 0 });
  const quietPort = (quiet.server.address() as AddressInfo).port;

  // ── The baseline: node:http answering the very JSON NMI serves from its cache ──
  const warm = await new Promise<string>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: nmiPort, path: tokenUrl(RESOURCE), headers: { Metadata: "true" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`warm-up failed: ${res.statusCode} ${body}`))));
    });
    req.on("error", reject);
    req.end();
  });
  const bare: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(warm) });
    res.end(warm);
  });
  const barePort = await listen(bare);

  console.log(`nmi-server benchmark: ${REPS} × ${SECONDS} s per target and level (medians), ${cpus().length} CPUs, Node ${process.version}, body ${Buffer.byteLength(warm)} bytes`);
  const levels: LevelResult[] = [];
  // Warm-up: let the JIT optimise every server's request path before measuring.
  for (const port of [barePort, nmiPort, quietPort]) await load(port, 16, 1);
  for (const connections of LEVELS) {
    const runs: { bare: Run[]; nmi: Run[]; quiet: Run[] } = { bare: [], nmi: [], quiet: [] };
    for (let rep = 0; rep < REPS; rep++) {
      runs.bare.push(summarise(await load(barePort, connections)));
      runs.nmi.push(summarise(await load(nmiPort, connections)));
      runs.quiet.push(summarise(await load(quietPort, connections)));
    }
    const b = median(runs.bare);
    const n = median(runs.nmi);
    const q = median(runs.quiet);
    const ratio = b.rps > 0 ? n.rps / b.rps : 0;
    const ratioQuiet = b.rps > 0 ? q.rps / b.rps : 0;
    levels.push({ connections, nmi: n, nmiQuiet: q, bare: b, ratio, ratioQuiet });
    const fmt = (r: Run) => `${String(r.rps).padStart(6)} req/s p50 ${r.p50} ms p99 ${r.p99} ms${r.non2xx + r.errors > 0 ? ` (non-2xx ${r.non2xx}, errors ${r.errors})` : ""}`;
    console.log(`c=${String(connections).padStart(2)}  bare ${fmt(b)}`);
    console.log(`      nmi  ${fmt(n)}  ratio ${ratio.toFixed(2)}`);
    console.log(`      nmi without audit log ${fmt(q)}  ratio ${ratioQuiet.toFixed(2)}`);
  }

  // ── Upstream calls: K pods (own loopback addresses) × M concurrent requests, cold cache ──
  const shared = cluster.apply("azureidentities", makeIdentity({ name: "shared-identity" }));
  const sharedBinding = cluster.apply("azureidentitybindings", makeBinding(shared, "shared-selector"));
  fake.allow(shared.spec.resourceID);
  const sources: string[] = [];
  for (let i = 0; i < K_PODS; i++) {
    const ip = `127.0.1.${i + 1}`;
    const pod = cluster.apply("pods", makePod({ name: `shared-pod-${i}`, ip, selector: "shared-selector" }));
    cluster.apply("azureassignedidentities", makeAssigned(pod, shared, sharedBinding));
    sources.push(ip);
  }
  const before = upstreamCalls;
  const statuses = await Promise.all(sources.flatMap((ip) => Array.from({ length: M_REQUESTS }, () => getFrom(nmiPort, ip))));
  const coldBurstCalls = upstreamCalls - before;
  const ok = statuses.filter((s) => s === 200).length;
  console.log(`cold burst: ${K_PODS} pods × ${M_REQUESTS} concurrent requests → ${ok} × 200, ${coldBurstCalls} upstream call(s)`);

  // Over several token lifetimes (virtual time; refresh ahead happens in the background on a hit).
  const lifetimeStart = upstreamCalls;
  const rounds = 12;
  for (let round = 0; round < LIFETIMES * rounds; round++) {
    await clock.advanceAsync((TOKEN_LIFETIME_S * 1000) / rounds);
    const results = await Promise.all(sources.flatMap((ip) => Array.from({ length: 2 }, () => getFrom(nmiPort, ip))));
    if (results.some((s) => s !== 200)) throw new Error(`unexpected status in lifetime round ${round}: ${results.find((s) => s !== 200)}`);
    await new Promise((r) => setTimeout(r, UPSTREAM_LATENCY_MS * 2));
  }
  const lifetimeCalls = upstreamCalls - lifetimeStart;
  const perLifetime = lifetimeCalls / LIFETIMES;
  console.log(`over ${LIFETIMES} token lifetimes (${K_PODS} pods, ${LIFETIMES * rounds * K_PODS * 2} requests): ${lifetimeCalls} upstream calls = ${perLifetime.toFixed(2)} per lifetime`);

  await app.close();
  await quiet.close();
  await new Promise<void>((resolve) => bare.close(() => resolve()));
  const at64 = levels.find((l) => l.connections === 64);
  console.log(
    JSON.stringify({
      throughputRatio: Number((at64?.ratio ?? 0).toFixed(3)),
      throughputRatioWithoutAuditLog: Number((at64?.ratioQuiet ?? 0).toFixed(3)),
      upstreamCallsPerTokenLifetime: Number(perLifetime.toFixed(3)),
      coldBurstUpstreamCalls: coldBurstCalls,
      levels: levels.map((l) => ({
        connections: l.connections,
        nmiRps: l.nmi.rps,
        nmiQuietRps: l.nmiQuiet.rps,
        bareRps: l.bare.rps,
        ratio: Number(l.ratio.toFixed(3)),
        ratioWithoutAuditLog: Number(l.ratioQuiet.toFixed(3)),
        nmiP50: l.nmi.p50,
        nmiP99: l.nmi.p99,
        bareP50: l.bare.p50,
        bareP99: l.bare.p99,
      })),
      seconds: SECONDS,
      reps: REPS,
      cpus: cpus().length,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
