/**
 * A check `npm run bench:nmi` runs with `BENCH_PERF=1`: how much of a server's CPU went to V8's runtime slow
 * path for defining object properties, sampled with Linux `perf`. A Node server process can get into a state
 * where every `process.nextTick` tick object (an object literal with computed symbol keys, created several
 * times per HTTP request by Node's streams) is built through that runtime path, with a map transition and an
 * object migration each time, instead of by optimised code. Such a process spends 5–8 % of its samples in those
 * functions (about 15 % with what they call) and measures 20–50 % dearer per request: the "candidate place's bias" of
 * docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md (fifth addendum) was this state. A ratio is only
 * trustworthy when neither of its servers is in it, so the benchmark samples each server and reports the share.
 * @packageDocumentation
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The V8 functions of that slow path (self time): the runtime's literal property definition and what it runs
 * per object — the transition to a new map, the migration of an object off a deprecated one, the lookups and
 * feedback updates around them. None of them shows up in a server whose ICs are fast (0.00 % in every
 * healthy server sampled).
 */
export const V8_SLOW_PATH_SYMBOL =
  /v8::internal::(Runtime_DefineKeyedOwnPropertyInLiteral|JSObject::MigrateToMap|Map::TransitionToDataProperty|LookupIterator::(Prepare|Apply)TransitionToDataProperty|FeedbackNexus::ic_state|TransitionsAccessor::IsMatchingMap|Object::TransitionAndWriteDataProperty|JSObject::DefineOwnPropertyIgnoreAttributes)\b/;

/** A server's sampled CPU: how many samples, and the share of them in the slow path. */
export interface SlowPathSample {
  /** Samples perf took of the process. */
  readonly samples: number;
  /** Share (0–1) of the process's samples in {@link V8_SLOW_PATH_SYMBOL}'s functions. */
  readonly share: number;
}

/** Share of a threshold above which a server counts as in the slow state (healthy servers measure 0.00 %). */
export const SLOW_STATE_SHARE = 0.01;

/**
 * Reads `perf report --no-children --sort sym --stdio --percent-limit 0` of one process: sums the overhead of
 * the slow-path symbols. Overheads are percentages of that process's samples; `samples` comes from the
 * report's `# Samples: N` header (`K`/`M` suffixes as perf prints them).
 */
export function slowPathShare(report: string): SlowPathSample {
  let percent = 0;
  let samples = 0;
  for (const line of report.split("\n")) {
    const header = /^# Samples: ([0-9.]+)([KM]?) of event/.exec(line);
    if (header !== null) {
      samples = Math.round(Number(header[1]) * (header[2] === "M" ? 1e6 : header[2] === "K" ? 1e3 : 1));
      continue;
    }
    const row = /^\s*([0-9.]+)%\s+\[[^\]]+\]\s+(.*)$/.exec(line);
    if (row !== null && V8_SLOW_PATH_SYMBOL.test(row[2] ?? "")) percent += Number(row[1]);
  }
  return { samples, share: percent / 100 };
}

/** True when `perf` can be run here (the check is skipped, with a note, when it cannot). */
export function perfAvailable(): boolean {
  return spawnSync("perf", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * Samples process `pid` for `seconds` with `perf record` (user and kernel, no call graphs) and returns the
 * slow-path share; run it while the process is under load. Throws when perf fails or takes no sample.
 */
export function samplePerf(pid: number, seconds: number): SlowPathSample {
  const dir = mkdtempSync(join(tmpdir(), "podid-perf-"));
  try {
    const data = join(dir, "perf.data");
    const record = spawnSync("perf", ["record", "-q", "-p", String(pid), "-o", data, "--", "sleep", String(seconds)], { encoding: "utf8", timeout: (seconds + 20) * 1000 });
    if (record.status !== 0) throw new Error(`perf record failed: ${record.stderr}`);
    const report = spawnSync("perf", ["report", "-i", data, "--no-children", "--sort", "sym", "--stdio", "--percent-limit", "0"], {
      encoding: "utf8",
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (report.status !== 0) throw new Error(`perf report failed: ${report.stderr}`);
    const sample = slowPathShare(report.stdout);
    // No samples would read as a healthy 0 %: the process was not running, or perf could not see it.
    if (sample.samples === 0) throw new Error(`perf took no samples of process ${String(pid)}`);
    return sample;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
