/**
 * Test-only preload for CHILD processes: `NODE_OPTIONS=--import=<this file>` plus `PODID_TESTKIT_HOSTS`
 * (see `loopback-hosts.ts`) makes TLS connections to the listed real host names (e.g.
 * `*.vault.azure.net:443`) land on a loopback server, while SNI and the certificate check keep the real
 * name. An unmodified program — the Key Vault SDK with default options, `fetch`, `https.request` — then
 * talks to a fake (FakeKeyVault) exactly as it would to Azure, without `/etc/hosts` edits, root, or test
 * switches in the program. Only listed hosts are affected; everything else connects as usual.
 *
 * How: it wraps `tls.connect`, which `https` agents, `fetch` (undici) and `http2` all call at connection
 * time, and re-syncs the ESM named exports. A malformed `PODID_TESTKIT_HOSTS` stops the process with a
 * one-line message and exit code 2. FakeKeyVault's `childEnvironment()` sets all of this up. Why:
 * docs/adr/0020-fake-key-vault-under-real-host-names.md.
 * @packageDocumentation
 */
import { syncBuiltinESMExports } from "node:module";
import tls from "node:tls";
import { connectPort, findLoopbackHost, LOOPBACK_HOSTS_ENV, parseLoopbackHosts } from "./loopback-hosts.js";

type ConnectArgs = Parameters<typeof tls.connect>;

const parsed = parseLoopbackHosts(process.env[LOOPBACK_HOSTS_ENV] ?? "");
if (!parsed.ok) {
  process.stderr.write(`podid testkit loopback-hosts preload: ${LOOPBACK_HOSTS_ENV} is invalid: ${parsed.error}\n`);
  process.exit(2);
}
const mappings = parsed.value;

/** `tls.connect`'s overloads as one options object and a callback; `undefined` for the unix-socket form. */
function normalize(args: readonly unknown[]): { options: tls.ConnectionOptions; callback: (() => void) | undefined } | undefined {
  const [first, ...rest] = args;
  const callback = args.find((a): a is () => void => typeof a === "function");
  if (typeof first === "object" && first !== null) return { options: { ...(first as tls.ConnectionOptions) }, callback };
  if (typeof first !== "number" && !(typeof first === "string" && /^\d+$/.test(first))) return undefined;
  const options: tls.ConnectionOptions = { port: Number(first) };
  for (const arg of rest) {
    if (typeof arg === "string") options.host = arg;
    else if (typeof arg === "object" && arg !== null) Object.assign(options, arg, { port: options.port, ...(options.host !== undefined ? { host: options.host } : {}) });
  }
  return { options, callback };
}

const originalConnect = tls.connect;

function connectThroughLoopback(...args: ConnectArgs): tls.TLSSocket {
  const call = normalize(args);
  // An already-connected socket (a proxy tunnel) or a unix socket is left alone.
  // (Agents pass `path: null` and undici `socket: undefined`, so only real values count.)
  if (call === undefined || call.options.socket != null || (typeof call.options.path === "string" && call.options.path !== "")) return originalConnect(...args);
  const host = call.options.host ?? "localhost";
  const mapping = findLoopbackHost(mappings, host, connectPort(call.options.port));
  if (mapping === undefined) return originalConnect(...args);
  const options: tls.ConnectionOptions = {
    ...call.options,
    host: mapping.targetHost,
    port: mapping.targetPort,
    servername: call.options.servername ?? host,
  };
  return call.callback === undefined ? originalConnect(options) : originalConnect(options, call.callback);
}

tls.connect = connectThroughLoopback as typeof tls.connect;
syncBuiltinESMExports();
