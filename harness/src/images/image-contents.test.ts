/**
 * What the two images hold (docs/adr/0012-container-images.md): one bundled entry point per daemon and the
 * runtime files — no node_modules, no dev dependencies, no testkit or harness, no TypeScript sources, no
 * source maps (nor sourceMappingURL comments pointing at files that are not there), no npm — and each within
 * its size target (MIC 150 MB, NMI 200 MB). The image's inventory (/app/bundled-modules.txt, the modules
 * esbuild bundled, which scripts/images/bundle.mjs writes because the minified bundle carries no per-module
 * markers) names every package an image carries; dev-only packages are those package-lock.json
 * marks `"dev": true`. Needs root, podman and runc (skipped with the reason otherwise).
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImages, MIC_IMAGE, NMI_IMAGE, podman, podmanOrThrow, podmanSupport } from "./podman.js";

const support = podmanSupport();
if (!support.supported) console.warn(`skipping the image contents test: ${support.reason}`);

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const IMAGES = [
  { image: MIC_IMAGE, runner: "mic-runner", targetMb: 150 },
  { image: NMI_IMAGE, runner: "nmi-server", targetMb: 200 },
] as const;

/** Every path below `dir` (symlinks not followed), relative to `dir`, starting with "/". */
function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = `${prefix}/${entry.name}`;
    out.push(path);
    if (entry.isDirectory() && !lstatSync(join(dir, path)).isSymbolicLink()) out.push(...listFiles(dir, path));
  }
  return out;
}

/** The @podid workspaces `runner` needs at run time, itself included. */
function workspaceClosure(runner: string, seen = new Set<string>([runner])): Set<string> {
  const manifest = JSON.parse(readFileSync(join(ROOT, "packages", runner, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    if (!dep.startsWith("@podid/")) continue;
    const name = dep.slice("@podid/".length);
    if (!seen.has(name)) {
      seen.add(name);
      workspaceClosure(name, seen);
    }
  }
  return seen;
}

/** Lock-file paths (`node_modules/a/node_modules/b`) of packages installed only for development. */
function devOnlyLockPaths(): Set<string> {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
  return new Set(Object.entries(lock.packages).filter(([path, entry]) => path.startsWith("node_modules/") && entry.dev === true).map(([path]) => path));
}

/** The package directory of a bundled module path: `node_modules/@s/p/node_modules/q/x.js` → `node_modules/@s/p/node_modules/q`. */
function lockPathOf(modulePath: string): string {
  const parts = modulePath.split("/");
  let end = 0;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] !== "node_modules") continue;
    end = i + ((parts[i + 1] ?? "").startsWith("@") ? 3 : 2);
  }
  return parts.slice(0, end).join("/");
}

describe.skipIf(!support.supported)("image contents", () => {
  const mounts = new Map<string, string>();

  beforeAll(async () => {
    await ensureImages();
    for (const { image } of IMAGES) mounts.set(image, (await podmanOrThrow(["image", "mount", image])).trim());
  }, 20 * 60_000);

  afterAll(async () => {
    for (const image of mounts.keys()) await podman(["image", "unmount", image]);
  });

  for (const { image, runner, targetMb } of IMAGES) {
    it(`${image}: one bundle and the runtime, no node_modules, sources, maps, npm, testkit or harness`, () => {
      const rootfs = mounts.get(image) ?? "";
      const files = listFiles(rootfs);
      // The entry bundle, the chunks it loads on demand (scripts/images/bundle.mjs), and their licence notices.
      const app = files.filter((f) => f.startsWith("/app/"));
      expect(app).toContain("/app/main.mjs");
      expect(app.filter((f) => !/^\/app\/(chunks|bundled-modules\.txt|(main|chunks\/[\w-]+)\.mjs(\.LEGAL\.txt)?)$/.test(f))).toEqual([]);
      expect(files.filter((f) => /\/node_modules(\/|$)/.test(f) || /\.(ts|mts|cts|map)$/.test(f) || /\/(npm|npx|testkit|harness)$/.test(f))).toEqual([]);
      expect(existsSync(join(rootfs, "usr/local/bin/node"))).toBe(true);

      const bundle = app.filter((f) => f.endsWith(".mjs")).map((f) => readFileSync(join(rootfs, f), "utf8")).join("\n");
      expect(bundle).not.toMatch(/^\/\/[#@] sourceMappingURL=/m);
      const modules = readFileSync(join(rootfs, "app/bundled-modules.txt"), "utf8")
        .split("\n")
        .filter((m) => /^(?:node_modules|packages|harness)\/\S+\.(?:[mc]?js|json)$/.test(m));
      expect(modules.length).toBeGreaterThan(100);
      const workspaces = new Set(modules.filter((m) => m.startsWith("packages/")).map((m) => m.split("/")[1]));
      expect([...workspaces].sort()).toEqual([...workspaceClosure(runner)].sort());
      expect(modules.filter((m) => m.startsWith("harness/"))).toEqual([]);
      const devOnly = devOnlyLockPaths();
      const devModules = [...new Set(modules.filter((m) => m.startsWith("node_modules/")).map(lockPathOf))].filter((p) => devOnly.has(p));
      expect(devModules).toEqual([]);
    });

    it(`${image}: within ${String(targetMb)} MB`, async () => {
      const bytes = Number((await podmanOrThrow(["image", "inspect", "--format", "{{.Size}}", image])).trim());
      console.info(`${image}: ${(bytes / 1e6).toFixed(1)} MB (target ${String(targetMb)} MB)`);
      expect(bytes).toBeGreaterThan(50e6);
      expect(bytes).toBeLessThanOrEqual(targetMb * 1e6);
    });
  }
});
