/**
 * The tmpfs a mount puts its files on, so that secrets live in memory only and vanish with the unmount — as the
 * original driver did, with the `mount`/`umount` commands. The mode keeps the directory writable by root alone
 * (tmpfs defaults to a world-writable 1777).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** `mount` options of the tmpfs: root-owned 0755, no devices, set-uid programs or executables. */
export const TMPFS_OPTIONS = "mode=0755,nosuid,nodev,noexec";

function commandError(command: string, error: unknown): Error {
  const stderr = typeof error === "object" && error !== null && "stderr" in error ? String(error.stderr).trim() : "";
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return new Error(`${command} failed: ${stderr === "" ? message : stderr}`);
}

/** Mounts a tmpfs at `dir`. */
export async function mountTmpfs(dir: string): Promise<void> {
  try {
    await run("mount", ["-t", "tmpfs", "-o", TMPFS_OPTIONS, "tmpfs", dir], { timeout: 30_000 });
  } catch (error) {
    throw commandError(`mount -t tmpfs tmpfs ${dir}`, error);
  }
}

/** Unmounts whatever is mounted at `dir`. */
export async function unmount(dir: string): Promise<void> {
  try {
    await run("umount", [dir], { timeout: 30_000 });
  } catch (error) {
    throw commandError(`umount ${dir}`, error);
  }
}
