/**
 * What each publishable package puts in its tarball, as `scripts/pack.mjs` packs it for publishing (dry run):
 * `dist` (and `bin`, and testkit's `crds.yaml`) only — no sources, no source maps (they would point at
 * sources that stay in the repository), no tests, test support, golden files, benches, simulations or build
 * info — plus README and LICENSE; every `bin` and every export target is in the tarball; the published
 * manifest has no `@podid/source` condition, no devDependencies, `engines`, and sibling dependencies pinned
 * to a version. Also: no non-test source of a deployable imports `@podid/testkit`.
 * (docs/adr/0003-source-first-export-condition.md)
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PACKAGES = readdirSync(join(ROOT, "packages")).filter((name) => existsSync(join(ROOT, "packages", name, "package.json")));

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly bin?: Readonly<Record<string, string>>;
  readonly exports?: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly scripts?: Readonly<Record<string, string>>;
  readonly engines?: Readonly<Record<string, string>>;
}

/** One entry of `node scripts/pack.mjs --dry-run --json`. */
interface Packed {
  readonly name: string;
  readonly dir: string;
  readonly files: readonly string[];
  readonly manifest: Manifest;
}

function manifest(pkg: string): Manifest {
  return JSON.parse(readFileSync(join(ROOT, "packages", pkg, "package.json"), "utf8")) as Manifest;
}

function packDryRun(): Promise<Packed[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(ROOT, "scripts", "pack.mjs"), "--dry-run", "--json"], { cwd: ROOT, timeout: 150_000, maxBuffer: 32 << 20 }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`pack.mjs failed: ${stderr}`));
      resolve(JSON.parse(stdout) as Packed[]);
    });
  });
}

/** Files that are test or harness material wherever they sit. */
const NOT_PRODUCT = [/\.test\./, /(^|\/)test-support\//, /(^|\/)__golden__\//, /(^|\/)(bench|sim|e2e|system|testing)\//, /\.bench\./, /\.tsbuildinfo$/];
/** What may sit outside dist/: the manifest, README, LICENSE, bin launchers, testkit's CRDs and demo manifests (both demos). */
const OUTSIDE_DIST = /^(package\.json|README\.md|LICENSE|bin\/[^/]+\.mjs|crds\.yaml|examples\/demo(-federated)?\/[^/]+\.yaml)$/;
const PUBLISHABLE = PACKAGES.filter((pkg) => manifest(pkg).private !== true);

let packed = new Map<string, Packed>();
beforeAll(async () => {
  packed = new Map((await packDryRun()).map((p) => [p.dir.replace(/^packages\//, ""), p]));
}, 160_000);

function exportTargets(exports: Manifest["exports"]): string[] {
  return Object.values(exports ?? {}).flatMap((target) => (typeof target === "string" ? [target] : Object.values(target)));
}

describe("published files", () => {
  it("every publishable package is packed", () => {
    expect([...packed.keys()].sort()).toEqual([...PUBLISHABLE].sort());
  });

  it.each(PUBLISHABLE)("%s ships dist, README and LICENSE only: no sources, maps, tests or build info", (pkg) => {
    const files = packed.get(pkg)?.files ?? [];
    expect(files.filter((path) => NOT_PRODUCT.some((pattern) => pattern.test(path)))).toEqual([]);
    expect(files.filter((path) => !path.startsWith("dist/") && !OUTSIDE_DIST.test(path)), "only dist/ and the listed files").toEqual([]);
    expect(files.filter((path) => path.endsWith(".map")), "no source maps (their sources are not shipped)").toEqual([]);
    expect(files).toContain("README.md");
    expect(files).toContain("LICENSE");
    // Every emitted module has its source in the repository (nothing stale from a deleted source ships).
    const orphans = files.filter((f) => /^dist\/.*\.js$/.test(f) && !existsSync(join(ROOT, "packages", pkg, f.replace(/^dist\//, "src/").replace(/\.js$/, ".ts"))));
    expect(orphans, "build output without a source (stale dist/? rm -rf the package's dist and rebuild)").toEqual([]);
  });

  it.each(PUBLISHABLE)("%s: every bin and export target is in the tarball; the manifest is the published one", (pkg) => {
    const p = packed.get(pkg);
    const files = p?.files ?? [];
    const m = p?.manifest;
    expect(m?.name).toBe(manifest(pkg).name);
    for (const target of Object.values(m?.bin ?? {})) expect(files).toContain(target.replace(/^\.\//, ""));
    const targets = exportTargets(m?.exports);
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(files, `export target ${target}`).toContain(target.replace(/^\.\//, ""));
    expect(JSON.stringify(m)).not.toContain("@podid/source");
    expect(m?.devDependencies).toBeUndefined();
    expect(m?.scripts).toBeUndefined();
    expect(m?.engines?.["node"]).toBe(">=22.19");
    for (const [dep, range] of Object.entries(m?.dependencies ?? {})) {
      if (dep.startsWith("@podid/")) expect(range, `${dep} pinned to the sibling's version`).toMatch(/^\^\d+\.\d+\.\d+$/);
    }
  });

  it("testkit ships the CRDs podid-sim applies", () => {
    expect(packed.get("testkit")?.files).toContain("crds.yaml");
    expect(packed.get("testkit")?.manifest.exports?.["./crds.yaml"]).toBe("./crds.yaml");
  });

  it("testkit ships the manifests of both demos (podid-sim demo, podid-sim demo --federated)", () => {
    const files = packed.get("testkit")?.files ?? [];
    for (const name of ["identity.yaml", "binding.yaml", "pod.yaml"]) expect(files).toContain(`examples/demo/${name}`);
    for (const name of ["serviceaccount.yaml", "identity.yaml", "binding.yaml", "pod.yaml"]) expect(files).toContain(`examples/demo-federated/${name}`);
  });
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
