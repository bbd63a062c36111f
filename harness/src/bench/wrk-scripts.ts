/**
 * The Lua scripts `bench:nmi` gives wrk, and how long of wrk's reported duration the server was actually loaded.
 *
 * Why a saturated slice holds every connection's first request: Node's libuv accepts one connection per turn of
 * the event loop (libuv pull request 3696, since Node 20), so when wrk opens its 110 connections and sends at once,
 * the connections accepted first start their request loop and every later accept waits one whole turn, a turn
 * that serves every connection already open. Under saturation the k-th connection's first answer then comes after
 * about k turns: a staircase of 110 answers reaching 100–900 ms, which is 0.5–1 % of a one-second slice's requests,
 * so the slice's p99 fell in it or not by chance (bare server alone, 20 slices: 4 with p99 29–164 ms; with the
 * hold, 20 slices at most 10.2 ms). wrk restarts every slice, so every slice had the ramp; a node's pods keep their
 * connections. Held for {@link FIRST_REQUEST_HOLD_MS}, every connection is accepted by the idle server before any
 * request is sent, and the slice measures the steady state the benchmark is about
 * (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, ninth addendum).
 * @packageDocumentation
 */
import { WRK_HISTOGRAM_LUA } from "./latency-histogram.js";

/**
 * How long each connection's first request waits in a saturated slice: an idle server accepts 110 connections in a
 * few milliseconds, one per event-loop turn.
 */
export const FIRST_REQUEST_HOLD_MS = 50;

/** wrk's request and its `done`, printing one `BENCH {...}` summary line and the latency histogram. */
const SUMMARY_LUA = `
wrk.method = "GET"
wrk.headers["Metadata"] = "true"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, math.floor(latency:percentile(50)), math.floor(latency:percentile(99)), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
  ${WRK_HISTOGRAM_LUA}
end
`;

/**
 * The saturated script: every connection sends as soon as its answer arrives, except its first request, which
 * waits `holdMs` (wrk asks `delay()` before every request of a script that defines it; the first `connections`
 * calls are the connections' first requests). wrk's latency starts when a request is written, so the hold is never
 * counted as latency. With `holdMs` 0 there is no `delay()` at all: the script as it was before the hold.
 */
export function saturatedScript(connections: number, holdMs: number = FIRST_REQUEST_HOLD_MS): string {
  if (holdMs <= 0) return SUMMARY_LUA;
  return `${SUMMARY_LUA}
local delays = 0
delay = function()
  delays = delays + 1
  if delays <= ${String(connections)} then return ${String(holdMs)} end
  return 0
end
`;
}

/**
 * The paced script: every request, the first included, waits `delayMs` after the connection's last answer, so the
 * first requests already go out after every connection is open.
 */
export function pacedScript(delayMs: number): string {
  return `${SUMMARY_LUA}\ndelay = function() return ${String(delayMs)} end\n`;
}

/**
 * Seconds the server was loaded in a run wrk reports as `durationUs`: the saturated script's hold is idle time
 * (`holdMs`, 0 for the paced script, whose delays are its load).
 */
export function loadSeconds(durationUs: number, holdMs: number): number {
  return Math.max(durationUs / 1e6 - holdMs / 1000, 1e-6);
}
