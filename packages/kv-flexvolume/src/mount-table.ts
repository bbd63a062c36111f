/**
 * Whether a directory is a mount point, from the kernel's `/proc/self/mountinfo` (what `findmnt`, which the
 * original driver used, reads too).
 */
import { readFile } from "node:fs/promises";

/** Undoes mountinfo's octal escapes (`\040` for a space, `\011`, `\012`, `\134`). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The mount point (fifth field) of every line of a mountinfo text. */
export function mountPoints(mountinfo: string): string[] {
  return mountinfo
    .split("\n")
    .map((line) => line.split(" ")[4])
    .filter((field): field is string => field !== undefined && field !== "")
    .map(unescapeMountField);
}

/** The filesystem type of the last mount at `dir` (the one visible there), or `undefined` when none. */
export function mountedFsType(mountinfo: string, dir: string): string | undefined {
  let found: string | undefined;
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    if (fields[4] === undefined || unescapeMountField(fields[4]) !== dir) continue;
    const separator = fields.indexOf("-");
    found = separator >= 0 ? (fields[separator + 1] ?? "") : "";
  }
  return found;
}

/** The filesystem type mounted at `dir` in this process's mount namespace, or `undefined`. */
export async function fsTypeMountedAt(dir: string): Promise<string | undefined> {
  return mountedFsType(await readFile("/proc/self/mountinfo", "utf8"), dir);
}
