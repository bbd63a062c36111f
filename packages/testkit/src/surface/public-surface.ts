/**
 * The public surface of a package's entry point, for tests that pin it: adding or dropping an export is
 * then a deliberate, reviewed change (edit the index and the test's lists together). Pure: the caller
 * reads the index's source text and imports its module.
 * @packageDocumentation
 */

/** What a package's index exports. */
export interface PublicSurface {
  /** The runtime exports (`Object.keys` of the module namespace), sorted. */
  readonly values: string[];
  /**
   * The type-only exports, sorted: the names in `export type { … }` statements and the `type X` entries
   * of `export { … }` statements (an `as` alias gives the exported name). Types vanish at runtime, so they
   * are read from the source text, comments stripped.
   */
  readonly types: string[];
  /** Every `export *` / `export type *` statement, as written (a curated surface names each export, so: none). */
  readonly wildcardExports: string[];
}

/** Removes block comments and line comments (`//` at a line's start or after whitespace, so `"http://…"` stays). */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|\s)\/\/.*$/gm, "$1");
}

/** The exported name of one `export { … }` entry: `a as b` exports `b`. */
function exportedName(entry: string): string {
  const parts = entry.split(/\s+as\s+/);
  return (parts[parts.length - 1] ?? "").trim();
}

/** Reads the public surface of an index module from its source text and its imported namespace (`import * as api`). */
export function publicSurfaceOf(indexSourceText: string, api: object): PublicSurface {
  const source = stripComments(indexSourceText);
  const types: string[] = [];
  for (const match of source.matchAll(/\bexport\s+(type\s+)?\{([^}]*)\}/g)) {
    const typeOnly = match[1] !== undefined;
    for (const raw of (match[2] ?? "").split(",")) {
      const entry = raw.trim();
      if (entry === "") continue;
      if (typeOnly) types.push(exportedName(entry));
      else if (/^type\s/.test(entry)) types.push(exportedName(entry.replace(/^type\s+/, "")));
    }
  }
  const wildcardExports = [...source.matchAll(/\bexport\s+(?:type\s+)?\*[^;]*;?/g)].map((m) => m[0].replace(/\s+/g, " ").trim());
  return { values: Object.keys(api).sort(), types: types.sort(), wildcardExports };
}
