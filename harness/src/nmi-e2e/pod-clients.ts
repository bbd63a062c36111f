import { createRequire } from "node:module";
import type { NetnsHandle } from "@podid/testkit";

/**
 * Unmodified clients run INSIDE a pod namespace against the metadata address, as a workload would: the
 * `curl` binary, a raw TCP socket (for request targets no HTTP client library sends), and a Node script
 * using `@azure/identity`'s `ManagedIdentityCredential`. Every one runs with an environment holding only
 * `PATH`: no `AZURE_POD_IDENTITY_AUTHORITY_HOST`, no `MSI_ENDPOINT`, no proxy — the pod simply calls
 * 169.254.169.254 and the node's iptables decide where that goes.
 * @packageDocumentation
 */

/** The address every pod believes is IMDS. */
export const METADATA_ADDRESS = "169.254.169.254";

const CLEAN_ENV = (): NodeJS.ProcessEnv => ({ PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin" });

/** What `curl` saw. */
export interface CurlOutcome {
  /** curl's exit code: 0 a response arrived, 7 could not connect (refused), 28 timeout, 52/56 empty reply/reset. */
  readonly exitCode: number | null;
  /** The HTTP status, when a response arrived. */
  readonly status?: number;
  readonly body: string;
  /** The body parsed as JSON, when it is JSON. */
  readonly json?: Record<string, unknown>;
  /** curl's `time_total` in ms. */
  readonly ms: number;
  readonly stderr: string;
}

/** Options of {@link curlMetadata}. */
export interface CurlOptions {
  /** Request headers (default `Metadata: true`; pass `{}` for none). */
  readonly headers?: Readonly<Record<string, string>>;
  /** `--max-time` in seconds (default 5). */
  readonly maxTimeSeconds?: number;
  readonly method?: string;
}

/**
 * `curl -sS --path-as-is <http://169.254.169.254><target>` from `pod`: the target is sent exactly as
 * given (no dot-segment squashing), so path tricks reach the wire unchanged.
 */
export async function curlMetadata(pod: NetnsHandle, target: string, options: CurlOptions = {}): Promise<CurlOutcome> {
  const marker = "\n__podid_curl__:";
  const headers = options.headers ?? { Metadata: "true" };
  const seconds = options.maxTimeSeconds ?? 5;
  const argv = [
    "curl",
    "-sS",
    "--path-as-is",
    "--max-time",
    String(seconds),
    ...(options.method !== undefined ? ["-X", options.method] : []),
    ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]),
    "-w",
    `${marker}%{http_code} %{time_total}`,
    `http://${METADATA_ADDRESS}${target}`,
  ];
  const result = await pod.exec(argv, { timeoutMs: seconds * 1000 + 5_000, env: CLEAN_ENV() });
  const at = result.stdout.lastIndexOf(marker);
  const body = at >= 0 ? result.stdout.slice(0, at) : result.stdout;
  const [code, total] = (at >= 0 ? result.stdout.slice(at + marker.length) : "").trim().split(" ");
  const status = Number(code ?? "0");
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === "object" && parsed !== null) json = parsed as Record<string, unknown>;
  } catch {
    // Not JSON.
  }
  return {
    exitCode: result.exitCode,
    ...(status > 0 ? { status } : {}),
    body,
    ...(json !== undefined ? { json } : {}),
    ms: Math.round(Number(total ?? "0") * 1000),
    stderr: result.stderr,
  };
}

/** The token path with a query (`api-version=2018-02-01`, `resource`, extra parameters). */
export function tokenTarget(resource: string, extra: Readonly<Record<string, string>> = {}): string {
  const query = new URLSearchParams({ "api-version": "2018-02-01", resource, ...extra });
  return `/metadata/identity/oauth2/token?${query.toString()}`;
}

/** What a raw TCP exchange produced. */
export type RawOutcome =
  | { readonly outcome: "response"; readonly statusLine: string; readonly status: number; readonly body: string; readonly raw: string }
  | { readonly outcome: "refused" | "reset" | "timeout" | "closed" }
  | { readonly outcome: "error"; readonly code: string; readonly message: string };

const RAW_CLIENT = `
const net = require("node:net");
const o = JSON.parse(process.argv[1]);
let data = "";
let finished = false;
const done = (r) => { if (finished) return; finished = true; process.stdout.write(JSON.stringify(r)); process.exit(0); };
setTimeout(() => done({ outcome: data === "" ? "timeout" : "partial", raw: data }), o.timeoutMs).unref();
const socket = net.connect({ host: o.host, port: o.port });
socket.setEncoding("latin1");
socket.on("connect", () => socket.write(Buffer.from(o.request, "latin1")));
socket.on("data", (c) => { data += c; });
socket.on("end", () => done({ outcome: data === "" ? "closed" : "raw", raw: data }));
socket.on("error", (e) => done(data !== "" ? { outcome: "raw", raw: data } : { outcome: "error", code: e.code || "", message: e.message }));
`;

/**
 * Writes `request` (a whole HTTP/1.1 request, sent byte for byte) to 169.254.169.254:80 from `pod` over a
 * plain TCP socket and returns what came back. Used for request targets curl and Node's client would
 * refuse or rewrite (absolute-form, raw spaces, bytes ≥ 0x80, …).
 */
export async function rawRequestFrom(pod: NetnsHandle, request: string, timeoutMs = 3_000): Promise<RawOutcome> {
  const options = { host: METADATA_ADDRESS, port: 80, request, timeoutMs };
  const result = await pod.runNode(RAW_CLIENT, [JSON.stringify(options)], { timeoutMs: timeoutMs + 5_000, env: CLEAN_ENV() });
  if (result.exitCode !== 0) return { outcome: "error", code: "HARNESS", message: result.stderr.trim() };
  const parsed = JSON.parse(result.stdout) as { outcome: string; raw?: string; code?: string; message?: string };
  if (parsed.outcome === "raw" || parsed.outcome === "partial") {
    const raw = parsed.raw ?? "";
    const statusLine = raw.split("\r\n")[0] ?? "";
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? "0");
    const split = raw.indexOf("\r\n\r\n");
    return { outcome: "response", statusLine, status, body: split >= 0 ? raw.slice(split + 4) : "", raw };
  }
  if (parsed.outcome === "error") {
    if (parsed.code === "ECONNREFUSED") return { outcome: "refused" };
    if (parsed.code === "ECONNRESET") return { outcome: "reset" };
    return { outcome: "error", code: parsed.code ?? "", message: parsed.message ?? "" };
  }
  return { outcome: parsed.outcome as "timeout" | "closed" };
}

/** A GET request for {@link rawRequestFrom} with `Metadata: true` and `Connection: close`. */
export function rawGet(target: string, headers: Readonly<Record<string, string>> = { Metadata: "true" }): string {
  const lines = [`GET ${target} HTTP/1.1`, `Host: ${METADATA_ADDRESS}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), "Connection: close"];
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/** What `ManagedIdentityCredential.getToken` gave. */
export type SdkOutcome =
  | { readonly ok: true; readonly token: string; readonly expiresOnTimestamp: number; readonly ms: number }
  | { readonly ok: false; readonly name: string; readonly message: string; readonly ms: number };

const SDK_CLIENT = `
const { ManagedIdentityCredential } = require(process.argv[1]);
const o = JSON.parse(process.argv[2]);
const started = Date.now();
const out = (r) => { process.stdout.write(JSON.stringify({ ...r, ms: Date.now() - started })); process.exit(0); };
const credential = o.clientId === undefined ? new ManagedIdentityCredential() : new ManagedIdentityCredential({ clientId: o.clientId });
credential
  .getToken(o.scope, { abortSignal: AbortSignal.timeout(o.timeoutMs) })
  .then((t) => out({ ok: true, token: t.token, expiresOnTimestamp: t.expiresOnTimestamp }), (e) => out({ ok: false, name: String(e && e.name), message: String(e && e.message) }));
`;

const AZURE_IDENTITY = createRequire(import.meta.url).resolve("@azure/identity");

/**
 * Runs a Node script in `pod` that does what an application does: `new ManagedIdentityCredential()` (or
 * with `{ clientId }`) and `getToken(scope)`, with no environment but `PATH`. The SDK probes and calls
 * http://169.254.169.254 itself.
 */
export async function sdkTokenFrom(pod: NetnsHandle, scope: string, options: { readonly clientId?: string; readonly timeoutMs?: number } = {}): Promise<SdkOutcome> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const args = { scope, timeoutMs, ...(options.clientId !== undefined ? { clientId: options.clientId } : {}) };
  // The SDK's own retry sleeps (MSAL backs off on IMDS 404s for many seconds) ignore the abort signal,
  // so the process is also killed a little after the deadline.
  const result = await pod.runNode(SDK_CLIENT, [AZURE_IDENTITY, JSON.stringify(args)], { timeoutMs: timeoutMs + 3_000, env: CLEAN_ENV() });
  if (result.timedOut) return { ok: false, name: "Timeout", message: `no token within ${String(timeoutMs + 3_000)} ms`, ms: timeoutMs + 3_000 };
  if (result.exitCode !== 0 || result.stdout === "") {
    return { ok: false, name: "HarnessError", message: `sdk client failed (${String(result.exitCode ?? result.signal)}): ${result.stderr.trim()}`, ms: 0 };
  }
  return JSON.parse(result.stdout) as SdkOutcome;
}

/** One request of a {@link MetadataProber}. */
export interface ProbeRecord {
  /** Epoch ms when the request was sent. */
  readonly at: number;
  readonly outcome: "response" | "error" | "timeout";
  readonly status?: number;
  /** Error code (`ECONNREFUSED`, `ECONNRESET`, …). */
  readonly code?: string;
  /** Claims of a returned token that say whose it is. */
  readonly appid?: string;
  readonly xms_mirid?: string;
}

const PROBER = `
const http = require("node:http");
const o = JSON.parse(process.argv[1]);
let stopped = false;
process.on("SIGTERM", () => { stopped = true; });
const claims = (body) => {
  try {
    const token = JSON.parse(body).access_token;
    const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
    return { appid: payload.appid, xms_mirid: payload.xms_mirid };
  } catch { return {}; }
};
const once = () => new Promise((resolve) => {
  const at = Date.now();
  const req = http.get({ host: o.host, port: 80, path: o.path, headers: { Metadata: "true" }, agent: false, timeout: 2000 }, (res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (c) => { body += c; });
    res.on("end", () => resolve({ at, outcome: "response", status: res.statusCode, ...claims(body) }));
    res.on("error", (e) => resolve({ at, outcome: "error", code: e.code || "" }));
  });
  req.on("timeout", () => { req.destroy(); resolve({ at, outcome: "timeout" }); });
  req.on("error", (e) => resolve({ at, outcome: "error", code: e.code || "" }));
});
(async () => {
  const until = Date.now() + o.maxMs;
  for (let i = 0; i < o.maxCount && !stopped && Date.now() < until; i++) {
    console.log(JSON.stringify(await once()));
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  process.exit(0);
})();
`;

/**
 * A pod that keeps asking 169.254.169.254 for a token (a fresh connection every `intervalMs`, bounded in
 * count and time) while a test kills, stops or restarts NMI, recording every outcome — so a test can say
 * what the pod saw at EVERY moment, not only at the moments it chose to look.
 */
export class MetadataProber {
  readonly #proc: ReturnType<NetnsHandle["spawnNode"]>;

  private constructor(proc: ReturnType<NetnsHandle["spawnNode"]>) {
    this.#proc = proc;
  }

  /**
   * Starts probing from `pod` (default every 100 ms, at most 60 s and 600 requests; NMI's per-pod limit of
   * 5/s with a burst of 20 leaves room for a few seconds of this).
   */
  static start(pod: NetnsHandle, path: string, options: { readonly intervalMs?: number; readonly maxMs?: number; readonly maxCount?: number } = {}): MetadataProber {
    const args = { host: METADATA_ADDRESS, path, intervalMs: options.intervalMs ?? 100, maxMs: options.maxMs ?? 60_000, maxCount: options.maxCount ?? 600 };
    return new MetadataProber(pod.spawnNode(PROBER, [JSON.stringify(args)], CLEAN_ENV()));
  }

  /** What was seen so far. */
  records(): readonly ProbeRecord[] {
    return this.#proc
      .lines()
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as ProbeRecord);
  }

  /** Stops probing (after the request in flight) and returns every record. */
  async stop(): Promise<readonly ProbeRecord[]> {
    await this.#proc.stop("SIGTERM", 5_000);
    return this.records();
  }
}
