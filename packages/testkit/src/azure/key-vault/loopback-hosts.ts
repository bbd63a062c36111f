/**
 * The host map behind {@link LoopbackHostsAgent} and the child-process preload
 * (`loopback-hosts-preload.ts`): which real host names (exact, or `*.` + a DNS suffix) on which port are
 * answered by a server on loopback. Only node: imports, because the preload loads it before the program.
 *
 * Wire form (the `PODID_TESTKIT_HOSTS` variable): comma-separated `<host pattern>:<port>=<ip>:<port>`, e.g.
 * `*.vault.azure.net:443=127.0.0.1:40123`.
 * @packageDocumentation
 */

/** Environment variable holding the host map for the preload. */
export const LOOPBACK_HOSTS_ENV = "PODID_TESTKIT_HOSTS";

/** One redirect: connections to `pattern:port` go to `targetHost:targetPort` instead. */
export interface LoopbackHostMapping {
  /** An exact host name (`demo-kv.vault.azure.net`) or `*.` + a suffix (`*.vault.azure.net`, one label or more). */
  readonly pattern: string;
  readonly port: number;
  /** A loopback address: the map never sends traffic anywhere else. */
  readonly targetHost: string;
  readonly targetPort: number;
}

const HOST_PATTERN = /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)$/;

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Splits `host:port` (IPv6 literals in brackets). */
function splitHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (match === null) return undefined;
  const port = parsePort(match[2] ?? "");
  if (port === undefined) return undefined;
  return { host: (match[1] ?? "").replace(/^\[|\]$/g, ""), port };
}

/** Formats mappings as the `PODID_TESTKIT_HOSTS` value. */
export function formatLoopbackHosts(mappings: readonly LoopbackHostMapping[]): string {
  return mappings
    .map((m) => `${m.pattern}:${m.port}=${m.targetHost.includes(":") ? `[${m.targetHost}]` : m.targetHost}:${m.targetPort}`)
    .join(",");
}

/** Parses a `PODID_TESTKIT_HOSTS` value; the error names the entry that is wrong and why. */
export function parseLoopbackHosts(text: string): { ok: true; value: LoopbackHostMapping[] } | { ok: false; error: string } {
  const mappings: LoopbackHostMapping[] = [];
  for (const entry of text.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
    const [from, to, extra] = entry.split("=");
    const source = splitHostPort(from ?? "");
    const target = splitHostPort(to ?? "");
    if (extra !== undefined || source === undefined || target === undefined) {
      return { ok: false, error: `"${entry}" is not <host>:<port>=<loopback ip>:<port>` };
    }
    const pattern = source.host.toLowerCase();
    if (!HOST_PATTERN.test(pattern)) return { ok: false, error: `"${entry}": "${source.host}" is not a DNS name or *.<suffix>` };
    if (!LOOPBACK.test(target.host)) return { ok: false, error: `"${entry}": the target ${target.host} is not a loopback address` };
    mappings.push({ pattern, port: source.port, targetHost: target.host, targetPort: target.port });
  }
  return { ok: true, value: mappings };
}

/** The mapping for a connection to `host:port`, if any (host names compare case-insensitively). */
export function findLoopbackHost(mappings: readonly LoopbackHostMapping[], host: string | undefined, port: number): LoopbackHostMapping | undefined {
  if (host === undefined || host === "") return undefined;
  const name = host.toLowerCase().replace(/\.$/, "");
  return mappings.find((m) => m.port === port && (m.pattern.startsWith("*.") ? name.endsWith(m.pattern.slice(1)) && name.length > m.pattern.length - 1 : name === m.pattern));
}

/** The `port` of a `tls.connect` / agent options object: a number, a numeric string, or the HTTPS default. */
export function connectPort(port: unknown): number {
  if (typeof port === "number") return port;
  if (typeof port === "string" && port !== "") return Number(port);
  return 443;
}
