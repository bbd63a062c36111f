import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { normalizeIpAddress, type LogFields, type LoggerPort } from "@podid/core";
import { decodeFakeJwt, fakeGuid, FakeCluster, FakeTokenSource, VirtualClock } from "@podid/testkit";
import { PromMetrics } from "@podid/daemon-shell";
import { NMI_METRIC_DEFINITIONS } from "../nmi-metrics.js";
import { bindPod, makeException, makePod, TEST_NODE } from "@podid/testkit";
import { RecordingForwarder } from "../test-support/nmi-harness.js";
import type { ForwardRequest } from "../imds-forwarder.js";
import { createNmiServer, type NmiApp } from "./1-http-entry.js";
import { defineNmiConfig, type NmiConfig, type NmiConfigInput } from "../config/nmi-config.js";

/**
 * Fuzzing the whole request path through fastify's `inject`: ≥ 100,000 generated requests (methods, raw
 * targets with token-path mutations, queries, Metadata and forwarding header variants, bodies, source
 * addresses) against two differently configured apps. Properties: no crash, only the documented 5xx
 * (500 unattributable caller, 503 no identity yet / upstream unavailable), every NMI answer is IMDS-shaped
 * JSON, no token-like path ever reaches the forwarder, nothing with a forwarding header is forwarded,
 * and every token handed out belongs to the calling pod.
 *
 * `inject` parses URLs with WHATWG rules (a `\` becomes `/`, dot segments vanish); real sockets deliver
 * the target as sent. A test-only `onRequest` hook therefore restores the raw target from a header, so
 * the handler sees exactly what a socket would deliver.
 */

const RAW_TARGET_HEADER = "x-podid-fuzz-raw-target";
/** Identifies each request, so a forwarded request is matched to the request that caused it. */
const ID_HEADER = "x-podid-fuzz-id";
const BATCH = 250;
const RUNS = 404;

/** A logger that only counts (100k records would otherwise dominate memory). */
class CountingLogger implements LoggerPort {
  lines = 0;
  debug(_f: LogFields, _m: string): void {
    this.lines++;
  }
  info(_f: LogFields, _m: string): void {
    this.lines++;
  }
  warn(_f: LogFields, _m: string): void {
    this.lines++;
  }
  error(_f: LogFields, _m: string): void {
    this.lines++;
  }
  child(): LoggerPort {
    return this;
  }
}

// ── The independent oracle for "token-like" ────────────────────────────────────────────────────────────

/** Repeated lenient percent-decoding (bad escapes kept), then both Unicode compatibility folds. */
function lenientForms(path: string): string[] {
  let text = path;
  for (let i = 0; i < 5; i++) {
    const next = text.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === text) break;
    text = next;
  }
  let utf8 = text;
  try {
    utf8 = decodeURIComponent(escape(text));
  } catch {
    // not UTF-8 bytes: keep the Latin-1 reading
  }
  return [text, utf8].flatMap((t) => [t.normalize("NFKC"), t.normalize("NFKD")]);
}

/** True when any lenient reading of `target`'s path contains the token or host-token path. */
function tokenLike(target: string): boolean {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  return lenientForms(path).some((form) => {
    const skeleton = form.toLowerCase().replace(/[^a-z0-9]/g, "");
    return /metadataidentity.*oauth2.*token/.test(skeleton) || /hosttoken/.test(skeleton);
  });
}

// ── Generators ─────────────────────────────────────────────────────────────────────────────────────────

const segmentMutations = ["\\", "/", "//", "%2f", "%2F", "%5c", "%5C", ".", "..", "%2e", "%2e%2e", ";", ";x", "%00", "%20", " ", "\t", "%25", "%252f", "\u0000", "ｔ", "\u0301", "%C0%AF", "%E2%80%8B", "#", "?", "\r\n"];

const caseVariant = (word: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((flags) => [...word].map((c, i) => (flags[i] ? c.toUpperCase() : c)).join(""));

const encodeSome = (word: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((flags) =>
    [...word].map((c, i) => (flags[i] === true && i % 2 === 0 ? `%${c.charCodeAt(0).toString(16).padStart(2, "0")}` : c)).join(""),
  );

const tokenSegments = ["metadata", "identity", "oauth2", "token"];

/** Token paths: canonical, case-varied, percent-encoded, with separators mutated. */
const tokenPathArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.tuple(...tokenSegments.map((s) => fc.oneof({ weight: 6, arbitrary: fc.constant(s) }, { weight: 2, arbitrary: caseVariant(s) }, { weight: 1, arbitrary: encodeSome(s) }))),
    fc.array(fc.oneof(fc.constant("/"), fc.constantFrom(...segmentMutations)), { minLength: 4, maxLength: 4 }),
    fc.constantFrom("", "/", "//", "/x", "x", "\\", "/.", "/..", ";a", "%2f"),
    fc.boolean(),
  )
  .map(([segments, separators, tail, mutate]) =>
    segments.map((s, i) => `${mutate ? separators[i] : "/"}${s}`).join("") + tail,
  );

const hostPathArb = fc.tuple(caseVariant("host"), fc.constantFrom("/", "\\", "%2f", "//", "/./"), caseVariant("token"), fc.constantFrom("", "/", "/x", "s")).map(
  ([h, sep, t, tail]) => `/${h}${sep}${t}${tail}`,
);

const instancePathArb = fc.tuple(caseVariant("metadata"), fc.constantFrom("/instance", "/%69nstance", "/Instance/compute", "/instance/network/x", "\\instance")).map(([m, rest]) => `/${m}${rest}`);

const randomPathArb = fc.oneof(
  fc.stringMatching(/^\/[a-zA-Z0-9._~!$&'()*+,;=:@/%-]{0,40}$/),
  fc.string({ maxLength: 30, unit: "binary" }).map((s) => `/${s}`),
  fc.constantFrom("", "*", "http://169.254.169.254/metadata/identity/oauth2/token", "//metadata/identity/oauth2/token", "/metadata/versions", "/doesnotexist"),
);

const pathArb = fc.oneof(
  { weight: 5, arbitrary: tokenPathArb },
  { weight: 1, arbitrary: hostPathArb },
  { weight: 1, arbitrary: instancePathArb },
  { weight: 2, arbitrary: randomPathArb },
);

const queryValueArb = fc.oneof(
  fc.constantFrom("https%3A%2F%2Fmanagement.azure.com%2F", "https://vault.azure.net", "", "%zz", "%E0%A4", "a+b", "x%20"),
  fc.stringMatching(/^[a-zA-Z0-9%._~-]{0,20}$/),
);

const queryArb = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom("resource", "client_id", "msi_res_id", "mi_res_id", "object_id", "api-version", "Client_ID", "RESOURCE", "principal_id", "bypass_cache"),
        fc.stringMatching(/^[a-z_]{1,8}$/),
      ),
      queryValueArb,
      fc.boolean(),
    ),
    { maxLength: 5 },
  )
  .map((pairs) => pairs.map(([k, v, withEq]) => (withEq ? `${k}=${v}` : k)).join("&"));

const metadataHeaderArb: fc.Arbitrary<Record<string, string | string[]>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ Metadata: "true" }) },
  { weight: 3, arbitrary: fc.constantFrom<Record<string, string | string[]>>({}, { metadata: "True" }, { METADATA: "true" }, { Metadata: " true" }, { Metadata: "1" }, { Metadata: ["true", "true"] }, { Metadata: "" }) },
);

const extraHeaderArb: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Record<string, string>>(
      { "X-Forwarded-For": "10.9.9.9" },
      { "x-forwarded-for": "" },
      { Forwarded: "for=1.2.3.4" },
      { FORWARDED: "by=x" },
      { "X-Forwarded-Host": "evil" },
      { podns: "default", podname: "bound" },
      { podns: "default", podname: "ghost" },
      { podns: "default" },
      { "content-type": "application/json" },
      { "x-ms-client-request-id": "not a safe id \u0007" },
    ),
  },
  { weight: 1, arbitrary: fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,10}$/), fc.stringMatching(/^[ -~]{0,20}$/), { maxKeys: 3 }) },
);

const methodArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant("GET") },
  { weight: 3, arbitrary: fc.constantFrom("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "QUERY") },
);

// ── The world ──────────────────────────────────────────────────────────────────────────────────────────

interface FuzzApp {
  readonly app: NmiApp;
  readonly forwarded: ForwardRequest[];
  readonly byId: Map<string, ForwardRequest>;
  readonly logger: CountingLogger;
  readonly metrics: PromMetrics;
  readonly config: NmiConfig;
}

const clock = new VirtualClock();
const cluster = new FakeCluster({ clock });
const tokens = new FakeTokenSource({ clock });
/** Client ids each source IP may receive tokens for (`node` = the excepted pod's node identity). */
const allowedBySource = new Map<string, Set<string>>();
const nodeClientId = fakeGuid(`system-client/${fakeGuid("fuzz-node")}`);
const clientIds: string[] = [];
const apps: FuzzApp[] = [];
let total = 0;
let sequence = 0;
/** Responses by status code. */
const statuses = new Map<number, number>();
let tokensIssued = 0;

function fuzzApp(config: Partial<NmiConfigInput>): FuzzApp {
  const byId = new Map<string, ForwardRequest>();
  const forwarder = new RecordingForwarder((r) => {
    const id = r.headers[ID_HEADER];
    if (typeof id === "string") byId.set(id, r);
    return { status: r.target.length % 2 === 0 ? 200 : 404, headers: { "content-type": "text/plain" }, body: new TextEncoder().encode("from imds") };
  });
  const logger = new CountingLogger();
  const metrics = new PromMetrics(NMI_METRIC_DEFINITIONS);
  const full = defineNmiConfig({ nodeName: TEST_NODE, ...config });
  const { app } = createNmiServer(full, { kube: cluster, tokenSource: tokens, clock, logger, metrics, forwarder });
  app.addHook("onRequest", async (request) => {
    const raw = request.headers[RAW_TARGET_HEADER];
    if (typeof raw === "string") {
      request.raw.url = Buffer.from(raw, "base64").toString("latin1");
      delete request.raw.headers[RAW_TARGET_HEADER];
    }
  });
  return { app, forwarded: forwarder.requests, byId, logger, metrics, config: full };
}

beforeAll(() => {
  tokens.allowSystemAssigned(fakeGuid("fuzz-node"));
  const bound = bindPod({ cluster, tokens }, { pod: "bound", ip: "10.0.0.5", identity: "fuzz-a" });
  const created = bindPod({ cluster, tokens }, { pod: "pending-assignment", ip: "10.0.0.6", identity: "fuzz-b", status: "Created" });
  const second = bindPod({ cluster, tokens }, { pod: "second", ip: "10.0.0.7", identity: "fuzz-c" });
  cluster.apply("pods", makePod({ name: "unbound", ip: "10.0.0.8" }));
  cluster.apply("pods", makePod({ name: "excepted", ip: "10.0.0.9", labels: { role: "system" } }));
  cluster.apply("azurepodidentityexceptions", makeException("sys", "default", { role: "system" }));
  cluster.apply("pods", makePod({ name: "elsewhere", ip: "10.0.0.10", node: "other-node", selector: "fuzz-a-selector" }));
  allowedBySource.set("10.0.0.5", new Set([bound.identity.spec.clientID]));
  allowedBySource.set("10.0.0.6", new Set([created.identity.spec.clientID]));
  allowedBySource.set("10.0.0.7", new Set([second.identity.spec.clientID]));
  // An excepted pod talks to IMDS as if NMI were not there: the node identity, or any identity on the VM it names.
  allowedBySource.set("10.0.0.9", new Set([nodeClientId, bound.identity.spec.clientID, created.identity.spec.clientID, second.identity.spec.clientID]));
  clientIds.push(bound.identity.spec.clientID, created.identity.spec.clientID, second.identity.spec.clientID, fakeGuid("unknown-client"));
  // No waiting in a fuzz run: --set-retry-after-header answers "not assigned yet" with 503 at once.
  apps.push(fuzzApp({ setRetryAfterHeader: true }));
  apps.push(fuzzApp({ setRetryAfterHeader: true, hostToken: "unscoped", blockInstanceMetadata: true, metadataHeaderRequired: false, podRateLimitPerSecond: 0, bodyLimitBytes: 64 }));
});

afterAll(async () => {
  for (const a of apps) await a.app.close();
});

const requestArb = fc.record({
  app: fc.nat({ max: 1 }),
  method: methodArb as fc.Arbitrary<string>,
  path: pathArb,
  query: queryArb,
  selector: fc.option(fc.nat({ max: 3 }), { nil: undefined }),
  withQuery: fc.boolean(),
  metadata: metadataHeaderArb,
  extra: extraHeaderArb,
  source: fc.constantFrom<string>("10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9", "10.0.0.10", "10.0.0.99", "127.0.0.1", "::ffff:10.0.0.5", "::1", "", "garbage"),
  body: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
});

/** Mostly well-formed token requests (so many tokens are issued and checked), still with variations. */
const wellFormedArb: fc.Arbitrary<FuzzRequest> = fc.record({
  app: fc.nat({ max: 1 }),
  method: fc.constantFrom<string>("GET", "POST"),
  path: fc.constantFrom<string>("/metadata/identity/oauth2/token", "/metadata/identity/oauth2/token/", "/METADATA/identity/oauth2/token", "/host/token"),
  query: fc.constantFrom<string>("resource=https%3A%2F%2Fmanagement.azure.com%2F", "resource=https://vault.azure.net&api-version=2018-02-01", "api-version=2019-08-01&resource=api%3A%2F%2Fx"),
  selector: fc.option(fc.nat({ max: 3 }), { nil: undefined }),
  withQuery: fc.constant(true),
  metadata: fc.constant({ Metadata: "true" }),
  extra: fc.constantFrom<Record<string, string>>({}, { podns: "default", podname: "bound" }),
  source: fc.constantFrom<string>("10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8", "10.0.0.9", "127.0.0.1", "::ffff:10.0.0.7"),
  body: fc.constant(undefined),
});

const anyRequestArb: fc.Arbitrary<FuzzRequest> = fc.oneof({ weight: 3, arbitrary: requestArb }, { weight: 1, arbitrary: wellFormedArb });

type FuzzRequest = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

/** The raw target of a generated request. */
function targetOf(r: FuzzRequest): string {
  const selector = r.selector === undefined ? "" : `&client_id=${clientIds[r.selector] ?? ""}`;
  const query = r.withQuery ? `?${r.query}${selector}` : selector === "" ? "" : `?resource=x${selector}`;
  return `${r.path}${query}`;
}

/** A URL `inject` accepts for the same request (routing only; the hook restores the raw target). */
function injectableUrl(target: string): string {
  try {
    new URL(target, "http://localhost");
    return target.startsWith("/") && !target.startsWith("//") ? target : "/";
  } catch {
    return "/";
  }
}

const DOCUMENTED_5XX = new Set([500, 503]);

async function fire(r: FuzzRequest): Promise<void> {
  const world = apps[r.app];
  if (world === undefined) throw new Error("no app");
  const target = targetOf(r);
  const id = String(++sequence);
  const res = await world.app.inject({
    method: r.method as "GET",
    url: injectableUrl(target),
    headers: { ...r.metadata, ...r.extra, [ID_HEADER]: id, [RAW_TARGET_HEADER]: Buffer.from(target, "latin1").toString("base64") },
    remoteAddress: r.source,
    ...(r.body !== undefined && r.method !== "GET" && r.method !== "HEAD" ? { payload: r.body } : {}),
  });
  total += 1;
  const status = res.statusCode;
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  if (status >= 500) expect(DOCUMENTED_5XX.has(status), `${status} for ${r.method} ${JSON.stringify(target)}: ${res.body}`).toBe(true);
  const sent = world.byId.get(id);
  world.byId.delete(id);
  if (sent !== undefined) {
    expect(tokenLike(sent?.target ?? ""), `token-like target forwarded: ${JSON.stringify(sent?.target)}`).toBe(false);
    const names = Object.keys(sent?.headers ?? {}).map((n) => n.toLowerCase());
    expect(names.includes("x-forwarded-for") || names.includes("forwarded")).toBe(false);
    expect(res.body).toBe(r.method === "HEAD" ? "" : "from imds");
    return;
  }
  if (r.method === "HEAD") return;
  const body = JSON.parse(res.body) as Record<string, unknown>;
  if (status === 200) {
    const token = (typeof body["token"] === "object" ? (body["token"] as Record<string, unknown>) : body)["access_token"];
    expect(typeof token).toBe("string");
    tokensIssued += 1;
    const appid = decodeFakeJwt(String(token)).appid;
    const source = normalizeIpAddress(r.source) ?? "";
    const allowed = source === "127.0.0.1" && r.extra["podname"] === "bound" ? allowedBySource.get("10.0.0.5") : allowedBySource.get(source);
    expect(allowed?.has(String(appid)), `token for ${appid} handed to ${r.source}`).toBe(true);
    for (const v of Object.values(body["token"] ?? body)) expect(typeof v).toBe("string");
  } else {
    expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
    if (status === 500) expect(body["error"]).toBe("server_error");
    if (status === 503) expect(body["error"]).toBe("service_unavailable");
  }
}

describe("fuzz: generated requests through inject", () => {
  it(
    `${BATCH * RUNS} requests: no crash, only documented 5xx, nothing token-like forwarded, tokens only to their pods`,
    async () => {
      const started = performance.now();
      await fc.assert(
        fc.asyncProperty(fc.array(anyRequestArb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          // Virtual time moves while the batch runs, so the upstream budget's windows pass and queued calls start.
          let done = false;
          const pump = (async () => {
            while (!done) await clock.advanceAsync(100);
          })();
          try {
            await Promise.all(batch.map(fire));
          } finally {
            done = true;
            await pump;
          }
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
      const seconds = (performance.now() - started) / 1000;
      const byStatus = [...statuses].sort(([a], [b]) => a - b).map(([k, v]) => `${k}:${v}`).join(" ");
      console.log(`fuzz: ${total} requests in ${seconds.toFixed(1)} s (${Math.round(total / seconds)}/s); forwarded ${apps.map((a) => a.forwarded.length).join("+")}; tokens ${tokensIssued}; ${byStatus}`);
      expect(tokensIssued).toBeGreaterThan(500);
      expect(total).toBeGreaterThanOrEqual(100_000);
      // Every request wrote its audit record; label cardinality stayed bounded despite random paths.
      expect(apps.reduce((n, a) => n + a.logger.lines, 0)).toBeGreaterThanOrEqual(total);
      for (const a of apps) {
        const exposition = await a.metrics.registry.metrics();
        const series = exposition.split("\n").filter((l) => l.startsWith("aadpodidentity_nmi_operations_duration_seconds_count")).length;
        expect(series).toBeLessThan(200);
        expect(a.metrics.unknownNames()).toEqual([]);
      }
      // Some requests of every kind were exercised.
      expect(apps.every((a) => a.forwarded.length > 1000)).toBe(true);
    },
    180_000,
  );

  it("the oracle itself recognises the known tricks", () => {
    for (const t of ["/metadata/identity\\oauth2\\token", "/metadata/identity/%6fauth2/token", "/METADATA/IDENTITY/OAUTH2/TOKEN", "/metadata/identity/oauth2/ｔoken", "/host%2ftoken"]) {
      expect(tokenLike(t), t).toBe(true);
    }
    for (const t of ["/metadata/instance", "/metadata/versions?x=oauth2token", "/doesnotexist"]) expect(tokenLike(t), t).toBe(false);
  });
});
