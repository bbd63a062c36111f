/**
 * IP address canonicalisation for caller attribution: the source address of a connection and the pod
 * IPs in the API must compare equal whenever they denote the same address.
 * @packageDocumentation
 */

/**
 * The four octets of a dotted quad, or `undefined` (leading zeros are refused: `010` could be octal). One pass
 * over the characters without splitting or regular expressions: attribution parses the source address of every
 * token request. An accepted text is exactly its octets joined by dots.
 */
function parseIpv4(text: string): number[] | undefined {
  const out: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i += 1) {
    // The end of the text closes the last octet like a dot does.
    const code = i === text.length ? DOT : text.charCodeAt(i);
    if (code === DOT) {
      if (digits === 0 || out.length === 4) return undefined;
      out.push(value);
      value = 0;
      digits = 0;
    } else if (code >= DIGIT_0 && code <= DIGIT_9) {
      if (digits > 0 && value === 0) return undefined;
      value = value * 10 + (code - DIGIT_0);
      digits += 1;
      if (value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return out.length === 4 ? out : undefined;
}

const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** The eight 16-bit groups of an IPv6 address, or `undefined`. */
function parseIpv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string, allowV4Tail: boolean): number[] | undefined => {
    if (part === "") return [];
    const pieces = part.split(":");
    const groups: number[] = [];
    for (let i = 0; i < pieces.length; i += 1) {
      const piece = pieces[i] ?? "";
      if (allowV4Tail && i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (v4 === undefined) return undefined;
        groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined;
        groups.push(parseInt(piece, 16));
      }
    }
    return groups;
  };
  if (halves.length === 1) {
    const groups = parseGroups(text, true);
    return groups !== undefined && groups.length === 8 ? groups : undefined;
  }
  const head = parseGroups(halves[0] ?? "", false);
  const tail = parseGroups(halves[1] ?? "", true);
  if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** RFC 5952 text of eight groups: lower-case hex, the longest run (≥ 2) of zero groups as `::`. */
function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLength < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/**
 * The canonical text of an IP address, or `undefined` when `address` is not one: IPv4 as a dotted quad;
 * IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a dual-stack socket reports for an IPv4 peer) folded to
 * plain IPv4; other IPv6 in RFC 5952 form. Brackets and a zone id (`%eth0`) are dropped. The original
 * split `RemoteAddr` at the first colon, so IPv6 callers got an empty address and a 500; podid handles them.
 */
export function normalizeIpAddress(address: string): string | undefined {
  const known = canonical.get(address);
  if (known !== undefined || canonical.has(address)) return known;
  const value = canonicalText(address);
  // Bounded: a flood of distinct addresses only costs parsing them again, never memory.
  if (canonical.size >= MAX_REMEMBERED_ADDRESSES) canonical.clear();
  canonical.set(address, value);
  return value;
}

/**
 * Canonical forms already worked out. NMI attributes every decided request by its source address and the
 * candidate pod's addresses: a node's few hundred addresses, parsed once each instead of on every request.
 */
const canonical = new Map<string, string | undefined>();
const MAX_REMEMBERED_ADDRESSES = 4096;

/** {@link normalizeIpAddress} without the memo. */
function canonicalText(address: string): string | undefined {
  let text = address;
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const zone = text.indexOf("%");
  if (zone >= 0 && text.includes(":")) text = text.slice(0, zone);
  if (text === "") return undefined;
  if (!text.includes(":")) {
    // An accepted dotted quad is already canonical (see parseIpv4).
    return parseIpv4(text) === undefined ? undefined : text;
  }
  const groups = parseIpv6(text);
  if (groups === undefined) return undefined;
  const isMapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (isMapped) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return formatIpv6(groups);
}

/** The only address `/host/token` accepts callers from (the original: "request remote address is not from a host"). */
export const HOST_CALLER_ADDRESS = "127.0.0.1";

/** True when `address` is IPv4 loopback `127.0.0.1` (also as `::ffff:127.0.0.1`). */
export function isHostCallerAddress(address: string): boolean {
  return normalizeIpAddress(address) === HOST_CALLER_ADDRESS;
}
