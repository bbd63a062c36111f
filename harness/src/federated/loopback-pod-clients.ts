import { execFile, spawn } from "node:child_process";
import { createRequire } from "node:module";

/**
 * A pod's clients on loopback: NMI runs with `--interception=none` and tells pods apart by source address, so a
 * "pod" is a process whose connections leave from its pod IP (127.0.x.y). The app is an unmodified Node
 * script — `new ManagedIdentityCredential()` and `getToken` — with an environment holding only `PATH` and the
 * pod-identity endpoint (`AZURE_POD_IDENTITY_AUTHORITY_HOST`, which points the SDK at the node's NMI instead of
 * the metadata address no iptables redirects here); a preload gives its sockets the pod's source address, as
 * the pod's network namespace would. curl uses `--interface`.
 * @packageDocumentation
 */

const AZURE_IDENTITY = createRequire(import.meta.url).resolve("@azure/identity");

/** The pod's network: every HTTP connection leaves from the pod's IP (what its namespace would do). */
const sourceAddressPreload = (ip: string) =>
  `data:text/javascript,${encodeURIComponent(
    `import http from "node:http"; const connect = http.Agent.prototype.createConnection; http.Agent.prototype.createConnection = function (o, cb) { return connect.call(this, { ...o, localAddress: ${JSON.stringify(ip)} }, cb); };`,
  )}`;

const APP = `
const { ManagedIdentityCredential } = require(process.argv[1]);
const started = Date.now();
const out = (r) => { process.stdout.write(JSON.stringify({ ...r, ms: Date.now() - started })); process.exit(0); };
new ManagedIdentityCredential()
  .getToken(process.argv[2], { abortSignal: AbortSignal.timeout(Number(process.argv[3])) })
  .then((t) => out({ ok: true, token: t.token }), (e) => out({ ok: false, name: String(e && e.name), message: String(e && e.message) }));
`;

/** What the app's `getToken` gave; `ms` is the call itself (after the SDK loaded). */
export type AppOutcome = { readonly ok: true; readonly token: string; readonly ms: number } | { readonly ok: false; readonly name: string; readonly message: string; readonly ms: number };

/** Runs the app in pod `podIp` against the NMI on `nmiPort`; resolves with its outcome (never rejects). */
export function appGetsToken(podIp: string, nmiPort: number, scope = "https://vault.azure.net/.default", timeoutMs = 15_000): Promise<AppOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", sourceAddressPreload(podIp), "-e", APP, AZURE_IDENTITY, scope, String(timeoutMs)], {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${nmiPort}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    // The SDK's own retry sleeps ignore the abort signal: the process is killed a little after the deadline.
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs + 3_000);
    child.on("exit", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout) as AppOutcome);
      } catch {
        resolve({ ok: false, name: "HarnessError", message: `app failed: ${stderr.trim().slice(-500)}`, ms: 0 });
      }
    });
  });
}

/** What curl got. */
export interface CurlResult {
  readonly status: number;
  readonly body: string;
  readonly json: Record<string, unknown> | undefined;
}

/** `curl --interface <podIp>` for a token from the NMI on `nmiPort`, with `Metadata: true`. */
export function curlToken(podIp: string, nmiPort: number, resource = "https://vault.azure.net"): Promise<CurlResult> {
  const url = `http://127.0.0.1:${nmiPort}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent(resource)}`;
  return new Promise((resolve, reject) => {
    execFile("curl", ["-sS", "--max-time", "20", "--interface", podIp, "-H", "Metadata: true", "-w", "\n%{http_code}", url], { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } }, (error, stdout, stderr) => {
      if (error !== null && stdout === "") return reject(new Error(`curl failed: ${stderr}`));
      const at = stdout.lastIndexOf("\n");
      const body = stdout.slice(0, at);
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ status: Number(stdout.slice(at + 1)), body, json });
    });
  });
}

/** The claims of a (fake, unsigned) access token. */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}
