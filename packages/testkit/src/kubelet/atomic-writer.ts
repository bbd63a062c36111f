/**
 * kubelet's AtomicWriter, which updates the files of secret, configMap, downwardAPI and projected volumes so
 * that a reader never sees a mix of old and new content: the payload goes into a fresh timestamped
 * directory `..<UTC time>.<random>`, the symlink `..data` is switched to it with one rename, and each
 * user-visible top-level name is a symlink into `..data` (`token` → `..data/token`). The old payload
 * directory is removed afterwards. Readers that open `<volume>/<path>` follow the symlinks and always get
 * one complete version.
 * @packageDocumentation
 */
import { lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile, chmod } from "node:fs/promises";
import { dirname, join, posix } from "node:path";

/** The symlink naming the current payload directory. */
export const DATA_DIR_NAME = "..data";
const DATA_TMP_NAME = "..data_tmp";

/** One file of a volume's payload: a relative path, its content and its mode. */
export interface PayloadFile {
  readonly path: string;
  readonly content: string | Uint8Array;
  readonly mode: number;
}

/**
 * Why `path` cannot be a payload path (kubelet's rules: relative, no `..` element, not starting with `..`,
 * at most 4096 characters), or `undefined` when it can.
 */
export function invalidPayloadPath(path: string): string | undefined {
  if (path === "") return "path must not be empty";
  if (path.length > 4096) return "path must be at most 4096 characters";
  if (posix.isAbsolute(path)) return `path ${JSON.stringify(path)} must be relative`;
  if (path.split("/").includes("..")) return `path ${JSON.stringify(path)} must not contain '..'`;
  if (path.startsWith("..")) return `path ${JSON.stringify(path)} must not start with '..'`;
  return undefined;
}

function timestampPrefix(date: Date): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, "0");
  return `..${date.getUTCFullYear()}_${pad(date.getUTCMonth() + 1)}_${pad(date.getUTCDate())}_${pad(date.getUTCHours())}_${pad(date.getUTCMinutes())}_${pad(date.getUTCSeconds())}.`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Replaces the payload of the volume directory `targetDir` with `files` atomically (creating the directory
 * when needed). Throws for an invalid path, before anything is written.
 */
export async function writeVolumePayload(targetDir: string, files: readonly PayloadFile[], now: Date = new Date()): Promise<void> {
  for (const file of files) {
    const why = invalidPayloadPath(file.path);
    if (why !== undefined) throw new Error(why);
  }
  await mkdir(targetDir, { recursive: true });
  const dataLink = join(targetDir, DATA_DIR_NAME);
  const previous = (await exists(dataLink)) ? await readlink(dataLink) : undefined;

  const payloadDir = await mkdtemp(join(targetDir, timestampPrefix(now)));
  await chmod(payloadDir, 0o755);
  for (const file of files) {
    const target = join(payloadDir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content, { mode: file.mode });
    await chmod(target, file.mode); // writeFile's mode is filtered by the umask; kubelet sets it exactly
  }

  const tmpLink = join(targetDir, DATA_TMP_NAME);
  await rm(tmpLink, { force: true });
  await symlink(payloadDir.slice(targetDir.length + 1), tmpLink);
  await rename(tmpLink, dataLink);

  const visible = new Set(files.map((file) => file.path.split("/")[0] ?? file.path));
  for (const name of visible) {
    const link = join(targetDir, name);
    if (!(await exists(link))) await symlink(join(DATA_DIR_NAME, name), link);
  }
  for (const entry of await readdir(targetDir)) {
    if (entry.startsWith("..") || visible.has(entry)) continue;
    await rm(join(targetDir, entry), { recursive: true, force: true });
  }
  if (previous !== undefined && previous !== payloadDir.slice(targetDir.length + 1)) {
    await rm(join(targetDir, previous), { recursive: true, force: true });
  }
}
