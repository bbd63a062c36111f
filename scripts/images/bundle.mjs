// Bundles each daemon's compiled entry point (packages/<runner>/dist/main.js, what the bin launchers import) and
// the production code it imports into one ES module per image, with esbuild. An image then carries one file of
// JavaScript instead of node_modules: no dev dependencies, no testkit, no type declarations, no source maps
// (docs/adr/0012-container-images.md). Runs in the images' build stage after `tsc -b`.
// Usage: node scripts/images/bundle.mjs OUT_DIR   → OUT_DIR/{mic,nmi}/main.mjs, lazily loaded chunks/*.mjs, *.LEGAL.txt
import { build } from "esbuild";
import { join } from "node:path";

/** The deployables and where their bundle goes. */
export const DAEMONS = [
  { runner: "mic-runner", image: "mic" },
  { runner: "nmi-server", image: "nmi" },
];

const out = process.argv[2];
if (out === undefined) {
  console.error("usage: node scripts/images/bundle.mjs OUT_DIR");
  process.exit(2);
}
const root = new URL("../..", import.meta.url).pathname;
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
    // Not minified: stack traces stay readable, and the `// <path>` markers esbuild writes before each module
    // let the image test list exactly which packages an image carries.
    minify: false,
    sourcemap: false,
    legalComments: "external",
    // CommonJS dependencies call require() for Node built-ins; an ES module bundle has to provide it.
    banner: { js: 'import { createRequire as podidCreateRequire } from "node:module";\nconst require = podidCreateRequire(import.meta.url);' },
    logLevel: "warning",
    metafile: true,
  });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  console.log(`bundled ${runner} into ${join(out, image)} (${(bytes / 1e6).toFixed(1)} MB, ${Object.keys(result.metafile.inputs).length} modules)`);
}
