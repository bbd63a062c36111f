/**
 * What the benchmarks read about a process or a CPU from Linux's `/proc`, in one place: CPU time from
 * `/proc/<pid>/stat` (in seconds, by the system's clock-tick rate), resident memory from `/proc/<pid>/status`,
 * and a CPU's busy time from `/proc/stat`. Readings from a real process, never from a simulation.
 * @packageDocumentation
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Clock ticks per second of `/proc`'s CPU times (`getconf CLK_TCK`; Linux's USER_HZ, 100 where it cannot be read). */
export const CLOCK_TICKS_PER_SECOND = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;

/** User and system CPU time of `pid` so far, in seconds (all its threads). Throws once the process is gone. */
export function processCpuSeconds(pid: number): { readonly user: number; readonly system: number } {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
  // The command name in parentheses may hold spaces: fields are counted after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, system: Number(fields[12]) / CLOCK_TICKS_PER_SECOND };
}

/** Resident memory of a process, bytes, from `/proc/<pid>/status`. */
export interface ProcessMemory {
  /** `VmRSS`: resident now. */
  readonly rss: number;
  /** `VmHWM`: the most it was resident at once. */
  readonly hwm: number;
  /** `RssAnon` and `RssFile`: the anonymous and file-backed parts of `rss`. */
  readonly anon: number;
  readonly file: number;
}

/** {@link ProcessMemory} of `pid`; `undefined` once the process is gone. */
export function processMemory(pid: number): ProcessMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${String(pid)}/status`, "utf8");
  } catch {
    return undefined;
  }
  const bytes = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: bytes("VmRSS"), hwm: bytes("VmHWM"), anon: bytes("RssAnon"), file: bytes("RssFile") };
}

/** Busy and total clock ticks of CPU `cpu` since boot (`/proc/stat`; idle and iowait are not busy). */
export function cpuTicks(cpu: string): { readonly busy: number; readonly total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(`cpu${cpu} `)) ?? "";
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/** The median of `values` (the upper one of an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
