/**
 * `podid-kv unmount <dir>`: take the tmpfs off if one is mounted, then remove the files the driver wrote and the
 * directory. Only plain files directly inside the directory are removed (never a recursive delete of a path
 * kubelet handed over); an unmounted or missing directory is already unmounted, so that is a success.
 */
import { readdir, rm, rmdir } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { failure, SUCCESS, type FlexStatus } from "./flex-status.js";
import type { DriverLog } from "./log.js";
import { fsTypeMountedAt } from "./mount-table.js";
import { unmount } from "./tmpfs.js";

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isMissing(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === "ENOENT";
}

/** Runs one unmount call and answers kubelet. */
export async function unmountVolume(dir: string, log: DriverLog): Promise<FlexStatus> {
  if (!isAbsolute(dir) || dir === "/") return failure(`unmount directory ${JSON.stringify(dir)} is not an absolute path below /`);
  try {
    const fsType = await fsTypeMountedAt(dir);
    if (fsType !== undefined) {
      await unmount(dir);
      log.info({ dir, fsType }, "unmounted");
    }
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.isFile() || entry.isSymbolicLink()) await rm(join(dir, entry.name), { force: true });
    }
    await rmdir(dir);
    log.info({ dir, removedFiles: entries.length }, "removed");
    return SUCCESS;
  } catch (error) {
    if (isMissing(error)) {
      log.info({ dir }, "nothing to unmount");
      return SUCCESS;
    }
    return failure(`could not unmount ${dir}: ${errorText(error)}`);
  }
}
