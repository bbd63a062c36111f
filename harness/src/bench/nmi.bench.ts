/**
 * `npm run bench:nmi`: what NMI's token path costs per request, against a bare `node:http` server returning
 * the same token body, measured so that the server is the bottleneck and nothing else:
 *
 * - everything runs in a network namespace the benchmark creates (`podid-<pid>-…-bench`, deleted at the end);
 * - the servers — bare, NMI as shipped (`packages/nmi-server/dist/main.js`) and NMI deciding every request
 *   (`nmi-bench-nmi-main.ts`: the same composition with the decision memo off), all three with the node flags
 *   and ENV of the image's Dockerfile, and a second bare server with Node's own heap settings (what the image's
 *   settings cost a server that only does HTTP) — are separate processes pinned to CPU 0; `wrk` (one thread, 110
 *   keep-alive connections), this process and the fake kube-apiserver + IMDS process are pinned to CPU 1;
 * - 110 pods run on the node, each with its own source address: an iptables SNAT round robin in the
 *   namespace gives each of wrk's connections one pod's address, so NMI attributes every request by IP
 *   exactly as in production (its informers read the fake kube-apiserver over HTTP);
 * - a pod label changes every 100 ms through the fake kube-apiserver during every run, so NMI's caches keep
 *   receiving pod events;
 * - the cost is server CPU time per request — utime + stime of the server process from /proc over the run ÷
 *   requests wrk completed — which other load on the machine barely moves, unlike throughput; p99 comes from
 *   wrk's latency distribution, in the steady state: wrk restarts every slice, and each connection's first request
 *   waits until the idle server has accepted them all (`wrk-scripts.ts`: Node accepts one connection per event-loop
 *   turn, and a ramp of 110 late first answers otherwise decided a slice's p99 by chance);
 * - idle CPUs poll instead of halting during the runs (`/dev/cpu_dma_latency` held at 0 µs; `BENCH_IDLE_POLL=0`
 *   turns it off): on a virtual machine, waking a halted CPU costs the waker an interrupt and a VM exit, which
 *   the slower server paid more often inside its own writes (see `idle-poll.ts`). Only where the kernel's cpuidle
 *   has a polling state; without one (some virtual machines) the header line says idle CPUs halt;
 * - with `BENCH_PERF=1`, every server is loaded again after the rounds and sampled with `perf`, at once and after
 *   sitting idle for `BENCH_PERF_QUIET_S` (as a node's NMI mostly does); its CPU per request then and the share
 *   of its CPU in a V8 slow path that makes a process 20–50 % dearer per request are printed (`v8-slow-path.ts`),
 *   so a ratio taken from a server in that state can be told apart from NMI's own cost;
 *
 * Warm-up, then `BENCH_REPS` (default 3) rounds of `BENCH_SECONDS` (default 6) one-second slices of
 * bare → shipped → decided → bare with Node's heap settings (interleaved, each variant's slices summed), saturated and then paced at one common rate (`BENCH_PACED_RPS`, see below); per-run figures, medians, then the upstream-call count per token lifetime (in-process, as before)
 * and one JSON line. Needs root, `ip`, `iptables`, `taskset`, `curl` and `wrk`; says which is missing.
 * @packageDocumentation
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serialiseAzureAssignedIdentity, serialiseAzureIdentity, serialiseAzureIdentityBinding, serialiseNode, serialisePod, computeTargetId, type PodView } from "@podid/core";
import { makeAssigned, makeBinding, makePod, NetnsHandle } from "@podid/testkit";
import { e2eIdentity, NMI_MAIN, NODE_FAKES_MAIN, NODE_NAME, SCALE_SET, VAULT } from "../nmi-e2e/e2e-node.js";
import { NodeFakes } from "../nmi-e2e/node-fakes.js";
import { tokenTarget } from "../nmi-e2e/pod-clients.js";
import { measureUpstreamCalls, UPSTREAM_SCENARIO } from "./nmi-upstream-lifetime.js";
import { readImageLaunch } from "./nmi-footprint-image.js";
import { candidateArgv, isBareCandidate, launchOf, NODE_DEFAULTS_LAUNCH, overrideNodeFlags, type CandidateRequest, type Variant } from "./nmi-bench-launch.js";
import { holdIdlePolling, type IdlePollHold } from "./idle-poll.js";
import { sliceOrder } from "./slice-order.js";
import { CLOCK_TICKS_PER_SECOND, cpuTicks, median, processCpuSeconds, processMemory } from "./proc-stats.js";
import { parseHistogramLine } from "./latency-histogram.js";
import { FIRST_REQUEST_HOLD_MS, loadSeconds, pacedScript, saturatedScript } from "./wrk-scripts.js";
import { mergeSlices, ratiosTo, type Run } from "./nmi-bench-runs.js";
import { perfAvailable, samplePerf, SLOW_STATE_SHARE } from "./v8-slow-path.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CRDS = join(ROOT, "deploy/crds.yaml");
const BARE_MAIN = fileURLToPath(new URL("./nmi-bench-bare-main.js", import.meta.url));
const DECIDED_MAIN = fileURLToPath(new URL("./nmi-bench-nmi-main.js", import.meta.url));

/** `process.env[name]` as a positive number of milliseconds, `fallback` when unset; a clear error for anything else. */
function positiveMilliseconds(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of milliseconds, not ${JSON.stringify(text)}`);
  return value;
}

/** Slices per round (one second each); 6 covers every order of the three variants' Williams design once. */
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? "6");
const REPS = Number(process.env["BENCH_REPS"] ?? "3");
const WARMUP_SECONDS = 3;
const PODS = 110;
const IDENTITIES = 10;
/**
 * How often one pod of the node changes (`BENCH_POD_EVENT_MS`, default 100 ms): the churn NMI's informers and
 * decision memo see under load. A large value all but stops the events, to tell their cost from the rest.
 */
const POD_EVENT_EVERY_MS = positiveMilliseconds("BENCH_POD_EVENT_MS", 100);
const SERVER_CPU = "0";
const GENERATOR_CPU = "1";
const NAMESPACE = "bench";
const TARGET = tokenTarget(VAULT);
/**
 * `BENCH_NICE` (e.g. `-10`, root only): the servers and wrk run at this nice value, so that on a machine busy
 * with other work they are not starved — a starved server handles few requests per wake-up and its CPU per
 * request rises. Unset: normal priority.
 */
const NICE: readonly string[] = process.env["BENCH_NICE"] === undefined ? [] : ["nice", "-n", process.env["BENCH_NICE"]];
/**
 * How the image starts NMI (the node flags of its `ENTRYPOINT` and its `ENV`, read from its Dockerfile): both NMI
 * variants run with them, so the CPU per request is the shipped process's, young-generation cap and malloc
 * settings included (docs/adr/0017-nmi-as-shipped-footprint.md) — and so does the bare server, the baseline of
 * every ratio, so that a ratio compares work per request and not two heap configurations: the image's 2 MB young
 * generation made a bare server 11–18 % dearer at saturation in some runs (more scavenges of the same in-flight
 * requests) and 0–4 % in others, and a baseline with Node's larger one would count that memory choice as NMI's
 * work. The second bare server (`bareDefaults`, `NODE_DEFAULTS_LAUNCH`) keeps Node's heap settings, and its
 * ratios are printed too, so that cost stays in view (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, sixth
 * addendum).
 */
/**
 * `BENCH_PACED_RPS` (default 3000; 0 turns it off): after each saturated round, a paced round in which every
 * variant is offered the same request rate, well below what the slowest one can serve. Why both: at saturation
 * the slower server handles fewer requests per wake-up, and the kernel's and the event loop's per-wake-up costs
 * (socket wake-ups of wrk, epoll, timers) then fall on fewer requests — a bare server made to spend 30 µs more
 * per request measured about 1.4 × 30 µs more per request at saturation — so the saturated ratio overstates the
 * extra work itself. At one common rate both servers wake up about once per request; that is closer to a
 * node's real load, and every request then also pays for its code and data being cold in the CPU's caches, which
 * costs NMI, with more code per request, more than the bare server
 * (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, addendum).
 */
const PACED_RPS = Number(process.env["BENCH_PACED_RPS"] ?? "3000");
/**
 * `BENCH_NMI_NODE_FLAGS` (space-separated; empty for none) replaces the image's node flags for both NMI variants,
 * to measure another setting before it goes into the Dockerfile, or to trace them (`--trace-gc`, `--cpu-prof`:
 * Node refuses those in `NODE_OPTIONS`); the header line prints the flags in force.
 */
const IMAGE_LAUNCH = readImageLaunch(readFileSync(join(ROOT, "packages/nmi-server/Dockerfile"), "utf8"));
/** The two NMIs' launch: the image's, with `BENCH_NMI_NODE_FLAGS` in place of its flags when set. */
const NMI_LAUNCH = overrideNodeFlags(IMAGE_LAUNCH, process.env["BENCH_NMI_NODE_FLAGS"]);
/**
 * `BENCH_SERVER_STDOUT_DIR=<dir>`: each server's stdout (NMI's log and audit lines, `--trace-gc` output) goes to
 * `<dir>/<variant>.log` instead of `/dev/null`, for diagnosis; the file's writes then count in NMI's CPU time.
 */
const STDOUT_DIR = process.env["BENCH_SERVER_STDOUT_DIR"];
/** `BENCH_IDLE_POLL=0`: idle CPUs halt as usual (the wake-up cost then falls on the slower server, see above). */
const IDLE_POLL = process.env["BENCH_IDLE_POLL"] !== "0";
/**
 * `BENCH_PERF=1`: after the rounds, every server is sampled with Linux `perf` under load, first at once and then
 * after a quiet period, and the share of its CPU in V8's runtime slow path for property definition is printed
 * (`v8-slow-path.ts`). A server in that state measures 20–50 % dearer per request, so a ratio it takes part in is
 * the V8 state's, not NMI's (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, fifth addendum). Off by default:
 * it needs `perf`.
 */
const PERF_CHECK = process.env["BENCH_PERF"] === "1";
/**
 * `BENCH_PERF_QUIET_S` (default 30): how long every server sits idle before the `BENCH_PERF` check — a node's NMI
 * is idle most of the time, and V8's memory reducer collects garbage in such pauses (which is what puts a process
 * into the slow state; see the ADR above).
 */
const PERF_QUIET_S = Number(process.env["BENCH_PERF_QUIET_S"] ?? "30");

/** ` (slices a–b)`: the range of a merged run's per-slice figures (`digits` decimals), when it has more than one slice. */
function sliceRange(perSlice: readonly number[], digits: number): string {
  if (perSlice.length < 2) return "";
  return ` (slices ${Math.min(...perSlice).toFixed(digits)}–${Math.max(...perSlice).toFixed(digits)})`;
}

/** Width of the variant column in the printed lines (the longest name, `bareDefaults`). */
const VARIANT_COLUMN = 12;

/** One `BENCH_PERF` check: every server loaded for 3 s after `quietS` seconds idle and sampled by perf. */
interface PerfCheck {
  readonly quietS: number;
  readonly servers: { readonly variant: Variant; readonly share: number; readonly cpuUsPerRequest: number }[];
}

/** Prints a check: each server's CPU per request (× bare) and its share of samples in V8's slow path. */
function printPerfCheck(check: PerfCheck): void {
  const bare = check.servers.find((s) => s.variant === "bare")?.cpuUsPerRequest ?? Number.NaN;
  console.log(
    `  V8 slow-path check ${check.quietS === 0 ? "right after the rounds" : `after ${String(check.quietS)} s idle`} ` +
      "(3 s of load each, sampled by perf, whose own cost makes these figures dearer than the rounds'):",
  );
  for (const s of check.servers) {
    console.log(
      `    ${s.variant.padEnd(VARIANT_COLUMN)} ${s.cpuUsPerRequest.toFixed(1).padStart(6)} µs CPU/req (${(s.cpuUsPerRequest / bare).toFixed(2)} × bare), ` +
        `${(s.share * 100).toFixed(2)} % of its samples in V8's runtime property definition and object migration${s.share > SLOW_STATE_SHARE ? " — IN THE SLOW STATE" : ""}`,
    );
  }
  const slow = check.servers.filter((s) => s.share > SLOW_STATE_SHARE).map((s) => s.variant);
  console.log(
    slow.length === 0
      ? "    no server in V8's slow state"
      : `    WARNING: ${slow.join(", ")} in V8's slow state (above ${(SLOW_STATE_SHARE * 100).toFixed(0)} %): a ratio with ${slow.length === 1 ? "it" : "them"} measures that state, not NMI's own work`,
  );
}

/** wrk's summary, printed by the Lua script's `done` as one `BENCH {...}` line. */
interface WrkSummary {
  readonly requests: number;
  readonly durationUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly status: number;
  readonly timeout: number;
}

/**
 * `BENCH_CANDIDATE_MAIN=<an NMI entry .js>` adds a fifth variant, interleaved with the others: that entry (with
 * `BENCH_CANDIDATE_NODE_FLAGS`, default the image's flags) — another build of NMI, or the shipped one with other
 * node flags — so a change is measured against the code before it in the very same slices, which this
 * machine's drift otherwise drowns. Printed beside the others and as `candidateCpuRatio`; no target reads it.
 *
 * `BENCH_CANDIDATE_MAIN=bare` is the A/A control of that slot: the bare server itself (its entry, arguments, flags
 * and environment) in the candidate's place. The slot once read 1.13–1.41 × the bare slot (ADR 4, fourth
 * addendum): the servers there had fallen into V8's slow state (fifth addendum); with the memory reducer off the
 * control reads 0.93–1.05 (sixth addendum). A candidate's ratio still means most next to this control's, run
 * the same way. With `BENCH_CANDIDATE_NODE_FLAGS` the control runs with those flags instead of the image's, which
 * tells what a node flag does for a server that does nothing but HTTP (ADR 4, twelfth addendum).
 */
const CANDIDATE_MAIN = process.env["BENCH_CANDIDATE_MAIN"];
const CANDIDATE_FLAGS = process.env["BENCH_CANDIDATE_NODE_FLAGS"];
const CANDIDATE: CandidateRequest = { main: CANDIDATE_MAIN, nodeFlags: CANDIDATE_FLAGS };
/** The candidate slot runs the bare server (see above). */
const CANDIDATE_IS_BARE = isBareCandidate(CANDIDATE);
/** What the candidate slot runs, as the summary line names it. */
const CANDIDATE_DESCRIPTION = describeCandidate();

/** See {@link CANDIDATE_DESCRIPTION}. */
function describeCandidate(): string {
  if (!CANDIDATE_IS_BARE) return `${CANDIDATE_MAIN ?? ""} ${CANDIDATE_FLAGS ?? "with the image's flags"}`;
  if (CANDIDATE_FLAGS === undefined) return "the bare server itself: this slot's own bias, the A/A control";
  return `the bare server itself with ${CANDIDATE_FLAGS}`;
}
const VARIANTS: readonly Variant[] = CANDIDATE_MAIN === undefined ? ["bare", "shipped", "decided", "bareDefaults"] : ["bare", "shipped", "decided", "bareDefaults", "candidate"];

interface ServerProcess {
  readonly variant: Variant;
  readonly child: ChildProcess;
  readonly port: number;
}

/** Why the benchmark cannot run here, or `undefined`. */
function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return "it needs root (network namespace, iptables SNAT); run it as root";
  for (const tool of ["ip", "iptables", "taskset", "curl", "wrk"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `\`${tool}\` is not installed (Debian: apt-get install ${tool === "ip" ? "iproute2" : tool})`;
  }
  return undefined;
}

async function main(): Promise<void> {
  const missing = missingPrerequisite();
  if (missing !== undefined) {
    console.error(`bench:nmi cannot run: ${missing}`);
    process.exit(1);
  }
  // This process and everything it spawns without its own pinning (the fakes) share the generator's CPU.
  spawnSync("taskset", ["-a", "-p", "-c", GENERATOR_CPU, String(process.pid)], { stdio: "ignore" });
  const dir = await mkdtemp(join(tmpdir(), "podid-bench-nmi-"));
  // The harness's naming (`podid-<owner pid>-<random>-<role>`), so testkit's sweep removes it after a crash.
  const nsName = `podid-${String(process.pid)}-${randomBytes(3).toString("hex")}-bench`;
  const ns = new NetnsHandle(nsName);
  const children: ChildProcess[] = [];
  let fakes: NodeFakes | undefined;
  let pumping = false;
  let pump: Promise<void> = Promise.resolve();
  let idlePoll: IdlePollHold | undefined;
  const cleanUp = async (): Promise<void> => {
    idlePoll?.release();
    pumping = false;
    await pump.catch(() => undefined);
    // SIGTERM first (NMI drains, a profile gets written), SIGKILL for whatever is left after 5 s.
    const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
    const exited = running.map((child) => new Promise<void>((resolve) => child.once("exit", () => resolve())));
    for (const child of running) child.kill("SIGTERM");
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 5_000))]);
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await fakes?.stop().catch(() => undefined);
    spawnSync("ip", ["netns", "delete", nsName], { stdio: "ignore" });
    await rm(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanUp().then(() => process.exit(130)));
  try {
    // ── the namespace: loopback, the metadata address, one source address per pod for wrk's connections ──
    const run = (argv: string[]) => {
      const result = spawnSync(argv[0] ?? "", argv.slice(1), { encoding: "utf8" });
      if (result.status !== 0) throw new Error(`${argv.join(" ")} failed: ${result.stderr}`);
    };
    run(["ip", "netns", "add", nsName]);
    await ns.execOrThrow(["ip", "link", "set", "lo", "up"]);
    await ns.execOrThrow(["ip", "addr", "add", "169.254.169.254/32", "dev", "lo"]);
    const ports: Record<Variant, number> = { bare: 2600, shipped: 2579, decided: 2580, bareDefaults: 2601, candidate: 2581 };
    for (const port of Object.values(ports)) {
      // Round robin: rule k takes one in (PODS − k) of the new connections reaching it.
      for (let k = 0; k < PODS; k++) {
        await ns.execOrThrow(
          ["iptables", "-w", "5", "-t", "nat", "-A", "POSTROUTING", "-p", "tcp", "-d", "127.0.0.1", "--dport", String(port)].concat(
            k < PODS - 1 ? ["-m", "statistic", "--mode", "nth", "--every", String(PODS - k), "--packet", "0"] : [],
            ["-j", "SNAT", "--to-source", podIp(k)],
          ),
        );
      }
    }

    // ── the cluster: 110 pods of this node, 10 identities, their bindings and Assigned AAIs ──
    const identities = Array.from({ length: IDENTITIES }, (_, i) => e2eIdentity(`bench-id-${String(i)}`, NAMESPACE));
    fakes = await NodeFakes.start(ns, NODE_FAKES_MAIN, {
      crdsPath: CRDS,
      kubeconfigPath: join(dir, "kubeconfig"),
      target: SCALE_SET,
      systemAssigned: true,
      attached: identities.map((i) => i.armId),
      imdsHost: "169.254.169.254",
      imdsPort: 80,
    });
    const fakesProcess = fakes;
    // The wire objects, as the fakes process takes them (one JSON object each).
    const cluster = { upsert: (object: object) => fakesProcess.upsert(object as Readonly<Record<string, unknown>>) };
    await cluster.upsert(serialiseNode({ kind: "Node", metadata: { name: NODE_NAME, namespace: "", labels: {}, annotations: {}, finalizers: [] }, providerID: `azure://${computeTargetId(SCALE_SET)}/virtualMachines/0` }));
    const bindings = [];
    for (const [i, identity] of identities.entries()) {
      const binding = makeBinding(identity.identity, `bench-sel-${String(i)}`);
      await cluster.upsert(serialiseAzureIdentity(identity.identity));
      await cluster.upsert(serialiseAzureIdentityBinding(binding));
      bindings.push(binding);
    }
    const pods: PodView[] = [];
    for (let k = 0; k < PODS; k++) {
      const pod = benchPod(k, 0);
      await cluster.upsert(serialisePod(pod));
      const identity = identities[k % IDENTITIES]!;
      await cluster.upsert(serialiseAzureAssignedIdentity(makeAssigned(pod, identity.identity, bindings[k % IDENTITIES]!, "Assigned")));
      pods.push(pod);
    }
    await writeFile(join(dir, "kubelet"), 'KUBELET_FLAGS="--network-plugin=cni"\n');
    // The hold written into the script is the one left out of the loaded time below.
    await writeFile(join(dir, "bench.lua"), saturatedScript(PODS, FIRST_REQUEST_HOLD_MS));
    // Paced: each of the 110 connections waits this long after an answer before its next request (wrk's `delay`).
    const pacedDelayMs = PACED_RPS > 0 ? Math.max(1, Math.round((PODS * 1000) / PACED_RPS)) : 0;
    await writeFile(join(dir, "paced.lua"), pacedScript(pacedDelayMs));

    // ── the servers, pinned to CPU 0; NMI's log (one audit line per request) goes to /dev/null ──
    const devNull = openSync("/dev/null", "w");
    const startServer = (variant: Variant, argv: string[]): ServerProcess => {
      const launch = launchOf(variant, IMAGE_LAUNCH, CANDIDATE, NMI_LAUNCH);
      const stdout = STDOUT_DIR === undefined ? devNull : openSync(join(STDOUT_DIR, `${variant}.log`), "w");
      const child = spawn("ip", ["netns", "exec", nsName, ...NICE, "taskset", "-c", SERVER_CPU, process.execPath, ...launch.nodeFlags, ...argv], {
        stdio: ["ignore", stdout, "pipe"],
        // BENCH_SERVER_NODE_OPTIONS: NODE_OPTIONS of the servers. Node refuses `--cpu-prof` and `--trace-gc` there:
        // profile or trace the two NMIs with BENCH_NMI_NODE_FLAGS="<the image's flags> --cpu-prof --cpu-prof-dir=<dir>" instead.
        env: { ...launch.env, PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", NODE_OPTIONS: process.env["BENCH_SERVER_NODE_OPTIONS"] ?? "" },
      });
      if (stdout !== devNull) closeSync(stdout);
      children.push(child);
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => process.stderr.write(`[${variant}] ${chunk}`));
      return { variant, child, port: ports[variant] };
    };
    const nmiFlags = (variant: Exclude<Variant, "bare" | "bareDefaults">, probe: number): string[] => [
      `--node=${NODE_NAME}`,
      `--kubeconfig=${join(dir, "kubeconfig")}`,
      `--kubelet-config=${join(dir, "kubelet")}`,
      "--nmi-listen-address=127.0.0.1",
      `--nmi-port=${String(ports[variant])}`,
      "--probe-listen-address=127.0.0.1",
      `--http-probe-port=${String(probe)}`,
      `--prometheus-port=${String(probe + 1)}`,
      // wrk's pods send thousands of requests a second each: the per-pod limiter runs on every request but
      // is set never to refuse one.
      "--pod-rate-limit=10000000",
      "--pod-rate-burst=100000",
      // Nothing to intercept here: wrk talks to NMI directly (attribution by source address as in production).
      "--interception=none",
    ];
    const shipped = startServer("shipped", [NMI_MAIN, ...nmiFlags("shipped", 8080)]);
    const decided = startServer("decided", [DECIDED_MAIN, ...nmiFlags("decided", 8090)]);
    await waitForOk(ns, "http://127.0.0.1:8080/readyz", "NMI (shipped) ready");
    await waitForOk(ns, "http://127.0.0.1:8090/readyz", "NMI (decided) ready");
    const body = await curl(ns, ["-H", "Metadata: true", `http://127.0.0.1:${String(ports.shipped)}${TARGET}`]);
    if (!body.includes("access_token")) throw new Error(`NMI did not answer a token: ${body}`);
    await writeFile(join(dir, "body.json"), body);
    const bare = startServer("bare", [BARE_MAIN, "127.0.0.1", String(ports.bare), join(dir, "body.json")]);
    await waitForOk(ns, `http://127.0.0.1:${String(ports.bare)}/`, "bare server ready");
    const bareDefaults = startServer("bareDefaults", [BARE_MAIN, "127.0.0.1", String(ports.bareDefaults), join(dir, "body.json")]);
    await waitForOk(ns, `http://127.0.0.1:${String(ports.bareDefaults)}/`, "bare server with Node's heap settings ready");
    const candidate =
      CANDIDATE_MAIN === undefined
        ? undefined
        : startServer("candidate", candidateArgv(CANDIDATE, [BARE_MAIN, "127.0.0.1", String(ports.candidate), join(dir, "body.json")], nmiFlags("candidate", 8100)));
    if (candidate !== undefined) {
      // The A/A control answers on its own port, as the bare server does; an NMI candidate on its probe port.
      await waitForOk(ns, CANDIDATE_IS_BARE ? `http://127.0.0.1:${String(ports.candidate)}/` : "http://127.0.0.1:8100/readyz", "the candidate ready");
    }
    const servers: Record<Variant, ServerProcess> = { bare, shipped, decided, bareDefaults, candidate: candidate ?? shipped };

    // ── pod events: one pod's label changes every 100 ms, through the fake kube-apiserver ──
    pumping = true;
    let tick = 0;
    pump = (async () => {
      while (pumping) {
        tick += 1;
        await cluster.upsert(serialisePod(benchPod(tick % PODS, tick)));
        await new Promise((r) => setTimeout(r, POD_EVENT_EVERY_MS));
      }
    })();

    const wrk = async (variant: Variant, seconds: number, paced = false): Promise<Run> => {
      const server = servers[variant];
      const pid = server.child.pid ?? 0;
      const tcpBefore = await tcpCounters(ns);
      const cpuBefore = processCpuSeconds(pid);
      const jiffiesBefore = cpuTicks(SERVER_CPU);
      const generatorBefore = cpuTicks(GENERATOR_CPU);
      const started = process.hrtime.bigint();
      const result = await ns.exec(
        [...NICE, "taskset", "-c", GENERATOR_CPU, "wrk", "-t1", `-c${String(PODS)}`, `-d${String(seconds)}s`, "--latency", "-s", join(dir, paced ? "paced.lua" : "bench.lua"), `http://127.0.0.1:${String(server.port)}${TARGET}`],
        { timeoutMs: (seconds + 30) * 1000 },
      );
      const wallS = Number(process.hrtime.bigint() - started) / 1e9;
      const cpuAfter = processCpuSeconds(pid);
      const user = cpuAfter.user - cpuBefore.user;
      const cpu = user + cpuAfter.system - cpuBefore.system;
      const jiffiesAfter = cpuTicks(SERVER_CPU);
      const generatorAfter = cpuTicks(GENERATOR_CPU);
      const tcpAfter = await tcpCounters(ns);
      const line = result.stdout.split("\n").find((l) => l.startsWith("BENCH "));
      if (line === undefined) throw new Error(`wrk printed no summary (exit ${String(result.exitCode)}): ${result.stdout}${result.stderr}`);
      const s = JSON.parse(line.slice(6)) as WrkSummary;
      const latencyBuckets = parseHistogramLine(result.stdout);
      const busyS = (jiffiesAfter.busy - jiffiesBefore.busy) / CLOCK_TICKS_PER_SECOND;
      // The load lasted wrk's duration less the saturated script's first-request hold; the wall time around it adds
      // wrk's start, which the server idles through.
      const loadS = loadSeconds(s.durationUs, paced ? 0 : FIRST_REQUEST_HOLD_MS);
      return {
        variant,
        requests: s.requests,
        rps: s.requests / loadS,
        cpuUsPerRequest: (cpu * 1e6) / Math.max(1, s.requests),
        userShare: cpu > 0 ? user / cpu : 0,
        cpuShare: cpu / loadS,
        otherOnServerCpu: Math.max(0, busyS - cpu) / wallS,
        generatorCpuBusy: (generatorAfter.busy - generatorBefore.busy) / Math.max(1, generatorAfter.total - generatorBefore.total),
        p50Ms: s.p50Us / 1000,
        p99Ms: s.p99Us / 1000,
        sliceP99Ms: [s.p99Us / 1000],
        sliceCpuUsPerRequest: [(cpu * 1e6) / Math.max(1, s.requests)],
        errors: s.connect + s.read + s.write + s.status + s.timeout,
        retransmits: tcpAfter.retransmits - tcpBefore.retransmits,
        rtoTimeouts: tcpAfter.rtoTimeouts - tcpBefore.rtoTimeouts,
        latencyBuckets,
        cpuS: cpu,
        loadS,
      };
    };

    idlePoll = IDLE_POLL ? holdIdlePolling() : undefined;
    console.log(
      `nmi-server benchmark: ${String(PODS)} pods (${String(IDENTITIES)} identities), a pod event every ${String(POD_EVENT_EVERY_MS)} ms; servers on CPU ${SERVER_CPU}, wrk -t1 -c${String(PODS)} on CPU ${GENERATOR_CPU}; ` +
        `${String(REPS)} × ${String(SECONDS)} s per variant (interleaved 1 s slices), Node ${process.version}, body ${String(Buffer.byteLength(body))} bytes; ` +
        `bare server and NMI with the image's node flags ${IMAGE_LAUNCH.nodeFlags.join(" ") || "(none)"} and ENV ${JSON.stringify(IMAGE_LAUNCH.env)}` +
        (NMI_LAUNCH === IMAGE_LAUNCH ? "" : ` (the NMIs with BENCH_NMI_NODE_FLAGS: ${NMI_LAUNCH.nodeFlags.join(" ") || "(none)"})`) +
        `, bareDefaults with Node's heap settings (${NODE_DEFAULTS_LAUNCH.nodeFlags.join(" ")})` +
        (NICE.length > 0 ? `, servers and wrk at nice ${NICE[2] ?? ""}` : "") +
        `; ${idlePoll?.description ?? "idle CPUs halt as usual (BENCH_IDLE_POLL=0)"}`,
    );
    /**
     * One round: `seconds` one-second slices of every variant, each variant's slices summed into one run.
     * Interleaved so that the machine's drift (this shared virtual machine's speed moves by tens of per cent
     * within seconds) falls on the variants alike instead of on whichever ran during a slow stretch, and in the
     * orders of a Williams design (`slice-order.ts`), so that no variant always follows the same other one.
     */
    const interleaved = async (seconds: number, paced: boolean): Promise<Run[]> => {
      const slices = new Map<Variant, Run[]>(VARIANTS.map((v) => [v, []]));
      for (let slice = 0; slice < Math.max(1, seconds); slice++) {
        // A Williams design's rows in turn: no variant always runs right after the same other one.
        for (const variant of sliceOrder(VARIANTS, slice)) slices.get(variant)?.push(await wrk(variant, 1, paced));
      }
      return VARIANTS.map((variant) => mergeSlices(slices.get(variant) ?? []));
    };
    for (const variant of VARIANTS) await wrk(variant, WARMUP_SECONDS);
    const runs: Run[] = [];
    const paced: Run[] = [];
    const fmt = (r: Run) =>
      `${r.variant.padEnd(VARIANT_COLUMN)} ${r.cpuUsPerRequest.toFixed(1).padStart(6)} µs CPU/req${sliceRange(r.sliceCpuUsPerRequest, 0)} (${(r.userShare * 100).toFixed(0)} % user)  ${Math.round(r.rps).toString().padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms${sliceRange(r.sliceP99Ms, 1)}  ` +
      `server ${(r.cpuShare * 100).toFixed(0)} % of CPU ${SERVER_CPU} (other ${(r.otherOnServerCpu * 100).toFixed(0)} %), CPU ${GENERATOR_CPU} ${(r.generatorCpuBusy * 100).toFixed(0)} % busy${r.errors > 0 ? `  ERRORS ${String(r.errors)}` : ""}` +
      (r.retransmits > 0 ? `  TCP retransmits ${String(r.retransmits)} (timeouts ${String(r.rtoTimeouts)})` : "");
    for (let rep = 0; rep < REPS; rep++) {
      const round: Run[] = [];
      round.push(...(await interleaved(SECONDS, false)));
      console.log(`run ${String(rep + 1)}:`);
      for (const r of round) console.log(`  ${fmt(r)}`);
      console.log(`  ${roundRatiosLine(round)}`);
      runs.push(...round);
      if (PACED_RPS > 0) {
        const pacedRound: Run[] = [];
        pacedRound.push(...(await interleaved(SECONDS, true)));
        console.log(`  paced (every connection waits ${String(pacedDelayMs)} ms between requests, about ${String(PACED_RPS)} req/s offered):`);
        for (const r of pacedRound) console.log(`    ${fmt(r)}`);
        console.log(`    ${roundRatiosLine(pacedRound)}`);
        paced.push(...pacedRound);
      }
    }
    pumping = false;
    await pump;
    const rssMbOf = (pid: number | undefined) => (processMemory(pid ?? 0)?.rss ?? Number.NaN) / (1024 * 1024);
    const nmiRssMb = rssMbOf(shipped.child.pid);
    const decidedRssMb = rssMbOf(decided.child.pid);
    const of = (variant: Variant) => runs.filter((r) => r.variant === variant);
    const med = (variant: Variant, pick: (r: Run) => number) => median(of(variant).map(pick));
    const bareCpu = med("bare", (r) => r.cpuUsPerRequest);
    // Ratios within each round (its runs follow each other, so they share the machine's state), then the median
    // over rounds: steadier on a shared machine than a ratio of medians taken from different rounds.
    const cpu = (r: Run) => r.cpuUsPerRequest;
    const p99 = (r: Run) => r.p99Ms;
    const cpuRatioCached = median(ratiosTo(runs, "shipped", "bare", cpu));
    const cpuRatioDecided = median(ratiosTo(runs, "decided", "bare", cpu));
    const candidateCpuRatio = CANDIDATE_MAIN === undefined ? undefined : median(ratiosTo(runs, "candidate", "bare", cpu));
    // Against the bare server with Node's heap settings: the same rounds, another denominator.
    const cpuRatioCachedVsNodeDefaults = median(ratiosTo(runs, "shipped", "bareDefaults", cpu));
    const cpuRatioDecidedVsNodeDefaults = median(ratiosTo(runs, "decided", "bareDefaults", cpu));
    const imageHeapCostOnBare = median(ratiosTo(runs, "bare", "bareDefaults", cpu));
    // p99 ratio: the worst of every run against the bare run of the same round.
    const p99Ratio = Math.max(...ratiosTo(runs, "shipped", "bare", p99), ...ratiosTo(runs, "decided", "bare", p99));
    // The same three figures for the paced rounds (NaN when they were off).
    const pacedCpuRatioCached = median(ratiosTo(paced, "shipped", "bare", cpu));
    const pacedCpuRatioDecided = median(ratiosTo(paced, "decided", "bare", cpu));
    const pacedP99Ratio = paced.length === 0 ? Number.NaN : Math.max(...ratiosTo(paced, "shipped", "bare", p99), ...ratiosTo(paced, "decided", "bare", p99));
    const bareShare = med("bare", (r) => r.cpuShare);
    const errors = runs.reduce((n, r) => n + r.errors, 0);
    console.log(`medians:`);
    for (const variant of VARIANTS) {
      console.log(
        `  ${variant.padEnd(VARIANT_COLUMN)} ${med(variant, (r) => r.cpuUsPerRequest).toFixed(1)} µs CPU/req, ${Math.round(med(variant, (r) => r.rps))} req/s, p99 ${med(variant, (r) => r.p99Ms).toFixed(2)} ms`,
      );
    }
    console.log(
      `  CPU per request vs bare (median of the rounds' ratios): cached ${cpuRatioCached.toFixed(3)} (target ≤ 1.3), decided ${cpuRatioDecided.toFixed(3)} (target ≤ 2); worst p99 ratio ${p99Ratio.toFixed(2)} (target ≤ 3); NMI RSS ${nmiRssMb.toFixed(0)} MB (decided ${decidedRssMb.toFixed(0)} MB)` +
        (candidateCpuRatio === undefined ? "" : `; candidate ${candidateCpuRatio.toFixed(3)} (${CANDIDATE_DESCRIPTION})`),
    );
    console.log(
      `  against the bare server with Node's heap settings (${med("bareDefaults", (r) => r.cpuUsPerRequest).toFixed(1)} µs): cached ${cpuRatioCachedVsNodeDefaults.toFixed(3)}, decided ${cpuRatioDecidedVsNodeDefaults.toFixed(3)}; ` +
        `the image's heap settings make the bare server itself ${imageHeapCostOnBare.toFixed(3)} × as dear`,
    );
    if (paced.length > 0) {
      console.log(
        `  paced at about ${String(PACED_RPS)} req/s: CPU per request vs bare cached ${pacedCpuRatioCached.toFixed(3)}, decided ${pacedCpuRatioDecided.toFixed(3)} ` +
          `(bare ${median(paced.filter((r) => r.variant === "bare").map(cpu)).toFixed(1)} µs); worst p99 ratio ${pacedP99Ratio.toFixed(2)}`,
      );
    }
    console.log(
      bareShare >= 0.95
        ? `  the bare server was saturated: ${(bareShare * 100).toFixed(0)} % of CPU ${SERVER_CPU} (median), so wrk did not limit it`
        : `  the bare server used only ${(bareShare * 100).toFixed(0)} % of CPU ${SERVER_CPU} (median): the generator or other load on the machine limited it — CPU per request still holds, throughput does not`,
    );
    if (errors > 0) console.log(`  WARNING: ${String(errors)} failed or non-2xx requests (see the runs)`);

    // Sampled after the rounds, so perf's own cost never falls on a measured slice: at once (the state the rounds
    // ran in) and again after a quiet period, as a node's NMI mostly is.
    const perfChecks: PerfCheck[] = [];
    const perfInstalled = PERF_CHECK && perfAvailable();
    if (PERF_CHECK && !perfInstalled) console.log("  BENCH_PERF=1: perf is not installed here, so the V8 slow-path check was skipped");
    if (perfInstalled) {
      for (const quietS of [0, PERF_QUIET_S]) {
        await new Promise((r) => setTimeout(r, quietS * 1000));
        const check: PerfCheck = { quietS, servers: [] };
        try {
          for (const variant of VARIANTS) {
            const load = wrk(variant, 3);
            // Handled here too, so a failure of perf below never leaves this run's rejection unhandled.
            load.catch(() => undefined);
            await new Promise((r) => setTimeout(r, 500));
            const sample = samplePerf(servers[variant].child.pid ?? 0, 2);
            check.servers.push({ variant, share: sample.share, cpuUsPerRequest: (await load).cpuUsPerRequest });
          }
        } catch (error) {
          // perf installed but refused (e.g. kernel.perf_event_paranoid): the benchmark's figures still stand.
          console.log(`  BENCH_PERF=1: the V8 slow-path check failed, so it was skipped: ${error instanceof Error ? error.message : String(error)}`);
          break;
        }
        perfChecks.push(check);
        printPerfCheck(check);
      }
    }

    const upstream = await measureUpstreamCalls();
    console.log(
      `upstream: cold burst of ${String(UPSTREAM_SCENARIO.pods)} pods × ${String(UPSTREAM_SCENARIO.requestsPerPod)} concurrent requests → ${String(upstream.coldBurstOk)} × 200, ${String(upstream.coldBurstUpstreamCalls)} upstream call(s); ` +
        `over ${String(UPSTREAM_SCENARIO.lifetimes)} token lifetimes (${String(upstream.lifetimeRequests)} requests): ${upstream.upstreamCallsPerTokenLifetime.toFixed(2)} upstream calls per lifetime`,
    );
    closeSync(devNull);
    console.log(
      JSON.stringify({
        cpuRatioCached: round3(cpuRatioCached),
        cpuRatioDecided: round3(cpuRatioDecided),
        cpuRatioCachedVsNodeDefaults: round3(cpuRatioCachedVsNodeDefaults),
        cpuRatioDecidedVsNodeDefaults: round3(cpuRatioDecidedVsNodeDefaults),
        imageHeapCostOnBare: round3(imageHeapCostOnBare),
        pacedRps: PACED_RPS,
        pacedCpuRatioCached: round3(pacedCpuRatioCached),
        pacedCpuRatioDecided: round3(pacedCpuRatioDecided),
        pacedP99Ratio: round3(pacedP99Ratio),
        p99Ratio: round3(p99Ratio),
        rssMb: round3(nmiRssMb),
        upstreamCallsPerTokenLifetime: round3(upstream.upstreamCallsPerTokenLifetime),
        coldBurstUpstreamCalls: upstream.coldBurstUpstreamCalls,
        bareCpuUsPerRequest: round3(bareCpu),
        bareDefaultsCpuUsPerRequest: round3(med("bareDefaults", (r) => r.cpuUsPerRequest)),
        cachedCpuUsPerRequest: round3(med("shipped", (r) => r.cpuUsPerRequest)),
        decidedCpuUsPerRequest: round3(med("decided", (r) => r.cpuUsPerRequest)),
        bareRps: Math.round(med("bare", (r) => r.rps)),
        cachedRps: Math.round(med("shipped", (r) => r.rps)),
        decidedRps: Math.round(med("decided", (r) => r.rps)),
        bareCpuShare: round3(bareShare),
        idlePoll: idlePoll?.active ?? false,
        ...(perfChecks.length === 0
          ? {}
          : { v8SlowPath: perfChecks.map((c) => ({ quietS: c.quietS, servers: c.servers.map((v) => ({ ...v, share: round3(v.share), cpuUsPerRequest: round3(v.cpuUsPerRequest) })) })) }),
        ...(candidateCpuRatio === undefined ? {} : { candidateCpuRatio: round3(candidateCpuRatio), candidate: `${CANDIDATE_MAIN ?? ""} ${CANDIDATE_FLAGS ?? ""}`.trim() }),
        errors,
        pods: PODS,
        podEventEveryMs: POD_EVENT_EVERY_MS,
        seconds: SECONDS,
        reps: REPS,
        runs: runs.map((r) => ({ variant: r.variant, cpuUsPerRequest: round3(r.cpuUsPerRequest), rps: Math.round(r.rps), p99Ms: r.p99Ms, sliceP99Ms: r.sliceP99Ms.map(round3), sliceCpuUsPerRequest: r.sliceCpuUsPerRequest.map(round3), cpuShare: round3(r.cpuShare), retransmits: r.retransmits })),
        pacedRuns: paced.map((r) => ({ variant: r.variant, cpuUsPerRequest: round3(r.cpuUsPerRequest), rps: Math.round(r.rps), p99Ms: r.p99Ms })),
      }),
    );
  } finally {
    await cleanUp();
  }
}

/**
 * One round's ratios to its bare run: CPU per request and p99 of both NMIs (and of the candidate, when there is
 * one), and the CPU per request of the bare server with Node's heap settings.
 */
function roundRatiosLine(round: readonly Run[]): string {
  const of = (variant: Variant): Run | undefined => round.find((r) => r.variant === variant);
  const b = of("bare");
  if (b === undefined) return "ratios: no bare run";
  const cpu = (r: Run | undefined) => ((r?.cpuUsPerRequest ?? Number.NaN) / b.cpuUsPerRequest).toFixed(2);
  const p99 = (r: Run | undefined) => ((r?.p99Ms ?? Number.NaN) / b.p99Ms).toFixed(2);
  const c = of("candidate");
  return (
    `ratios: CPU/req cached ${cpu(of("shipped"))}, decided ${cpu(of("decided"))}; p99 ${p99(of("shipped"))} / ${p99(of("decided"))}; ` +
    `bare with Node's heap settings CPU/req ${cpu(of("bareDefaults"))}` +
    (c === undefined ? "" : `; candidate CPU/req ${cpu(c)}, p99 ${p99(c)}`)
  );
}

function round3(value: number): number {
  return Number(value.toFixed(3));
}

/** The k-th pod's source address (127.0.1.1 …; all of 127.0.0.0/8 is local on `lo`). */
function podIp(k: number): string {
  return `127.0.1.${String(k + 1)}`;
}

/** The k-th pod, with a label that changes on every event (`tick`). */
function benchPod(k: number, tick: number): PodView {
  return makePod({
    name: `bench-pod-${String(k)}`,
    namespace: NAMESPACE,
    ip: podIp(k),
    node: NODE_NAME,
    selector: `bench-sel-${String(k % IDENTITIES)}`,
    labels: { "podid.bench/tick": String(tick) },
  });
}

/**
 * The namespace's TCP retransmission counters (`RetransSegs` of /proc/net/snmp, `TCPTimeouts` of
 * /proc/net/netstat), read from inside it: a p99 of hundreds of milliseconds with a retransmission timeout in
 * the same run is the network's doing, not the server's.
 */
async function tcpCounters(ns: NetnsHandle): Promise<{ retransmits: number; rtoTimeouts: number }> {
  const text = (await ns.exec(["cat", "/proc/net/snmp", "/proc/net/netstat"], { timeoutMs: 5_000 })).stdout;
  return { retransmits: procNetCounter(text, "Tcp:", "RetransSegs"), rtoTimeouts: procNetCounter(text, "TcpExt:", "TCPTimeouts") };
}

/** One counter of /proc/net/snmp-style text: a header line and a value line starting with `prefix`. */
function procNetCounter(text: string, prefix: string, name: string): number {
  const lines = text.split("\n").filter((l) => l.startsWith(prefix));
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const index = (lines[i] ?? "").split(/\s+/).indexOf(name);
    if (index > 0) return Number((lines[i + 1] ?? "").split(/\s+/)[index]) || 0;
  }
  return 0;
}

/** `curl -s <args>` inside the namespace; its stdout. */
async function curl(ns: NetnsHandle, args: readonly string[]): Promise<string> {
  return (await ns.exec(["curl", "-s", "--max-time", "3", ...args], { timeoutMs: 5_000 })).stdout;
}

/** Waits (see {@link waitFor}) until `url`, fetched inside the namespace, answers 200. */
async function waitForOk(ns: NetnsHandle, url: string, what: string): Promise<void> {
  await waitFor(async () => (await curl(ns, ["-o", "/dev/null", "-w", "%{http_code}", url])) === "200", what);
}

/** Polls `check` every 200 ms for at most 30 s. */
async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
