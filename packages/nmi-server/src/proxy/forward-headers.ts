/**
 * Which headers cross the proxy to IMDS and back. IMDS refuses requests carrying `X-Forwarded-For`
 * (ecosystem §1.1) — the SSRF defence that tells a workload's own request from one relayed by a proxy —
 * so NMI must never add or pass one, and hop-by-hop headers belong to each connection, not the message.
 * @packageDocumentation
 */

/** Request/response headers that describe one connection (RFC 9110 §7.6.1) and are never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Headers that say "this request was relayed"; stripped so IMDS sees the request as NMI's own. */
const RELAY_HEADERS = new Set(["forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "via"]);

/** Header values as Node reads and writes them. */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** Names listed in a `Connection` header (they are hop-by-hop for this message too). */
function connectionTokens(headers: HeaderBag): Set<string> {
  const out = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== "connection" || value === undefined) continue;
    for (const part of (Array.isArray(value) ? value : [String(value)]).join(",").split(",")) {
      const token = part.trim().toLowerCase();
      if (token !== "") out.add(token);
    }
  }
  return out;
}

/** Copies `headers` without the names in `drop` (compared lower-cased) and without empty values. */
function filtered(headers: HeaderBag, drop: (lowerName: string) => boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || drop(lower)) continue;
    out[lower] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

/**
 * The headers to send to IMDS: the pod's headers minus hop-by-hop, relay headers, `host` (set to the
 * metadata address by the client) and `content-length` (recomputed from the body that is actually sent).
 */
export function upstreamRequestHeaders(headers: HeaderBag): Record<string, string | string[]> {
  const listed = connectionTokens(headers);
  return filtered(headers, (h) => HOP_BY_HOP.has(h) || RELAY_HEADERS.has(h) || listed.has(h) || h === "host" || h === "content-length");
}

/** The headers to return to the pod: IMDS's minus hop-by-hop and `content-length` (recomputed). */
export function downstreamResponseHeaders(headers: HeaderBag): Record<string, string | string[]> {
  const listed = connectionTokens(headers);
  return filtered(headers, (h) => HOP_BY_HOP.has(h) || listed.has(h) || h === "content-length");
}
