/**
 * Case-insensitive access to request headers in the shape Node's `IncomingHttpHeaders` has, without
 * depending on Node typings.
 * @packageDocumentation
 */

/** Request headers: name → value, or several values for repeated headers (any name case). */
export type HttpHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Whether header name `key` is `wanted` (already lower case), ignoring ASCII case. */
function sameName(key: string, wanted: string): boolean {
  // The length test first: most names differ in length, and it spares a lower-cased copy of each.
  return key.length === wanted.length && (key === wanted || key.toLowerCase() === wanted);
}

/** Lower-cased header names asked for so far: callers ask for a few constant names on every request. */
const lowerNames = new Map<string, string>();

/** `name` in lower case, without a fresh string per call for the names callers keep asking for. */
function lowerName(name: string): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    // Bounded: an embedder asking for arbitrary names gets them lower-cased each time instead.
    if (lowerNames.size < 64) lowerNames.set(name, lower);
  }
  return lower;
}

/** True when header `name` is present at all (even with an empty value). */
export function hasHeader(headers: HttpHeaders, name: string): boolean {
  const wanted = lowerName(name);
  for (const key in headers) {
    if (Object.hasOwn(headers, key) && sameName(key, wanted) && headers[key] !== undefined) return true;
  }
  return false;
}

/** The single value of header `name`, or `undefined` when it is absent or repeated. */
export function singleHeader(headers: HttpHeaders, name: string): string | undefined {
  const wanted = lowerName(name);
  let found: string | undefined;
  let count = 0;
  for (const key in headers) {
    if (!Object.hasOwn(headers, key) || !sameName(key, wanted)) continue;
    const value = headers[key];
    if (value === undefined) continue;
    if (typeof value === "string") {
      found = value;
      count += 1;
    } else if (value.length > 0) {
      found = value[0];
      count += value.length;
    }
    if (count > 1) return undefined;
  }
  return count === 1 ? found : undefined;
}
