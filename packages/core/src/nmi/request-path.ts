import { parseQuery, type QueryParams } from "./query.js";
import { percentDecode, percentEscapeAt } from "./percent-encoding.js";
import {
  INSTANCE_PATH_PREFIX,
  isCanonicalHostTokenPath,
  isCanonicalTokenPath,
  looksLikeHostTokenPath,
  looksLikeTokenPath,
} from "./token-path.js";

/**
 * Request-target canonicalisation and routing for NMI, done before any handler runs.
 *
 * The original routed with gorilla/mux prefixes and, after CVE-2022-23551 (a backslash in
 * `/metadata/identity\oauth2\token` skipped NMI and reached IMDS with the node's identities), added one
 * regex for look-alikes (PR #1325). podid instead refuses anything unusual outright: no legitimate IMDS
 * client sends backslashes, `//`, dot segments or encoded delimiters, so such requests are rejected on
 * every route, and any path that a lenient reader could take for a token path but that is not exactly
 * canonical is rejected — never forwarded.
 * @packageDocumentation
 */

/** Why a request target was refused (bounded set: safe as a metric label). */
export type PathRejection =
  /** Not origin-form (`/…`): absolute-form URLs, authority-form, `*`, empty. */
  | "notOriginForm"
  /** Control characters, spaces, `#` or raw non-ASCII in the target. */
  | "invalidCharacter"
  /** A `%` not followed by two hex digits. */
  | "invalidPercentEncoding"
  /** An escaped `/`, `\`, `.`, `%`, `?`, `#`, space or control character in the path. */
  | "encodedDelimiter"
  /**
   * An escaped non-ASCII byte in the path. Every IMDS path is ASCII; refusing these removes the whole class
   * of Unicode look-alikes (combining marks, full-width letters, compatibility forms) instead of trying to
   * guess how some server might fold them.
   */
  | "encodedNonAscii"
  /** A raw backslash in the path (the CVE-2022-23551 trick). */
  | "backslash"
  /** `//` somewhere in the path. */
  | "emptySegment"
  /** A `.` or `..` segment (also `..;x`). */
  | "dotSegment"
  /** Looks like the token path but is not exactly `/metadata/identity/oauth2/token[/]`. */
  | "nonCanonicalTokenPath"
  /** Looks like `/host/token` but is not exactly `/host/token[/]`. */
  | "nonCanonicalHostTokenPath"
  /** The token or host-token query string is not valid form encoding. */
  | "malformedQuery";

/** Where a request goes, decided from the raw request target alone. */
export type RequestRoute =
  /** The IMDS token endpoint, served by NMI. */
  | { readonly route: "token"; readonly query: QueryParams }
  /** The original's node-agent endpoint `/host/token`. */
  | { readonly route: "hostToken"; readonly query: QueryParams }
  /**
   * The instance-metadata API (`/metadata/instance…`, any case): forwarded to IMDS, or refused with
   * `--block-instance-metadata`. `target` is the path and query exactly as received.
   */
  | { readonly route: "instance"; readonly path: string; readonly target: string }
  /** Anything else: forwarded to IMDS unchanged (`target` = path and query as received). */
  | { readonly route: "proxy"; readonly path: string; readonly target: string }
  /** Refused with 400 "Invalid request". */
  | { readonly route: "rejected"; readonly reason: PathRejection };

/** True for characters that never belong in a request target: controls, space, DEL, non-ASCII, `#`. */
function hasInvalidCharacter(target: string): boolean {
  for (let i = 0; i < target.length; i += 1) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x23) return true;
  }
  return false;
}

/** Bytes that must not appear percent-encoded in a path: `/ \ . % ? #`, space and controls. */
function isSuspiciousEscapedByte(byte: number): boolean {
  return byte <= 0x20 || byte === 0x7f || byte === 0x2f || byte === 0x5c || byte === 0x2e || byte === 0x25 || byte === 0x3f || byte === 0x23;
}

/** The strict checks every path must pass, whatever its route; `undefined` when the path is clean. */
function strictPathProblem(path: string): PathRejection | undefined {
  if (path.includes("\\")) return "backslash";
  for (let i = path.indexOf("%"); i >= 0; i = path.indexOf("%", i + 1)) {
    const byte = percentEscapeAt(path, i);
    if (byte < 0) return "invalidPercentEncoding";
    if (isSuspiciousEscapedByte(byte)) return "encodedDelimiter";
    if (byte >= 0x80) return "encodedNonAscii";
  }
  const segments = path.slice(1).split("/");
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i];
    if (segment === "" && i < segments.length - 1) return "emptySegment";
    // `..;x` is `..` to servers that strip matrix parameters (Tomcat-style `/..;/` traversal).
    const bare = segment?.split(";")[0];
    if (bare === "." || bare === "..") return "dotSegment";
  }
  return undefined;
}

/** Parses the query of a token or host-token request; a bad query rejects the request. */
function withQuery(route: "token" | "hostToken", rawQuery: string): RequestRoute {
  const query = parseQuery(rawQuery);
  return query.ok ? { route, query: query.value } : { route: "rejected", reason: "malformedQuery" };
}

/**
 * Classifies a raw HTTP request target (`req.url`: path plus optional `?query`, never normalised by the
 * server first). Order: origin-form and character checks on the whole target; strict path checks
 * (backslash, bad or suspicious escapes, `//`, dot segments) that reject a path whatever route it would
 * take, since no IMDS client needs any of them; the exact token and host-token paths; look-alikes of either
 * → rejected; `/metadata/instance…` (case-insensitive after decoding, so `--block-instance-metadata`
 * cannot be dodged with `%69nstance`); everything else → proxy.
 *
 * Stricter than the original, deliberately: `/metadata/Identity/oauth2/token` (capital I) was proxied
 * there on the assumption that IMDS refuses it (`TestRouterPathPrefix`); here every case variant
 * except the `/metadata` segment is rejected, as are prefix matches such as `…/token/x` or `…/tokenX`
 * that gorilla/mux's `PathPrefix` sent to the token handler.
 */
export function classifyRequestPath(rawPathWithQuery: string): RequestRoute {
  const target = rawPathWithQuery;
  if (!target.startsWith("/")) return { route: "rejected", reason: "notOriginForm" };
  if (hasInvalidCharacter(target)) return { route: "rejected", reason: "invalidCharacter" };
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? "" : target.slice(q + 1);
  const problem = strictPathProblem(path);
  if (problem !== undefined) return { route: "rejected", reason: problem };
  if (isCanonicalTokenPath(path)) return withQuery("token", rawQuery);
  if (isCanonicalHostTokenPath(path)) return withQuery("hostToken", rawQuery);
  if (looksLikeTokenPath(path)) return { route: "rejected", reason: "nonCanonicalTokenPath" };
  if (looksLikeHostTokenPath(path)) return { route: "rejected", reason: "nonCanonicalHostTokenPath" };
  // Escapes left in a clean path are ASCII and not delimiters, so decoding cannot fail here.
  const decoded = percentDecode(path);
  const lower = (decoded.ok ? decoded.value : path).toLowerCase();
  if (lower.startsWith(INSTANCE_PATH_PREFIX)) return { route: "instance", path, target };
  return { route: "proxy", path, target };
}
