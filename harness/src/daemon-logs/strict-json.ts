/**
 * A strict reading of one JSON log line: valid JSON (as `JSON.parse` reads it), a single object at the top,
 * and no object anywhere in it with the same key twice. `JSON.parse` silently keeps the last of duplicate
 * keys, and a reviver only ever sees that one, so duplicates are found by walking the text: after
 * `JSON.parse` has accepted it, every string token followed by `:` is a key of the innermost open object.
 * Keys are compared after unescaping (`"a"` and `"\u0061"` are the same key).
 * @packageDocumentation
 */

/** The outcome of {@link parseStrictJsonLine}. */
export type StrictJsonResult =
  | { readonly ok: true; readonly value: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly error: string };

/** Reads `line` strictly (see the module comment). */
export function parseStrictJsonLine(line: string): StrictJsonResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, error: "not a JSON object" };
  const duplicate = firstDuplicateKey(line);
  if (duplicate !== undefined) return { ok: false, error: `duplicate key ${JSON.stringify(duplicate.key)} at offset ${duplicate.offset}` };
  return { ok: true, value: value as Record<string, unknown> };
}

/** The first repeated key in `text`, which must already be valid JSON. */
function firstDuplicateKey(text: string): { key: string; offset: number } | undefined {
  // One entry per open container: the keys seen so far for an object, undefined for an array.
  const open: (Set<string> | undefined)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") open.push(new Set());
    else if (c === "[") open.push(undefined);
    else if (c === "}" || c === "]") open.pop();
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      let next = i + 1;
      while (next < text.length && " \t\n\r".includes(text[next] ?? "")) next++;
      const keys = open.at(-1);
      if (text[next] === ":" && keys !== undefined) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (keys.has(key)) return { key, offset: start };
        keys.add(key);
      }
    }
  }
  return undefined;
}
