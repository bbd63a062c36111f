/**
 * Process-side helpers of `nmi-footprint.ts`: /proc readings of the NMI process, bounded waits, requests as a
 * pod (from the pod's loopback address) and the cached-token load.
 * @packageDocumentation
 */
import type { ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { processCpuSeconds, processMemory } from "./proc-stats.js";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { tokenUrl } from "@podid/testkit";

const MB = 1024 * 1024;
/** Bound of the load phase. */
const LOAD_TIMEOUT_MS = 30_000;

/** MB rounded to one decimal. */
export const round = (mb: number) => Math.round(mb * 10) / 10;

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Cached-token load after the warm-up: what a memory flag costs in latency and CPU. */
export interface NmiLoadFigures {
  readonly requests: number;
  readonly ok: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** NMI's CPU time per 1,000 requests, ms (user + system, from /proc): less noisy than wall-clock on a shared machine. */
  readonly cpuMsPer1000: number;
  /** NMI's resident memory after the load, and its peak over the whole run, MB. */
  readonly rssMb: number;
  readonly hwmMb: number;
}

/** VmRSS and VmHWM of `pid`, in MB. */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number; anonMb: number; fileMb: number } {
  const memory = processMemory(pid);
  if (memory === undefined) throw new Error(`process ${String(pid)} is gone: no /proc/${String(pid)}/status`);
  return { rssMb: memory.rss / MB, hwmMb: memory.hwm / MB, anonMb: memory.anon / MB, fileMb: memory.file / MB };
}

/** Where a process's resident memory is, from `/proc/<pid>/smaps`, MB. */
export interface ResidentByMapping {
  /** Pages of the `node` executable (file-backed: its code and read-only data, shared with every Node process). */
  readonly nodeBinaryMb: number;
  /** Pages of other files (shared libraries). */
  readonly otherFilesMb: number;
  /** glibc's main malloc arena (`[heap]`): what the process's C++ side and Node allocate with malloc. */
  readonly brkHeapMb: number;
  /** Every other private mapping: V8's heap pages, the malloc arenas of threads, thread stacks, JIT code. */
  readonly otherAnonMb: number;
}

/** Sums the `Rss` of `pid`'s mappings by {@link ResidentByMapping} category. */
export async function residentByMapping(pid: number): Promise<ResidentByMapping> {
  const smaps = await readFile(`/proc/${pid}/smaps`, "utf8");
  const kb = { nodeBinary: 0, otherFiles: 0, brkHeap: 0, otherAnon: 0 };
  let name = "";
  for (const line of smaps.split("\n")) {
    // A mapping's header: `start-end perms offset dev inode [name]`; its `Rss:` line follows.
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header !== null) {
      name = header[1] ?? "";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss === null) continue;
    const value = Number(rss[1]);
    if (name === "[heap]") kb.brkHeap += value;
    else if (name.startsWith("/")) {
      if (name.endsWith("/node")) kb.nodeBinary += value;
      else kb.otherFiles += value;
    } else kb.otherAnon += value;
  }
  return { nodeBinaryMb: round(kb.nodeBinary / 1024), otherFilesMb: round(kb.otherFiles / 1024), brkHeapMb: round(kb.brkHeap / 1024), otherAnonMb: round(kb.otherAnon / 1024) };
}

/** User + system CPU time of `pid`, ms. */
export function cpuMsOf(pid: number): number {
  const { user, system } = processCpuSeconds(pid);
  return (user + system) * 1000;
}

/** The NMI child process and the tail of its stderr. */
export interface RunningNmi {
  readonly process: ChildProcess;
  readonly stderr: () => string;
}

/** Waits until `check` holds, polling every 50 ms; throws with `what` after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number, child?: RunningNmi): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child !== undefined && child.process.exitCode !== null) throw new Error(`podid-nmi exited (${child.process.exitCode}) while waiting for ${what}: ${child.stderr()}`);
    try {
      if (await check()) return;
    } catch {
      // Not yet.
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${child === undefined ? "" : `: ${child.stderr()}`}`);
}

/** GET `path` from NMI as the pod at `localAddress`; resolves with the status. */
export function getAs(port: number, localAddress: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, localAddress, headers: { Metadata: "true" }, agent: false, timeout: 30_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("token request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * `total` cached-token requests from the node's pods over keep-alive connections (16 in flight), bounded by
 * `LOAD_TIMEOUT_MS`; latencies are wall-clock (noisy on a shared machine), CPU comes from /proc.
 */
export async function cachedTokenLoad(port: number, pid: number, podIps: readonly string[], total: number, resource: string): Promise<NmiLoadFigures> {
  const agents = podIps.slice(0, 16).map((localAddress) => new Agent({ keepAlive: true, maxSockets: 1, localAddress }));
  const latencies: number[] = [];
  let sent = 0;
  let ok = 0;
  const deadline = Date.now() + LOAD_TIMEOUT_MS;
  const cpuBefore = cpuMsOf(pid);
  const started = performance.now();
  try {
    await Promise.all(
      agents.map(async (agent) => {
        while (sent < total && Date.now() < deadline) {
          sent++;
          const t0 = performance.now();
          const status = await new Promise<number>((resolve, reject) => {
            const req = request({ host: "127.0.0.1", port, path: tokenUrl(resource), agent, headers: { Metadata: "true" }, timeout: 10_000 }, (res) => {
              res.resume();
              res.on("end", () => resolve(res.statusCode ?? 0));
            });
            req.on("timeout", () => req.destroy(new Error("token request timed out")));
            req.on("error", reject);
            req.end();
          });
          latencies.push(performance.now() - t0);
          if (status === 200) ok++;
        }
      }),
    );
  } finally {
    for (const agent of agents) agent.destroy();
  }
  const elapsedMs = performance.now() - started;
  const cpuMs = cpuMsOf(pid) - cpuBefore;
  const memory = memoryOf(pid);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 100) / 100;
  return { requests: latencies.length, ok, perSecond: Math.round((latencies.length / elapsedMs) * 1000), p50Ms: at(0.5), p99Ms: at(0.99), cpuMsPer1000: Math.round((cpuMs / Math.max(1, latencies.length)) * 1000), rssMb: round(memory.rssMb), hwmMb: round(memory.hwmMb) };
}

/** A free loopback port (bound and released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}
