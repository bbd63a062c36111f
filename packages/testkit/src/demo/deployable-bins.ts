/**
 * Finds the installed `podid-mic`, `podid-nmi` and `podid-kv` launchers for `podid-sim demo`. They belong to
 * `@podid/mic-runner`, `@podid/nmi-server` and `@podid/kv-flexvolume`, which are optional peers of this package: testkit must not
 * depend on the deployables (they depend on it for their tests), so they are looked up at run time the way
 * Node.js would find them from here, and only their package manifests are read — never their code.
 * @packageDocumentation
 */
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The deployables the demo runs, by package name and bin name. */
export const DEMO_DEPLOYABLES = [
  { key: "mic", packageName: "@podid/mic-runner", bin: "podid-mic" },
  { key: "nmi", packageName: "@podid/nmi-server", bin: "podid-nmi" },
  { key: "kv", packageName: "@podid/kv-flexvolume", bin: "podid-kv" },
] as const;

/** Absolute paths of the launchers to run with `node`. */
export interface DeployableBins {
  readonly mic: string;
  readonly nmi: string;
  /** The FlexVolume `azure/kv` driver the demo's simulated kubelets run. */
  readonly kv: string;
}

/** Either every launcher, or the packages that are missing (or broken) and why. */
export type DeployableBinsResult =
  | { readonly ok: true; readonly value: DeployableBins }
  | { readonly ok: false; readonly error: { readonly missing: readonly string[]; readonly problems: readonly string[] } };

/**
 * Looks each deployable up in the `node_modules` directories Node.js would search from `from` (a file URL or
 * path; the installed `@podid/testkit` itself in the CLI). A package whose exports hide `package.json` is
 * still found, because the manifest is read from its directory rather than imported.
 */
export function findDeployableBins(from: string | URL): DeployableBinsResult {
  const lookupPaths = createRequire(from).resolve.paths(DEMO_DEPLOYABLES[0].packageName) ?? [];
  const found: Partial<Record<keyof DeployableBins, string>> = {};
  const missing: string[] = [];
  const problems: string[] = [];
  for (const deployable of DEMO_DEPLOYABLES) {
    const manifestPath = lookupPaths.map((dir) => join(dir, deployable.packageName, "package.json")).find((path) => existsSync(path));
    if (manifestPath === undefined) {
      missing.push(deployable.packageName);
      continue;
    }
    const bin = binTarget(manifestPath, deployable.bin);
    if (bin === undefined) {
      problems.push(`${manifestPath} declares no "${deployable.bin}" bin`);
      continue;
    }
    const binPath = resolve(dirname(manifestPath), bin);
    if (!existsSync(binPath)) problems.push(`${deployable.packageName}'s bin ${binPath} does not exist`);
    else found[deployable.key] = binPath;
  }
  if (found.mic === undefined || found.nmi === undefined || found.kv === undefined) return { ok: false, error: { missing, problems } };
  return { ok: true, value: { mic: found.mic, nmi: found.nmi, kv: found.kv } };
}

/** The one line `podid-sim demo` prints when the deployables cannot be run. */
export function describeMissingDeployables(error: { readonly missing: readonly string[]; readonly problems: readonly string[] }): string {
  const names = DEMO_DEPLOYABLES.map((d) => d.packageName);
  const install = error.missing.length > 0 ? error.missing : names;
  return `podid-sim demo needs ${names.slice(0, -1).join(", ")} and ${names.at(-1) ?? ""} installed next to @podid/testkit: npm i -D ${install.join(" ")}${error.problems.length > 0 ? ` (${error.problems.join("; ")})` : ""}`;
}

function binTarget(manifestPath: string, binName: string): string | undefined {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof manifest !== "object" || manifest === null) return undefined;
  const bin = (manifest as { bin?: unknown }).bin;
  if (typeof bin === "string") return bin;
  if (typeof bin !== "object" || bin === null) return undefined;
  const target = (bin as Record<string, unknown>)[binName];
  return typeof target === "string" ? target : undefined;
}
