/**
 * The NMI image's entry point as the footprint bench runs it: the bundle `scripts/images/bundle.mjs` builds
 * (what the image carries as /app/main.mjs), started with the node flags of the Dockerfile's `ENTRYPOINT` and
 * the variables of its `ENV` lines — read from packages/nmi-server/Dockerfile itself, so the bench measures
 * what ships and follows any change there (docs/adr/0015-nmi-reads-only-what-it-uses.md).
 * @packageDocumentation
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** How the image starts NMI, read from its Dockerfile. */
export interface ImageLaunch {
  /** Node flags between the node binary and the script in `ENTRYPOINT`, e.g. `["--max-semi-space-size=1"]`. */
  readonly nodeFlags: readonly string[];
  /** The image's `ENV` variables, without `PATH` (the bench keeps the host's, where `node` and the tools are). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Reads the node flags and environment of an image's Dockerfile. Throws a clear error when the `ENTRYPOINT`
 * is not the exec form `["<node>", …flags, "<script>"]` the bench can reproduce.
 */
export function readImageLaunch(dockerfile: string): ImageLaunch {
  const lines = dockerfile.split("\n").map((l) => l.trim());
  const entrypoint = lines.filter((l) => l.startsWith("ENTRYPOINT ")).at(-1);
  if (entrypoint === undefined) throw new Error("the Dockerfile has no ENTRYPOINT");
  let argv: unknown;
  try {
    argv = JSON.parse(entrypoint.slice("ENTRYPOINT ".length));
  } catch {
    throw new Error(`the Dockerfile's ENTRYPOINT is not the exec (JSON array) form: ${entrypoint}`);
  }
  if (!Array.isArray(argv) || argv.length < 2 || !argv.every((a): a is string => typeof a === "string") || !argv[0]?.endsWith("/node")) {
    throw new Error(`the Dockerfile's ENTRYPOINT is not ["<node>", …flags, "<script>"]: ${entrypoint}`);
  }
  const env: Record<string, string> = {};
  for (const line of lines.filter((l) => l.startsWith("ENV "))) {
    // `ENV NAME=value` (one pair a line, unquoted values: what podid's Dockerfiles use).
    const match = /^ENV\s+([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(line);
    if (match === null) throw new Error(`unsupported ENV line (expected ENV NAME=value): ${line}`);
    const [, name = "", value = ""] = match;
    if (name !== "PATH") env[name] = value;
  }
  return { nodeFlags: argv.slice(1, -1), env };
}

/**
 * Bundles the daemons into `outDir` with the image build's own script (after `tsc -b`, as the image's build
 * stage does) and returns NMI's bundled entry point with the image's launch settings.
 */
export function buildNmiImageEntry(root: string, outDir: string): ImageLaunch & { readonly entry: string } {
  const bundled = spawnSync(process.execPath, [join(root, "scripts/images/bundle.mjs"), outDir], { encoding: "utf8", timeout: 120_000 });
  if (bundled.status !== 0) throw new Error(`scripts/images/bundle.mjs failed (${String(bundled.status ?? bundled.signal)}): ${bundled.stderr.trim()}`);
  return { entry: join(outDir, "nmi", "main.mjs"), ...readImageLaunch(readFileSync(join(root, "packages/nmi-server/Dockerfile"), "utf8")) };
}
