import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every citation in the repository must resolve inside it: code, tests and docs cite
 * `docs/compatibility.md#anchor` or an ADR (`docs/adr/…`), never a document a clone does not contain.
 * This scans every tracked (or new, not ignored) `.ts`/`.mjs`/`.md`/`.yaml` file and reports:
 * - the names of the research documents podid was first written from, which are not part of the repository;
 * - `name.md §…` citations, and section signs that name no document (`§3.2`, `peers §6`), except after a
 *   standard such as `RFC 9110`;
 * - `docs/….md[#anchor]` mentions and relative Markdown links whose file or heading does not exist
 *   (anchors as GitHub makes them: lower case, punctuation dropped, spaces turned into `-`);
 * - in `docs/`, repository paths written as code (`` `packages/core/src/result.ts` ``) that no longer exist, so
 *   the decision records follow files when they move.
 */

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "../../..");
/** This file, which names the forbidden citations on purpose. */
const SELF = relative(ROOT, new URL(import.meta.url).pathname);
const SCANNED = /\.(?:ts|mts|cts|mjs|md|yaml|yml)$/;

/** Research documents the first versions of podid cited; they live outside the repository. */
const OUTSIDE_DOCUMENTS = ["aad-pod-identity", "ecosystem", "peers", "key-vault-and-federation", "test-environment"];
const OUTSIDE_DOCUMENT = new RegExp(`(?<![\\w/.-])(?:${OUTSIDE_DOCUMENTS.join("|")})\\.md\\b`, "g");

/** A `§` may follow the name of a published standard (RFC 3986 §2.1); anything else must be a repo link. */
const STANDARD_BEFORE_SECTION = /\b(?:RFC|ISO(?:\/IEC)?|ECMA|ITU-T|X|PKCS|FIPS|IEEE|SP)[\s#.-]?\d[\w.-]*(?:,?\s+[\w.-]+)?\s*$/;
/** `something.md` right before a `§`. */
const MD_NAME_BEFORE_SECTION = /([\w.-]+\.md)\s*$/;

/** Markdown links `[text](target)` (an optional title after the target is allowed). */
const MARKDOWN_LINK = /\[[^\]\n]*\]\(([^)\s]+)(?:\s+"[^"\n]*")?\)/g;
/** Repository paths written as code in `docs/`; a path with `*`, `<…>` or `…` names a pattern, not a file, and is skipped. */
const CODE_PATH = /`((?:packages|harness|deploy|examples|scripts)\/[^`\s*<>…]*)`/g;
/** Bare mentions of a document under `docs/`, read relative to the repository root. */
const DOCS_MENTION = /(?<![\w./-])(docs\/[\w./-]*?\.md)(?:#([\w-]+))?/g;

export interface Problem {
  readonly path: string;
  readonly line: number;
  readonly message: string;
}

/** The repository's files as git sees them: tracked, plus new files that are not ignored; deleted ones dropped. */
function repositoryFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" });
  const files = [...new Set(out.split("\0").filter((f) => f !== ""))];
  return files.filter((f) => existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).isFile()).sort();
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`. */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, "")
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "").replace(/ /g, "-");
}

/** The anchors of a Markdown document's headings (outside code fences), duplicates numbered as GitHub does. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const fenceMatch = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fenceMatch?.[1] !== undefined) {
      const marker = fenceMatch[1];
      if (fence === undefined) fence = marker[0]!.repeat(marker.length);
      else if (marker.startsWith(fence)) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading?.[1] === undefined) continue;
    const base = githubSlug(heading[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${String(count)}`);
  }
  return anchors;
}

/** What the scanner needs to know about the repository. */
export interface RepositoryView {
  /** Does this repository-relative path exist (file or folder)? */
  exists(path: string): boolean;
  /** The text of a repository-relative Markdown file, if it exists. */
  read(path: string): string | undefined;
  /** Basenames of every file in the repository. */
  readonly basenames: ReadonlySet<string>;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Checks that `target` (repository-relative, maybe with `#anchor`) names an existing file and heading. */
function checkTarget(repo: RepositoryView, file: string, target: string, anchor: string | undefined): string | undefined {
  const normalised = target.replace(/\/+$/, "");
  if (normalised !== "" && (normalised.startsWith("..") || !repo.exists(normalised))) return `${target} does not exist`;
  if (anchor === undefined || anchor === "") return undefined;
  const doc = normalised === "" ? file : normalised;
  if (!doc.endsWith(".md")) return undefined;
  const text = repo.read(doc);
  if (text === undefined) return `${doc} cannot be read`;
  if (!headingAnchors(text).has(anchor)) return `${doc} has no heading with the anchor #${anchor}`;
  return undefined;
}

/** Every problem with the citations in one file. */
export function scanFile(repo: RepositoryView, path: string, text: string): Problem[] {
  const problems: Problem[] = [];
  const report = (index: number, message: string): void => {
    const line = lineOf(text, index);
    if (!problems.some((p) => p.line === line && p.message === message)) problems.push({ path, line, message });
  };

  for (const m of text.matchAll(OUTSIDE_DOCUMENT)) {
    if (!repo.basenames.has(m[0])) report(m.index, `cites ${m[0]}, which is not in the repository (cite docs/compatibility.md#… or docs/adr/… instead)`);
  }

  for (const m of text.matchAll(/§/g)) {
    const lineStart = text.lastIndexOf("\n", m.index) + 1;
    const before = text.slice(lineStart, m.index);
    const named = MD_NAME_BEFORE_SECTION.exec(before);
    if (named?.[1] !== undefined) {
      // A research document's name was reported above; one problem per citation is enough.
      if (!OUTSIDE_DOCUMENTS.some((d) => `${d}.md` === named[1])) {
        report(m.index, `cites ${named[1]} by section sign; cite a heading as docs/….md#anchor`);
      }
    } else if (!STANDARD_BEFORE_SECTION.test(before)) {
      const context = text.slice(m.index, m.index + 12).split("\n")[0] ?? "§";
      report(m.index, `"${context.trim()}" cites a section of no document in the repository (cite docs/compatibility.md#… instead)`);
    }
  }

  if (path.startsWith("docs/") && path.endsWith(".md")) {
    for (const m of text.matchAll(CODE_PATH)) {
      const target = m[1] ?? "";
      if (!repo.exists(target.replace(/\/+$/, ""))) report(m.index, `${target} does not exist`);
    }
  }

  let rest = text;
  if (path.endsWith(".md")) {
    for (const m of text.matchAll(MARKDOWN_LINK)) {
      const raw = m[1] ?? "";
      rest = rest.slice(0, m.index) + " ".repeat(m[0].length) + rest.slice(m.index + m[0].length);
      if (/^[a-z][a-z0-9+.-]*:/i.test(raw)) continue;
      const hash = raw.indexOf("#");
      const pathPart = decodeURIComponent(hash < 0 ? raw : raw.slice(0, hash));
      const anchor = hash < 0 ? undefined : raw.slice(hash + 1);
      const target = pathPart === "" ? "" : pathPart.startsWith("/") ? pathPart.slice(1) : relative(ROOT, resolve(ROOT, dirname(path), pathPart));
      const problem = checkTarget(repo, path, target, anchor);
      if (problem !== undefined) report(m.index, `link ${raw}: ${problem}`);
    }
  }
  for (const m of rest.matchAll(DOCS_MENTION)) {
    const target = m[1] ?? "";
    const problem = checkTarget(repo, path, target, m[2]);
    if (problem !== undefined) report(m.index, `${m[0]}: ${problem}`);
  }
  return problems.sort((a, b) => a.line - b.line);
}

function liveRepository(files: readonly string[]): RepositoryView {
  const texts = new Map<string, string | undefined>();
  return {
    exists: (path) => existsSync(join(ROOT, path)),
    read: (path) => {
      if (!texts.has(path)) texts.set(path, existsSync(join(ROOT, path)) ? readFileSync(join(ROOT, path), "utf8") : undefined);
      return texts.get(path);
    },
    basenames: new Set(files.map((f) => f.slice(f.lastIndexOf("/") + 1))),
  };
}

/** Problems across the repository, as `path:line: message`. */
export function scanRepository(): string[] {
  const files = repositoryFiles();
  const repo = liveRepository(files);
  return files
    .filter((f) => SCANNED.test(f) && f !== SELF)
    .flatMap((f) => scanFile(repo, f, readFileSync(join(ROOT, f), "utf8")))
    .map((p) => `${p.path}:${String(p.line)}: ${p.message}`);
}

describe("documentation references", () => {
  const sample: RepositoryView = {
    exists: (path) => ["docs", "docs/compatibility.md", "docs/adr", "docs/adr/0001-x.md", "README.md"].includes(path),
    read: (path) => (path === "docs/compatibility.md" ? "# Title\n\n## NMI routes and status codes\n\n```sh\n# not a heading\n```\n" : path === "README.md" ? "# podid\n## Where podid is deliberately stricter than aad-pod-identity\n" : undefined),
    basenames: new Set(["compatibility.md", "0001-x.md", "README.md"]),
  };

  it("makes GitHub's anchors", () => {
    expect(githubSlug("NMI routes and status codes")).toBe("nmi-routes-and-status-codes");
    expect(githubSlug("Source-first `@podid/source` export condition")).toBe("source-first-podidsource-export-condition");
    expect(githubSlug("1. Keep the original's surface; be stricter")).toBe("1-keep-the-originals-surface-be-stricter");
    expect([...headingAnchors("# A\n## A\n```\n# B\n```\n### C #\n")]).toEqual(["a", "a-1", "c"]);
  });

  it("flags citations of documents outside the repository", () => {
    const found = scanFile(sample, "packages/x/src/a.ts", [
      "/** MIC wrote (aad-pod-identity.md §2.3): */",
      "// (ecosystem §1.1) and (peers §6 item 8)",
      "// the original's defaults (§3.2)",
      "// see key-vault-and-federation.md and test-environment.md",
    ].join("\n"));
    expect(found.map((p) => p.line)).toEqual([1, 2, 2, 3, 4, 4]);
  });

  it("accepts standards' sections and resolving docs links", () => {
    const text = [
      "// Percent-decoding (RFC 3986 §2.1); hop-by-hop headers (RFC 9110 §7.6.1).",
      "// see docs/compatibility.md#nmi-routes-and-status-codes and docs/adr/0001-x.md",
    ].join("\n");
    expect(scanFile(sample, "packages/x/src/a.ts", text)).toEqual([]);
    expect(scanFile(sample, "docs/adr/0002-y.md", "[a](../compatibility.md#nmi-routes-and-status-codes) [b](0001-x.md) [c](../../README.md#where-podid-is-deliberately-stricter-than-aad-pod-identity)")).toEqual([]);
  });

  it("flags docs links whose file or heading is missing", () => {
    const text = "// docs/compatibility.md#no-such-heading, docs/missing.md, docs/compatibility.md#not-a-heading";
    expect(scanFile(sample, "a.ts", text).map((p) => p.message)).toEqual([
      "docs/compatibility.md#no-such-heading: docs/compatibility.md has no heading with the anchor #no-such-heading",
      "docs/missing.md: docs/missing.md does not exist",
      "docs/compatibility.md#not-a-heading: docs/compatibility.md has no heading with the anchor #not-a-heading",
    ]);
    expect(scanFile(sample, "docs/README.md", "[x](adr/0009-none.md) [y](#nope)").map((p) => p.message)).toEqual([
      "link adr/0009-none.md: docs/adr/0009-none.md does not exist",
      "link #nope: docs/README.md cannot be read",
    ]);
  });

  it("flags code paths in docs that no longer exist", () => {
    const text = "Rules live in `docs/adr` and `packages/core/src/gone.ts`; see `packages/*/README.md`.";
    expect(scanFile(sample, "docs/adr/0001-x.md", text).map((p) => p.message)).toEqual(["packages/core/src/gone.ts does not exist"]);
  });

  it("every citation in the repository resolves inside it", () => {
    const problems = scanRepository();
    expect(problems, `${String(problems.length)} citation(s) do not resolve:\n${problems.join("\n")}`).toEqual([]);
  });
});
