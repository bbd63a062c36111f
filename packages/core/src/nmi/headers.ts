/**
 * Case-insensitive access to request headers in the shape Node's `IncomingHttpHeaders` has, without
 * depending on Node typings.
 * @packageDocumentation
 */

/** Request headers: name → value, or several values for repeated headers (any name case). */
export type HttpHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Every value of header `name` (compared ignoring ASCII case), in order; `[]` when absent. HTTP header
 * names are case-insensitive, so `Metadata`, `metadata` and `METADATA` are one header.
 */
export function headerValues(headers: HttpHeaders, name: string): readonly string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    if (typeof value === "string") values.push(value);
    else values.push(...value);
  }
  return values;
}

/** True when header `name` is present at all (even with an empty value). */
export function hasHeader(headers: HttpHeaders, name: string): boolean {
  const wanted = name.toLowerCase();
  return Object.entries(headers).some(([key, value]) => key.toLowerCase() === wanted && value !== undefined);
}

/** The single value of header `name`, or `undefined` when it is absent or repeated. */
export function singleHeader(headers: HttpHeaders, name: string): string | undefined {
  const values = headerValues(headers, name);
  return values.length === 1 ? values[0] : undefined;
}
