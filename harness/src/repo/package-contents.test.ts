/**
 * What each publishable package would put in its tarball (`npm pack --dry-run --json`): product code only —
 * no tests, test support, golden files, benches, simulations, end-to-end harness or build info — plus its
 * README and LICENSE, every `bin` and export target, and sources for the source maps to point at. Also: no
 * non-test source of a deployable imports `@podid/testkit`.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PACKAGES = readdirSync(join(ROOT, "packages")).filter((name) => existsSync(join(ROOT, "packages", name, "package.json")));

interface Manifest {
  readonly name: string;
  readonly private?: boolean;
  readonly bin?: Readonly<Record<string, string>>;
  readonly exports?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly dependencies?: Readonly<Record<string, string>>;
}

function manifest(pkg: string): Manifest {
  return JSON.parse(readFileSync(join(ROOT, "packages", pkg, "package.json"), "utf8")) as Manifest;
}

/** The paths `npm pack` would put in the tarball of `pkg`. */
function packedFiles(pkg: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: join(ROOT, "packages", pkg), timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout) => {
      if (error !== null) return reject(error);
      const [report] = JSON.parse(stdout) as { files: { path: string }[] }[];
      resolve((report?.files ?? []).map((f) => f.path));
    });
  });
}

/** Files that are test or harness material wherever they sit. */
const NOT_PRODUCT = [/\.test\./, /(^|\/)test-support\//, /(^|\/)__golden__\//, /(^|\/)(bench|sim|e2e|system|testing)\//, /\.bench\./, /\.tsbuildinfo$/];

describe("published files", () => {
  it.each(PACKAGES.filter((pkg) => manifest(pkg).private !== true))("%s ships product code, README and LICENSE only", async (pkg) => {
    const files = await packedFiles(pkg);
    expect(files.filter((path) => NOT_PRODUCT.some((pattern) => pattern.test(path)))).toEqual([]);
    expect(files).toContain("README.md");
    expect(files).toContain("LICENSE");
    // Every emitted module has its source beside it in the tarball (source maps resolve; nothing stale ships).
    const sources = new Set(files.filter((f) => f.startsWith("src/") && f.endsWith(".ts")));
    const orphans = files.filter((f) => /^dist\/.*\.js$/.test(f) && !sources.has(f.replace(/^dist\//, "src/").replace(/\.js$/, ".ts")));
    expect(orphans, "build output without a source (stale dist/? rm -rf the package's dist and rebuild)").toEqual([]);
    const m = manifest(pkg);
    for (const target of Object.values(m.bin ?? {})) expect(files).toContain(target.replace(/^\.\//, ""));
    for (const conditions of Object.values(m.exports ?? {})) for (const target of Object.values(conditions)) expect(files).toContain(target.replace(/^\.\//, ""));
  }, 120_000);
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "test-support" ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("product code does not depend on the test kit", () => {
  it.each(PACKAGES.filter((pkg) => pkg !== "testkit"))("%s: no non-test source imports @podid/testkit, and it is no runtime dependency", (pkg) => {
    const offenders = sourceFiles(join(ROOT, "packages", pkg, "src"))
      .filter((path) => /from\s+["']@podid\/testkit["']|import\(\s*["']@podid\/testkit["']\s*\)/.test(readFileSync(path, "utf8")))
      .map((path) => relative(ROOT, path));
    expect(offenders).toEqual([]);
    expect(Object.keys(manifest(pkg).dependencies ?? {})).not.toContain("@podid/testkit");
  });
});
