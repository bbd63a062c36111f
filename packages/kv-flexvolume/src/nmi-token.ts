/**
 * The pod's Key Vault token from NMI, as the original driver asked for it: `GET
 * http://127.0.0.1:<port>/host/token/?resource=<resource>` (resource not URL-encoded, trailing slash on the path),
 * headers `podns`/`podname`, no `Metadata` header; up to 5 attempts a fixed interval apart (NMI answers 404
 * until MIC has assigned the pod's identity). docs: packages/kv-flexvolume/README.md ("How the token is obtained").
 */
import { request } from "node:http";
import type { DriverLog } from "./log.js";
import { fail, ok, type Result } from "./result.js";

/** A token NMI issued for the pod. */
export interface NmiToken {
  readonly accessToken: string;
  /** Expiry in epoch milliseconds. */
  readonly expiresOnMs: number;
  /** The client id of the identity the token is for. */
  readonly clientId: string;
}

/** Where and for whom to ask. */
export interface NmiTokenRequest {
  readonly port: number;
  readonly resource: string;
  readonly podNamespace: string;
  readonly podName: string;
}

/** How often and how far apart to ask. */
export interface NmiRetryPolicy {
  readonly attempts: number;
  readonly intervalMs: number;
  /** One attempt's deadline. */
  readonly attemptTimeoutMs: number;
}

/** The original driver's budget: 5 attempts, 7 s apart (about the time MIC needs to assign an identity). */
export const ORIGINAL_RETRY_POLICY: NmiRetryPolicy = { attempts: 5, intervalMs: 7000, attemptTimeoutMs: 10_000 };

/** The retry policy with the interval from `PODID_KV_TOKEN_RETRY_MS` (tests shorten it), else the original's. */
export function retryPolicyFromEnv(value: string | undefined): Result<NmiRetryPolicy> {
  if (value === undefined || value.trim() === "") return ok(ORIGINAL_RETRY_POLICY);
  if (!/^\d{1,7}$/.test(value.trim())) return fail(`environment variable PODID_KV_TOKEN_RETRY_MS must be a number of milliseconds, got ${JSON.stringify(value)}`);
  return ok({ ...ORIGINAL_RETRY_POLICY, intervalMs: Number(value.trim()) });
}

/** The request path, byte for byte as the original sent it. */
export function hostTokenPath(resource: string): string {
  return `/host/token/?resource=${resource}`;
}

const NUMERIC = /^\d+(\.\d+)?$/;

/** Decodes NMI's 200 body `{"token": {access_token, expires_on, …}, "clientid": "…"}`. */
export function decodeHostTokenBody(body: string): Result<NmiToken> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return fail("NMI's token answer is not JSON");
  }
  if (!isRecord(parsed) || !isRecord(parsed["token"])) return fail(`NMI's token answer has no "token" object`);
  const token = parsed["token"];
  const accessToken = token["access_token"];
  if (typeof accessToken !== "string" || accessToken === "") return fail("NMI's token answer has an empty token.access_token");
  const expiresOn = token["expires_on"];
  const expiresText = typeof expiresOn === "number" ? String(expiresOn) : expiresOn;
  if (typeof expiresText !== "string" || !NUMERIC.test(expiresText.trim())) return fail("NMI's token answer has no numeric token.expires_on");
  const clientId = parsed["clientid"];
  if (typeof clientId !== "string" || clientId === "") return fail(`NMI's token answer has an empty "clientid"`);
  return ok({ accessToken, expiresOnMs: Math.floor(Number(expiresText.trim()) * 1000), clientId });
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

function askOnce(req: NmiTokenRequest, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = request(
      { host: "127.0.0.1", port: req.port, method: "GET", path: hostTokenPath(req.resource), headers: { podns: req.podNamespace, podname: req.podName }, timeout: timeoutMs, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", reject);
      },
    );
    call.on("timeout", () => call.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    call.on("error", reject);
    call.end();
  });
}

/** A short, single-line excerpt of an error body for messages (NMI's error bodies carry no token). */
function excerpt(body: string): string {
  const line = body.replace(/\s+/g, " ").trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Asks NMI for the pod's token, retrying non-200 answers and connection errors. */
export async function fetchNmiToken(req: NmiTokenRequest, policy: NmiRetryPolicy, log: DriverLog): Promise<Result<NmiToken>> {
  let last = "";
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    try {
      const answer = await askOnce(req, policy.attemptTimeoutMs);
      if (answer.status === 200) {
        const token = decodeHostTokenBody(answer.body);
        if (token.ok) log.info({ attempt, clientId: token.value.clientId, expiresOn: new Date(token.value.expiresOnMs).toISOString() }, "NMI issued the pod's token");
        return token;
      }
      last = `HTTP ${answer.status}${answer.body.trim() === "" ? "" : `: ${excerpt(answer.body)}`}`;
    } catch (error) {
      last = `no answer (${error instanceof Error ? error.message : String(error)})`;
    }
    log.warn({ attempt, of: policy.attempts, port: req.port, answer: last }, "NMI gave no token");
    if (attempt < policy.attempts) await new Promise((resolve) => setTimeout(resolve, policy.intervalMs));
  }
  return fail(
    `NMI on 127.0.0.1:${req.port} gave no token for pod ${req.podNamespace}/${req.podName} after ${policy.attempts} attempts ${policy.intervalMs} ms apart; last answer ${last} (is the pod's identity bound and assigned? is NMI's host token endpoint enabled?)`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
