import { randomBytes } from "node:crypto";
import { assertSucceeded, runCommand } from "./run-command.js";

/** Prefix of every namespace the harness creates (`podid-<pid>-<random>-<role>`). */
export const DEFAULT_NETNS_PREFIX = "podid";

/** Linux limits interface names to 15 characters (`IFNAMSIZ` 16 with the NUL). */
export const MAX_INTERFACE_NAME_LENGTH = 15;

/**
 * A fresh run id for namespace names. The creating process id is part of the name so a later sweep can
 * tell namespaces of a crashed run (owner gone) from those of a run still in progress in another worker.
 */
export function newNetnsRunId(prefix: string = DEFAULT_NETNS_PREFIX): string {
  if (!/^[a-z][a-z0-9]{0,9}$/.test(prefix)) throw new Error(`netns prefix must be 1-10 lower-case letters/digits: ${prefix}`);
  return `${prefix}-${String(process.pid)}-${randomBytes(3).toString("hex")}`;
}

/** The process id encoded in a harness namespace name with `prefix`, or `undefined` for other names. */
export function netnsOwnerPid(name: string, prefix: string = DEFAULT_NETNS_PREFIX): number | undefined {
  const match = new RegExp(`^${prefix}-([0-9]+)-[0-9a-f]+-`).exec(name);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The names `ip netns list` prints (it appends ` (id: N)` to namespaces that have a peer id). */
export async function listNetns(): Promise<readonly string[]> {
  const argv = ["ip", "netns", "list"];
  const result = assertSucceeded(argv, await runCommand(argv, { timeoutMs: 5_000 }));
  return result.stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0] ?? "")
    .filter((name) => name !== "");
}

/** Kills every process inside namespace `name` (SIGKILL) and deletes it; ignores a namespace already gone. */
export async function deleteNetns(name: string): Promise<void> {
  const pids = await runCommand(["ip", "netns", "pids", name], { timeoutMs: 5_000 });
  for (const pid of pids.stdout.split(/\s+/).filter((p) => /^[0-9]+$/.test(p))) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await runCommand(["ip", "netns", "del", name], { timeoutMs: 5_000 });
}

/**
 * Deletes namespaces with `prefix` whose creating process no longer exists (left behind by a run that
 * was killed before its cleanup ran). Returns the names it deleted.
 */
export async function sweepStaleNetns(prefix: string = DEFAULT_NETNS_PREFIX): Promise<readonly string[]> {
  const stale = (await listNetns()).filter((name) => {
    const pid = netnsOwnerPid(name, prefix);
    return pid !== undefined && !processAlive(pid);
  });
  for (const name of stale) await deleteNetns(name);
  return stale;
}
