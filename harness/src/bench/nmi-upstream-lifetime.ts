/**
 * The upstream part of `npm run bench:nmi`: how many token calls NMI makes to IMDS for K pods × M
 * concurrent requests of one (identity, resource) with a cold cache, and over several token lifetimes on a
 * virtual clock (refresh ahead happens in the background on a hit). Runs the shipped token server
 * (`createNmiServer`) in this process with testkit's fakes; loopback source addresses stand for the pods.
 * @packageDocumentation
 */
import { request } from "node:http";
import { makeAssigned, makeBinding, makeIdentity, makePod, TEST_NODE, tokenUrl } from "@podid/testkit";
import { startInProcessNmi } from "./in-process-nmi.js";

const K_PODS = 50;
const M_REQUESTS = 20;
const LIFETIMES = 3;
const ROUNDS_PER_LIFETIME = 12;
const TOKEN_LIFETIME_S = 86_399;
const RESOURCE = "https://management.azure.com/";
/** Real latency of the fake IMDS, so concurrent misses really overlap. */
const UPSTREAM_LATENCY_MS = 25;

/** What {@link measureUpstreamCalls} found. */
export interface UpstreamFigures {
  readonly coldBurstUpstreamCalls: number;
  readonly coldBurstOk: number;
  readonly upstreamCallsPerTokenLifetime: number;
  readonly lifetimeRequests: number;
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

/** Runs the cold burst and the lifetime rounds against an in-process NMI; bounded (a few seconds). */
export async function measureUpstreamCalls(): Promise<UpstreamFigures> {
  const nmi = await startInProcessNmi({ config: { nodeName: TEST_NODE, podRateLimitPerSecond: 0 }, tokenLifetimeSeconds: TOKEN_LIFETIME_S, upstreamLatencyMs: UPSTREAM_LATENCY_MS });
  const { clock, cluster, port } = nmi;
  const fake = nmi.tokens;
  try {
    const shared = cluster.apply("azureidentities", makeIdentity({ name: "shared-identity" }));
    const binding = cluster.apply("azureidentitybindings", makeBinding(shared, "shared-selector"));
    fake.allow(shared.spec.resourceID);
    const sources: string[] = [];
    for (let i = 0; i < K_PODS; i++) {
      const ip = `127.0.1.${i + 1}`;
      const pod = cluster.apply("pods", makePod({ name: `shared-pod-${i}`, ip, selector: "shared-selector" }));
      cluster.apply("azureassignedidentities", makeAssigned(pod, shared, binding));
      sources.push(ip);
    }
    const statuses = await Promise.all(sources.flatMap((ip) => Array.from({ length: M_REQUESTS }, () => getFrom(port, ip))));
    const coldBurstUpstreamCalls = nmi.fetches();
    const lifetimeStart = nmi.fetches();
    for (let round = 0; round < LIFETIMES * ROUNDS_PER_LIFETIME; round++) {
      await clock.advanceAsync((TOKEN_LIFETIME_S * 1000) / ROUNDS_PER_LIFETIME);
      const results = await Promise.all(sources.flatMap((ip) => [getFrom(port, ip), getFrom(port, ip)]));
      const bad = results.find((s) => s !== 200);
      if (bad !== undefined) throw new Error(`unexpected status ${String(bad)} in lifetime round ${String(round)}`);
      await new Promise((r) => setTimeout(r, UPSTREAM_LATENCY_MS * 2));
    }
    return {
      coldBurstUpstreamCalls,
      coldBurstOk: statuses.filter((s) => s === 200).length,
      upstreamCallsPerTokenLifetime: (nmi.fetches() - lifetimeStart) / LIFETIMES,
      lifetimeRequests: LIFETIMES * ROUNDS_PER_LIFETIME * K_PODS * 2,
    };
  } finally {
    await nmi.close();
  }
}

/** Sizes of the upstream scenario, for the printed summary. */
export const UPSTREAM_SCENARIO = { pods: K_PODS, requestsPerPod: M_REQUESTS, lifetimes: LIFETIMES } as const;
