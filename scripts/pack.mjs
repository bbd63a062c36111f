#!/usr/bin/env node
// Packs every publishable package the way it is published (docs/adr/0003-source-first-export-condition.md):
// the files npm selects through the package's `files` (dist and bin, no maps, tests or build info), copied to
// a staging directory with a published manifest — no `@podid/source` export condition, no devDependencies or
// scripts, sibling `@podid/*` dependencies pinned to the sibling's version — and with the `sourceMappingURL`
// trailers removed, because the maps and sources they name stay in the repository. Then `npm pack` runs there.
//
//   node scripts/pack.mjs (--out <dir> | --dry-run) [--json] [package-dir-name…]
//
// Prints one line per tarball, or with --json one JSON array: { name, version, dir, tarball, files }.
// `--refuse-direct-publish` is what each package's prepublishOnly runs: publishing a workspace directory as it
// is would ship its in-repository manifest.
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = new URL("..", import.meta.url).pathname;
const PACKAGES = join(ROOT, "packages");
const SOURCE_CONDITION = "@podid/source";
/** A source map reference at the end of emitted JavaScript or a declaration file. */
const MAP_TRAILER = /\n\/\/# sourceMappingURL=[^\n]*\n?$/;

function usage(message) {
  process.stderr.write(`pack: ${message}\nusage: node scripts/pack.mjs (--out <dir> | --dry-run) [--json] [package-dir-name…]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { out: undefined, dryRun: false, json: false, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--refuse-direct-publish") {
      process.stderr.write(`${process.env["npm_package_name"] ?? "this package"}: publish the tarball that \`node scripts/pack.mjs\` makes, not the workspace directory\n`);
      process.exit(1);
    } else if (arg === "--out") {
      const value = argv[++i];
      if (value === undefined) usage("--out needs a directory");
      options.out = resolve(value);
    } else if (arg === "--dry-run") options.dryRun = true;
    else if (arg === "--json") options.json = true;
    else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
    else options.only.push(arg);
  }
  return options;
}

function readManifest(dir) {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
}

/** Publishable workspace packages: directory name → manifest. */
function publishable() {
  const found = new Map();
  for (const name of readdirSync(PACKAGES).sort()) {
    const dir = join(PACKAGES, name);
    if (!existsSync(join(dir, "package.json"))) continue;
    const manifest = readManifest(dir);
    if (manifest.private !== true) found.set(name, manifest);
  }
  return found;
}

/** Drops the source condition from every export (a string export is left as it is). */
function publishedExports(exports) {
  if (exports === undefined || typeof exports === "string") return exports;
  return Object.fromEntries(
    Object.entries(exports).map(([subpath, target]) =>
      typeof target === "string" ? [subpath, target] : [subpath, Object.fromEntries(Object.entries(target).filter(([condition]) => condition !== SOURCE_CONDITION))],
    ),
  );
}

/** The manifest as published: sibling dependencies pinned to `^<sibling version>`, nothing for development. */
function publishedManifest(manifest, versions) {
  const { devDependencies: _dev, scripts: _scripts, ...rest } = manifest;
  const dependencies =
    manifest.dependencies === undefined
      ? undefined
      : Object.fromEntries(Object.entries(manifest.dependencies).map(([dep, range]) => [dep, versions.has(dep) ? `^${versions.get(dep)}` : range]));
  return { ...rest, exports: publishedExports(manifest.exports), ...(dependencies === undefined ? {} : { dependencies }) };
}

async function npmPackJson(cwd, args) {
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", ...args], {
    cwd,
    maxBuffer: 32 << 20,
    // Not the npm_* variables of an npm that may have started us: npm_config_local_prefix would point npm at
    // the workspace root instead of `cwd`.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key))), npm_config_update_notifier: "false", npm_config_fund: "false" },
  });
  const [report] = JSON.parse(stdout);
  if (report === undefined) throw new Error(`npm pack in ${cwd} reported nothing`);
  return report;
}

async function packOne(dirName, manifest, versions, stageRoot, out, dryRun) {
  const source = join(PACKAGES, dirName);
  // npm's own reading of `files` (plus README, LICENSE and package.json, which it always includes).
  const selected = (await npmPackJson(source, ["--dry-run"])).files.map((f) => f.path);
  const stage = join(stageRoot, dirName);
  for (const path of selected) {
    if (path === "package.json") continue;
    const target = join(stage, path);
    mkdirSync(dirname(target), { recursive: true });
    if (/\.(m?js|d\.ts)$/.test(path)) writeFileSync(target, readFileSync(join(source, path), "utf8").replace(MAP_TRAILER, "\n"));
    else copyFileSync(join(source, path), target);
  }
  writeFileSync(join(stage, "package.json"), `${JSON.stringify(publishedManifest(manifest, versions), null, 2)}\n`);
  const report = await npmPackJson(stage, dryRun ? ["--dry-run"] : ["--pack-destination", out]);
  return {
    name: manifest.name,
    version: manifest.version,
    dir: `packages/${dirName}`,
    tarball: dryRun ? null : join(out, report.filename),
    files: report.files.map((f) => f.path).sort(),
    manifest: JSON.parse(readFileSync(join(stage, "package.json"), "utf8")),
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const packages = publishable();
  for (const name of options.only) if (!packages.has(name)) usage(`no publishable package packages/${name}`);
  const versions = new Map([...packages.values()].map((m) => [m.name, m.version]));
  const chosen = options.only.length > 0 ? options.only : [...packages.keys()];
  if (!options.dryRun && options.out === undefined) usage("--out <dir> is needed unless --dry-run");
  const out = options.out;
  if (out !== undefined) mkdirSync(out, { recursive: true });
  const stageRoot = mkdtempSync(join(tmpdir(), "podid-pack-"));
  try {
    const results = [];
    // One at a time: npm pack is mostly process start-up, and the machine is shared.
    for (const dirName of chosen) results.push(await packOne(dirName, packages.get(dirName), versions, stageRoot, out, options.dryRun));
    if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else for (const r of results) process.stdout.write(`${r.name}@${r.version}: ${r.tarball ?? "(dry run)"} (${r.files.length} files)\n`);
  } finally {
    rmSync(stageRoot, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`pack: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
