/**
 * Reads the manifests `podid plan -f` is given (files, directories, `-` for stdin) into one list of
 * documents, each remembering its file and line so that every later complaint can point at it.
 * @packageDocumentation
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, normalize, resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from "yaml";
import { CliError } from "../cli-io.js";

/** A place in a manifest file (1-based line). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

/** `FILE:LINE`, as compilers and editors print positions. */
export function formatLocation(at: SourceLocation): string {
  return `${at.file}:${at.line}`;
}

/** One object read from a manifest: its JSON value, where it starts, and where its fields are. */
export interface ManifestEntry {
  readonly at: SourceLocation;
  readonly value: unknown;
  /**
   * Where a field is, given a dotted path as core's `ValidationIssue.field` spells it (`spec.resourceID`,
   * `status.podIPs[0].ip`). Keys match exactly first, then ignoring case (legacy `ResourceID`); a path that
   * does not exist points at its deepest existing parent, and an empty path at the object itself.
   */
  readonly locate: (fieldPath: string) => SourceLocation;
}

/** Options of {@link loadManifests}. */
export interface LoadManifestsOptions {
  /** Relative paths are resolved against this directory and printed as given. */
  readonly cwd: string;
  /** Reads standard input (for `-f -`). */
  readonly readStdin: () => Promise<string>;
}

const MANIFEST_EXTENSIONS = [".yaml", ".yml", ".json"];

/** Splits `spec.podIPs[0].ip` into `["spec", "podIPs", 0, "ip"]`. */
export function splitFieldPath(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  for (const segment of path.split(".")) {
    if (segment === "") continue;
    const match = /^([^[]*)((?:\[\d+\])*)$/.exec(segment);
    if (match === null) {
      parts.push(segment);
      continue;
    }
    if ((match[1] ?? "") !== "") parts.push(match[1] ?? "");
    for (const index of (match[2] ?? "").matchAll(/\[(\d+)\]/g)) parts.push(Number(index[1]));
  }
  return parts;
}

function lineOf(node: Node | null | undefined, counter: LineCounter, fallback: number): number {
  const offset = node?.range?.[0];
  return offset === undefined ? fallback : counter.linePos(offset).line;
}

/** The node of `path` under `root` (or its deepest existing parent) and the line of that node's key. */
function locateIn(root: Node, path: readonly (string | number)[], counter: LineCounter, file: string, rootLine: number): SourceLocation {
  let node: Node = root;
  let line = rootLine;
  for (const part of path) {
    if (typeof part === "number") {
      if (!isSeq(node)) break;
      const item = node.items[part];
      if (item === undefined || item === null || typeof item !== "object") break;
      node = item as Node;
      line = lineOf(node, counter, line);
      continue;
    }
    if (!isMap(node)) break;
    const pairs = node.items;
    const keyText = (key: unknown) => (isScalar(key) ? String(key.value) : undefined);
    const pair = pairs.find((p) => keyText(p.key) === part) ?? pairs.find((p) => keyText(p.key)?.toLowerCase() === part.toLowerCase());
    if (pair === undefined) break;
    line = lineOf(pair.key as Node, counter, line);
    if (pair.value === null || typeof pair.value !== "object") break;
    node = pair.value as Node;
  }
  return { file, line };
}

function entryOf(node: Node, counter: LineCounter, file: string): ManifestEntry {
  const line = lineOf(node, counter, 1);
  return {
    at: { file, line },
    value: node.toJSON() as unknown,
    locate: (fieldPath) => locateIn(node, splitFieldPath(fieldPath), counter, file, line),
  };
}

/**
 * Parses the YAML (or JSON) text of one file into entries: one per non-empty document, and one per item of
 * a `kind: List` document (what `kubectl get -o yaml` prints). A syntax error stops with a {@link CliError}
 * naming `FILE:LINE:COLUMN` — a half-read manifest would give a wrong plan.
 */
export function parseManifestText(text: string, file: string): ManifestEntry[] {
  const counter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(documents) ? documents : [];
  const entries: ManifestEntry[] = [];
  for (const document of list) {
    const first = document.errors[0];
    if (first !== undefined) {
      const pos = first.linePos?.[0];
      const where = pos === undefined ? file : `${file}:${pos.line}:${pos.col}`;
      const summary = first.message.split("\n")[0] ?? first.message;
      throw new CliError(`${where}: malformed YAML: ${summary}`);
    }
    const root = document.contents;
    if (root === null || root === undefined) continue;
    if (isScalar(root) && (root.value === null || root.value === undefined)) continue;
    const kindPair = isMap(root) ? root.items.find((p) => isScalar(p.key) && p.key.value === "kind") : undefined;
    const isList = kindPair !== undefined && isScalar(kindPair.value) && kindPair.value.value === "List";
    if (isList && isMap(root)) {
      const items = root.items.find((p) => isScalar(p.key) && p.key.value === "items")?.value;
      if (isSeq(items)) {
        for (const item of items.items) if (item !== null && typeof item === "object") entries.push(entryOf(item as Node, counter, file));
      }
      continue;
    }
    entries.push(entryOf(root, counter, file));
  }
  return entries;
}

async function expand(path: string, shown: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new CliError(`cannot read ${shown}: ${describeIoError(error)}`, { hint: "check the path given to -f" });
  }
  if (!info.isDirectory()) return [shown];
  const found: string[] = [];
  const entries = await readdir(path, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const child = join(shown, entry.name);
    if (entry.isDirectory()) found.push(...(await expand(join(path, entry.name), child)));
    else if (MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) found.push(child);
  }
  return found;
}

function describeIoError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === "ENOENT") return "no such file or directory";
  if (code === "EACCES") return "permission denied";
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads every manifest named by `paths`: files as given, directories recursively (`*.yaml`, `*.yml`,
 * `*.json`, in name order), `-` from standard input. Fails with a {@link CliError} (exit code 1) on an
 * unreadable path, a directory without manifests, or malformed YAML.
 */
export async function loadManifests(paths: readonly string[], options: LoadManifestsOptions): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  for (const given of paths) {
    if (given === "-") {
      entries.push(...parseManifestText(await options.readStdin(), "<stdin>"));
      continue;
    }
    const shown = normalize(given);
    const files = await expand(resolve(options.cwd, given), shown);
    if (files.length === 0) throw new CliError(`no manifests (*.yaml, *.yml, *.json) in ${shown}`);
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(resolve(options.cwd, file), "utf8");
      } catch (error) {
        throw new CliError(`cannot read ${file}: ${describeIoError(error)}`);
      }
      entries.push(...parseManifestText(text, file));
    }
  }
  return entries;
}
