/**
 * Writes a file so that a reader sees either the old content or the whole new one: a temporary file in the same
 * directory (so the rename stays on one filesystem), then a rename over the target.
 */
import { randomBytes } from "node:crypto";
import { chmod, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";

/** The mode of every file the driver writes (the original's 0644). */
export const FILE_MODE = 0o644;

/** Writes `content` to `<dir>/<fileName>` atomically with mode 0644 (whatever the umask). */
export async function writeFileAtomically(dir: string, fileName: string, content: Uint8Array): Promise<void> {
  const temporary = join(dir, `.podid-kv-${randomBytes(8).toString("hex")}.tmp`);
  try {
    const handle = await open(temporary, "wx", FILE_MODE);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(temporary, FILE_MODE);
    await rename(temporary, join(dir, fileName));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
