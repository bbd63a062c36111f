// Bundles each daemon's compiled entry point (packages/<runner>/dist/main.js, what the bin launchers import) and
// the production code it imports into one ES module per image, with esbuild. An image then carries one file of
// JavaScript instead of node_modules: no dev dependencies, no testkit, no type declarations, no source maps
// (docs/adr/0012-container-images.md). Runs in the images' build stage after `tsc -b`.
// Usage: node scripts/images/bundle.mjs OUT_DIR   → OUT_DIR/{mic,nmi}/main.mjs, lazily loaded chunks/*.mjs, *.LEGAL.txt,
// bundled-modules.txt
import { build } from "esbuild";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/** The deployables and where their bundle goes. */
export const DAEMONS = [
  { runner: "mic-runner", image: "mic" },
  { runner: "nmi-server", image: "nmi" },
];

if (process.argv[2] === undefined) {
  console.error("usage: node scripts/images/bundle.mjs OUT_DIR");
  process.exit(2);
}
// Absolute: esbuild resolves paths from the repository root (absWorkingDir), the caller from its own directory.
const out = resolve(process.argv[2]);
const root = new URL("../..", import.meta.url).pathname;

/**
 * Node 22's `http` module carries lazy getters (`WebSocket`, `CloseEvent`, `MessageEvent`) that load Node's
 * bundled undici. An ES module import of `node:http` builds its namespace by reading every export, so those
 * getters run and undici (its source, its WebAssembly HTTP parser and the compilers that build it) costs
 * about 9 MB of resident memory in a daemon that never uses it. Importing `node:http` through `require()`
 * instead leaves the getters unread: esbuild's CommonJS interop forwards each name on first use.
 * @type {import("esbuild").Plugin}
 */
const nodeHttpByRequire = {
  name: "node-http-by-require",
  setup(build) {
    build.onResolve({ filter: /^(node:)?http$/ }, (args) =>
      args.kind === "import-statement" || args.kind === "dynamic-import" ? { path: "node:http", namespace: "podid-require" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "podid-require" }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: "js" }));
  },
};
for (const { runner, image } of DAEMONS) {
  const result = await build({
    entryPoints: { main: join(root, "packages", runner, "dist", "main.js") },
    outdir: join(out, image),
    // Code the daemon imports only when needed (NMI loads @azure/identity for its first service-principal token)
    // goes into chunks loaded at that moment, so it costs no memory in a process that never needs it.
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    target: "node22",
    format: "esm",
    // Minified: V8 keeps a daemon's whole source text in memory, and unminified it is twice as large and —
    // because comments keep a few non-ASCII characters — stored two bytes per character (4 MB for NMI instead
    // of under 1 MB). `keepNames` keeps function and class names, so stack traces still name their frames.
    minify: true,
    keepNames: true,
    plugins: [nodeHttpByRequire],
    sourcemap: false,
    legalComments: "external",
    // CommonJS dependencies call require() for Node built-ins; an ES module bundle has to provide it.
    banner: { js: 'import { createRequire as podidCreateRequire } from "node:module";\nconst require = podidCreateRequire(import.meta.url);' },
    logLevel: "warning",
    metafile: true,
    absWorkingDir: root,
  });
  // The image's inventory: every module its JavaScript was built from (paths from the repository root), one a
  // line. Minified output has no per-module markers, so this is how the image test sees what an image carries.
  const modules = Object.keys(result.metafile.inputs).filter((path) => !path.includes(":")).sort();
  await writeFile(join(out, image, "bundled-modules.txt"), `${modules.join("\n")}\n`);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  console.log(`bundled ${runner} into ${join(out, image)} (${(bytes / 1e6).toFixed(1)} MB, ${Object.keys(result.metafile.inputs).length} modules)`);
}
