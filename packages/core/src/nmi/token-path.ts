import { lenientPercentDecode } from "./percent-encoding.js";

/**
 * The paths NMI serves itself, and the lenient "does this look like one of them?" test used to
 * refuse near misses instead of forwarding them to IMDS.
 * @packageDocumentation
 */

/** The IMDS managed-identity token path (only the `/metadata` segment may vary in case). */
export const TOKEN_PATH = "/metadata/identity/oauth2/token";
/** The node-agent token path of the original (`/host/token`, headers `podns`/`podname`). */
export const HOST_TOKEN_PATH = "/host/token";
/** Prefix of the instance-metadata API (blocked with `--block-instance-metadata`). */
export const INSTANCE_PATH_PREFIX = "/metadata/instance";

/**
 * True when `path` (no query) is exactly the token path: `/metadata` in any case — IMDS treats that
 * segment case-insensitively and the original accepted it (`tokenPathPrefix`) — then
 * `/identity/oauth2/token` exactly, then at most one trailing slash (the Azure SDK sends
 * `/metadata/identity/oauth2/token/`). Percent-escapes anywhere make it non-canonical.
 */
export function isCanonicalTokenPath(path: string): boolean {
  if (path.length < 9 || path.slice(0, 9).toLowerCase() !== "/metadata") return false;
  const rest = path.slice(9);
  return rest === "/identity/oauth2/token" || rest === "/identity/oauth2/token/";
}

/** True when `path` (no query) is exactly `/host/token` or `/host/token/` (lower case, as the original's router). */
export function isCanonicalHostTokenPath(path: string): boolean {
  return path === HOST_TOKEN_PATH || path === `${HOST_TOKEN_PATH}/`;
}

/** Rounds of percent-decoding applied by {@link lenientNormalizePath} (catches `%252e`-style double encoding). */
const MAX_DECODE_ROUNDS = 4;

/** Choices a lenient server may make differently; {@link looksLikeTokenPath} tries every combination. */
export interface LenientReading {
  /** Unicode compatibility form: NFKC composes, NFKD splits base letters from combining marks (default NFKC). */
  readonly form?: "NFKC" | "NFKD";
  /** Whether `;parameters` are cut from segments (default true). */
  readonly stripParameters?: boolean;
}

/**
 * A deliberately over-eager normalisation of a request path, used only to recognise token-path look-alikes:
 * lower-case, percent-decode repeatedly (invalid escapes kept), Unicode compatibility normalisation (both
 * forms fold full-width letters to ASCII), `\` → `/`, optionally cut `;parameters` from each segment
 * (servlet-style matrix parameters), trim whitespace around segments, collapse runs of `/`, resolve `.` and
 * `..` segments, drop a trailing `/`. That is what a lenient server (or IMDS, or anything between) might make
 * of the path — so that whatever any of them could read as the token path is caught before forwarding.
 */
export function lenientNormalizePath(path: string, reading: LenientReading = {}): string {
  const form = reading.form ?? "NFKC";
  const stripParameters = reading.stripParameters ?? true;
  let text = path;
  for (let round = 0; round < MAX_DECODE_ROUNDS; round += 1) {
    const decoded = lenientPercentDecode(text);
    if (decoded === text) break;
    text = decoded;
  }
  text = text.normalize(form).toLowerCase().replaceAll("\\", "/");
  const out: string[] = [];
  for (const raw of text.split("/")) {
    const semicolon = stripParameters ? raw.indexOf(";") : -1;
    const segment = (semicolon < 0 ? raw : raw.slice(0, semicolon)).trim();
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return `/${out.join("/")}`;
}

/** Every reading: a look-alike counts if any lenient server's reading of it matches. */
const READINGS: readonly LenientReading[] = [
  { form: "NFKC", stripParameters: true },
  { form: "NFKD", stripParameters: true },
  { form: "NFKC", stripParameters: false },
  { form: "NFKD", stripParameters: false },
];

/**
 * Only the ASCII letters and digits of a normalised path: separators, punctuation, control characters,
 * `;params` delimiters and non-ASCII characters all vanish, so inserting any of them cannot hide the path.
 */
function skeleton(normalizedPath: string): string {
  return normalizedPath.replace(/[^a-z0-9]/g, "");
}

/**
 * The original's CVE-2022-23551 matcher (`/(?i:metadata)/identity(.*?)oauth2(.*?)token`, PR #1325) widened:
 * applied case-insensitively to the whole skeleton of the lenient form, anywhere in the path.
 */
const TOKEN_LIKE = /metadataidentity.*?oauth2.*?token/;

/**
 * True when `path` (no query) could be read as the token path by some lenient interpretation; see
 * {@link lenientNormalizePath}. Over-matching is intended: a false positive costs a 400 on a path IMDS
 * would not serve anyway, a false negative would forward a token request to IMDS unchecked.
 */
export function looksLikeTokenPath(path: string): boolean {
  return READINGS.some((reading) => TOKEN_LIKE.test(skeleton(lenientNormalizePath(path, reading))));
}

/** True when `path` (no query) could be read as `/host/token` by some lenient interpretation. */
export function looksLikeHostTokenPath(path: string): boolean {
  return READINGS.some((reading) => {
    const normalized = lenientNormalizePath(path, reading);
    return normalized.startsWith(HOST_TOKEN_PATH) || skeleton(normalized).startsWith("hosttoken");
  });
}
