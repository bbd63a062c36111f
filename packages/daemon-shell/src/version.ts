import { readFileSync } from "node:fs";

/**
 * How a daemon states its version: one constant object per daemon, in its `src/version.ts`, checked
 * against its `package.json` by a test ({@link readPackageVersion}). A constant rather than reading
 * `package.json` at run time, so the version is known without file access wherever the code is bundled.
 * @packageDocumentation
 */

/** A daemon's name and version, and the texts derived from them. */
export interface DaemonVersion {
  /** The program name (`podid-mic`). */
  readonly program: string;
  /** The package version (`0.1.0`). */
  readonly version: string;
  /** What `--version` prints: `podid-mic 0.1.0`, then the note in parentheses when there is one. */
  readonly text: string;
  /** The user agent of the daemon's outgoing requests: `podid-mic/0.1.0`, then `extra` after a space when non-empty. */
  userAgent(extra?: string): string;
}

/** States a daemon's version; `note` follows it in `--version` (e.g. `aad-pod-identity MIC compatible`). */
export function daemonVersion(program: string, version: string, note?: string): DaemonVersion {
  return {
    program,
    version,
    text: `${program} ${version}${note === undefined || note === "" ? "" : ` (${note})`}`,
    userAgent: (extra = "") => `${program}/${version}${extra === "" ? "" : ` ${extra}`}`,
  };
}

/** The `version` of the `package.json` at `packageJsonUrl` (for the test that keeps a {@link DaemonVersion} equal to it). */
export function readPackageVersion(packageJsonUrl: URL): string {
  const pkg = JSON.parse(readFileSync(packageJsonUrl, "utf8")) as { readonly version?: unknown };
  if (typeof pkg.version !== "string") throw new Error(`${packageJsonUrl.href} has no version`);
  return pkg.version;
}
