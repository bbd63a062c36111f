/**
 * `npm run bench:mic-real [-- --scenario 2k|10k|all] [--quick]`: the real `podid-mic` process (its compiled
 * entry point, default flags plus kubeconfig, cloudconfig and loopback probe ports) against the fake
 * kube-apiserver over HTTP and the fake ARM/AAD over HTTPS, which run in a separate process
 * (`mic-real-fakes-main.ts`) so their CPU and memory never count as MIC's. Each scenario:
 *
 * 1. nodes, identities and bindings are created over HTTP before MIC starts;
 * 2. MIC starts and becomes leader;
 * 3. the pods arrive as a burst of HTTP creates while MIC runs (the issue's "2,000-pod burst");
 * 4. the bench waits until every pod's AzureAssignedIdentity is `Assigned`, then 10 s more, and takes the
 *    steady RSS as the mean over the next 10 s.
 *
 * MIC runs with its image's node flags and `NODE_OPTIONS` (V8 settings, from packages/mic-runner/Dockerfile;
 * `PODID_MIC_NODE_FLAGS` replaces the flags to compare settings).
 * MIC's VmRSS and VmHWM come from `/proc/<pid>/status` every 250 ms; at the end of the steady window the RSS is split
 * into anonymous and file-backed pages (`/proc/<pid>/smaps_rollup`), and with `PODID_MIC_REAL_HEAP_SNAPSHOT_DIR` set
 * MIC then writes a heap snapshot there (the breakdown in docs/adr/0018-mic-memory-and-event-budget.md). Scale-set PATCHes take
 * {@link VMSS_PATCH_LATENCY_MS} (ARM needs 10–40 s for real; 5 s keeps the runs short and is what the target
 * formula uses). Kube writes are counted at the fake API server by MIC's User-Agent; ARM calls at the fake.
 * Prints a table and ends with one JSON line (`peakRssMb`, `steadyRssMb`, `firstAssignedS`, `allAssignedS`,
 * `pods`, … per scenario). `--quick` runs one fifth of each shape with shorter settle windows.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildScaleCluster } from "@podid/testkit";
import { parseMicFlags } from "@podid/mic-runner";
import { parseAllDocuments } from "yaml";
import { readImageLaunch, type ImageLaunch } from "./nmi-footprint-image.js";
import { BENCH_USER_AGENT, type BenchShape, type FromFakes, type ToFakes } from "./mic-real-protocol.js";
import { processCpuSeconds, processMemory } from "./proc-stats.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const MIC_MAIN = join(ROOT, "packages/mic-runner/dist/main.js");
const FAKES_MAIN = fileURLToPath(new URL("./mic-real-fakes-main.js", import.meta.url));
const DEPLOYMENT = join(ROOT, "deploy/base/mic/mic-deployment.yaml");
const MIC_DOCKERFILE = join(ROOT, "packages/mic-runner/Dockerfile");
/** Scaled ARM latency of one scale-set identity PATCH (real ARM: 10–40 s). */
export const VMSS_PATCH_LATENCY_MS = 5_000;
const SAMPLE_MS = 250;
/** Points of the recorded creation curve ({@link MicRealResult.burstCurveS}): one per 5 % of the pods. */
export const BURST_CURVE_POINTS = 20;
/** Where the latest run's JSON line is kept for `sim:scale`'s comparison (`PODID_MIC_REAL_RESULT` overrides). */
export const MIC_REAL_RESULT_PATH = process.env["PODID_MIC_REAL_RESULT"] ?? join(tmpdir(), "podid-bench-mic-real.json");
const MB = 1024 * 1024;

/** The two shapes of the issue; `sim:scale` simulates the same ones. */
export const SCENARIOS: Readonly<Record<"2k" | "10k", BenchShape>> = {
  "2k": { pods: 2_000, nodes: 30, nodesPerScaleSet: 30, identities: 100, namespaces: 100 },
  "10k": { pods: 10_000, nodes: 500, nodesPerScaleSet: 50, identities: 200, namespaces: 100 },
};

/** What one scenario measured. */
export interface MicRealResult {
  readonly scenario: string;
  readonly pods: number;
  readonly nodes: number;
  readonly scaleSets: number;
  readonly identities: number;
  readonly patchLatencyS: number;
  readonly clientQps: number;
  readonly burstS: number;
  /**
   * The burst's creation curve: element k is the time (s after the first create was sent) by which
   * (k + 1) / {@link BURST_CURVE_POINTS} of the pods had been created, in the order the bench sends them.
   * `sim:scale` replays the burst along it (absent in results written before it was recorded).
   */
  readonly burstCurveS?: readonly number[];
  readonly firstAssignedS: number | null;
  readonly allAssignedS: number | null;
  /**
   * 3 PATCH latencies + (2 AAI writes per pod ÷ QPS): the issue's bound on `allAssignedS`, counting the
   * writes assignment needs (AAI creates and status writes); Events are not needed and wait for spare tokens.
   */
  readonly allAssignedTargetS: number;
  /** The same bound counting the `binding applied` Event each assignment also writes (3 writes per pod). */
  readonly allAssignedTargetWithEventsS: number;
  /** Events MIC dropped because its Event queue was full (`podid_mic_events_dropped_total` at the end of the run). */
  readonly eventsDropped?: number;
  /**
   * Event writes by the end of the steady window (`kubeWritesByResource` counts writes until all were
   * `Assigned`; Events, waiting for spare tokens, mostly come after).
   */
  readonly eventsWrittenByEnd?: number;
  readonly peakRssMb: number;
  readonly steadyRssMb: number;
  /**
   * Where the steady RSS lives, from `/proc/<pid>/smaps_rollup` at the end of the steady window: anonymous
   * (heap, V8 spaces, malloc) and file-backed (the `node` binary and shared libraries) resident memory.
   */
  readonly steadyAnonMb?: number;
  readonly steadyFileMb?: number;
  readonly kubeWrites: number;
  readonly kubeWritesByResource: Readonly<Record<string, number>>;
  readonly kubeReads: number;
  readonly armPatches: number;
  readonly armGets: number;
  readonly micCpuS: number;
}

/** `resources.limits.memory` of MIC's container in the deploy manifests, in MiB. */
export function deployMemoryLimitMb(path = DEPLOYMENT): number {
  for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
    const value = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { resources?: { limits?: { memory?: string } } }[] } } } };
    const memory = value.kind === "Deployment" ? value.spec?.template?.spec?.containers?.[0]?.resources?.limits?.memory : undefined;
    if (memory === undefined) continue;
    const match = /^(\d+)(Mi|Gi)$/.exec(memory);
    if (match === null) throw new Error(`unexpected memory limit ${memory} in ${path}`);
    return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
  }
  throw new Error(`no memory limit in ${path}`);
}

/** How MIC's image starts node (ENTRYPOINT flags, ENV), read from packages/mic-runner/Dockerfile. */
export function micImageLaunch(): ImageLaunch {
  return readImageLaunch(readFileSync(MIC_DOCKERFILE, "utf8"));
}

/**
 * MIC's node flags and `NODE_OPTIONS` in the bench: the image's, so the bench measures the V8 settings that ship;
 * `PODID_MIC_NODE_FLAGS` (space-separated, may be empty) replaces the image's ENTRYPOINT flags to compare settings.
 */
function micNodeSettings(): { readonly flags: readonly string[]; readonly env: Readonly<Record<string, string>>; readonly nodeOptions: string } {
  const launch = micImageLaunch();
  const override = process.env["PODID_MIC_NODE_FLAGS"];
  const chosen = override === undefined ? launch.nodeFlags : override.split(" ").filter((f) => f !== "");
  const flags = HEAP_SNAPSHOT_DIR === undefined ? chosen : [...chosen, "--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${HEAP_SNAPSHOT_DIR}`];
  return { flags, env: launch.env, nodeOptions: launch.env["NODE_OPTIONS"] ?? "" };
}


/** Resident anonymous and file-backed bytes of `pid` (`/proc/<pid>/smaps_rollup`; undefined once gone). */
function procResidentSplit(pid: number): { anon: number; file: number } | undefined {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? Number.NaN) * 1024;
    return { anon: kb("Anonymous"), file: kb("Rss") - kb("Anonymous") };
  } catch {
    return undefined;
  }
}

/**
 * With `PODID_MIC_REAL_HEAP_SNAPSHOT_DIR` set, MIC starts with `--heapsnapshot-signal=SIGUSR2` and writes a heap
 * snapshot there at the end of the steady window (after the RSS was measured), for the breakdown in ADR 18.
 */
const HEAP_SNAPSHOT_DIR = process.env["PODID_MIC_REAL_HEAP_SNAPSHOT_DIR"];

/** Signals MIC for a heap snapshot and waits until the file stops growing (bounded: 120 s). */
async function takeHeapSnapshot(pid: number, dir: string): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, "SIGUSR2");
  const deadline = Date.now() + 120_000;
  let lastSize = -1;
  while (Date.now() < deadline) {
    await sleep(1_000);
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith(".heapsnapshot"));
    if (file === undefined) continue;
    const size = statSync(join(dir, file)).size;
    if (size > 0 && size === lastSize) {
      process.stderr.write(`heap snapshot: ${join(dir, file)}\n`);
      return;
    }
    lastSize = size;
  }
  process.stderr.write("heap snapshot: not complete within 120 s\n");
}

/** User + system CPU seconds `pid` has used; NaN once it is gone. */
function procCpuS(pid: number): number {
  try {
    const { user, system } = processCpuSeconds(pid);
    return user + system;
  } catch {
    return Number.NaN;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

/** Runs `work` over `items` with at most `limit` at once. */
async function eachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  }));
}

/** POSTs `body` to the fake API server as the bench (never counted as MIC's). */
async function create(kubeUrl: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${kubeUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": BENCH_USER_AGENT },
    body: JSON.stringify(body),
  });
  if (response.status !== 201 && response.status !== 409) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
}

/** The fakes process: started, ready and its latest tick. */
class Fakes {
  readonly child: ChildProcess;
  latest: Extract<FromFakes, { type: "tick" }> | undefined;
  firstAssignedAtMs: number | undefined;
  allAssignedAtMs: number | undefined;
  #ready: Promise<Extract<FromFakes, { type: "ready" }>>;

  constructor(shape: BenchShape, dir: string) {
    this.child = spawn(process.execPath, [FAKES_MAIN], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.#ready = new Promise((resolve, reject) => {
      this.child.on("message", (message: FromFakes) => {
        if (message.type === "ready") resolve(message);
        else if (message.type === "error") reject(new Error(`fakes: ${message.message}`));
        else {
          this.latest = message;
          if (message.assigned > 0) this.firstAssignedAtMs ??= message.atMs;
          if (message.assigned >= shape.pods) this.allAssignedAtMs ??= message.atMs;
        }
      });
      this.child.once("exit", (code) => reject(new Error(`fakes exited (${String(code)})`)));
    });
    const start: ToFakes = { type: "start", shape, vmssPatchLatencyMs: VMSS_PATCH_LATENCY_MS, dir };
    this.child.send(start);
  }

  ready(): Promise<Extract<FromFakes, { type: "ready" }>> {
    return this.#ready;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    const stop: ToFakes = { type: "stop" };
    this.child.send(stop);
    await Promise.race([exited, sleep(10_000)]);
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

async function runScenario(name: string, shape: BenchShape, options: { settleMs: number; steadyMs: number; timeoutMs: number }): Promise<MicRealResult> {
  const dir = mkdtempSync(join(tmpdir(), "podid-bench-mic-real-"));
  const fakes = new Fakes(shape, dir);
  let mic: ChildProcess | undefined;
  try {
    const ready = await fakes.ready();
    const cluster = buildScaleCluster({ ...shape, subscriptionId: "00000000-0000-4000-8000-000000000001", resourceGroup: "MC_rg_cluster_westeurope" });
    // 1. Everything but the pods, over HTTP, before MIC starts.
    const namespaces = [...new Set(cluster.identities.map((i) => i.metadata.namespace))];
    await eachBounded(namespaces, 16, (ns) => create(ready.kubeUrl, "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } }));
    await eachBounded(cluster.nodes, 16, (node) =>
      create(ready.kubeUrl, "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: node.metadata.name }, spec: { providerID: node.providerID } }),
    );
    const crd = (ns: string, plural: string) => `/apis/aadpodidentity.k8s.io/v1/namespaces/${ns}/${plural}`;
    await eachBounded(cluster.identities, 16, (identity) =>
      create(ready.kubeUrl, crd(identity.metadata.namespace, "azureidentities"), {
        apiVersion: "aadpodidentity.k8s.io/v1",
        kind: "AzureIdentity",
        metadata: { name: identity.metadata.name, namespace: identity.metadata.namespace },
        spec: { type: 0, resourceID: identity.spec.resourceID, clientID: identity.spec.clientID },
      }),
    );
    await eachBounded(cluster.bindings, 16, (binding) =>
      create(ready.kubeUrl, crd(binding.metadata.namespace, "azureidentitybindings"), {
        apiVersion: "aadpodidentity.k8s.io/v1",
        kind: "AzureIdentityBinding",
        metadata: { name: binding.metadata.name, namespace: binding.metadata.namespace },
        spec: { azureIdentity: binding.spec.azureIdentity, selector: binding.spec.selector },
      }),
    );

    // 2. MIC with its default flags (ports on loopback so parallel runs and other services never clash).
    const probePort = 20_000 + Math.floor(Math.random() * 20_000);
    const log = createWriteStream(join(dir, "mic.log"));
    mic = spawn(
      process.execPath,
      [...micNodeSettings().flags, MIC_MAIN, `--kubeconfig=${ready.kubeconfigPath}`, `--cloudconfig=${ready.azureJsonPath}`, `--http-probe-port=${probePort}`, `--prometheus-port=${probePort}`, "--listen-address=127.0.0.1", "--leader-election-instance=bench-mic"],
      { cwd: ROOT, env: { ...process.env, ...ready.childEnv, ...micNodeSettings().env, NODE_OPTIONS: micNodeSettings().nodeOptions }, stdio: ["ignore", "pipe", "pipe"] },
    );
    mic.stdout?.pipe(log);
    mic.stderr?.pipe(log);
    const pid = mic.pid ?? Number.NaN;
    let peakSampled = 0;
    const rssSamples: { atMs: number; rss: number }[] = [];
    const sampler = setInterval(() => {
      const memory = processMemory(pid);
      if (memory === undefined) return;
      peakSampled = Math.max(peakSampled, memory.rss, memory.hwm);
      rssSamples.push({ atMs: Date.now(), rss: memory.rss });
    }, SAMPLE_MS);
    try {
      await waitFor("MIC to lead", async () => {
        if (mic?.exitCode !== null) throw new Error(`podid-mic exited (${String(mic?.exitCode)}); log in ${dir}/mic.log`);
        try {
          return (await (await fetch(`http://127.0.0.1:${probePort}/healthz`)).text()) === "Active";
        } catch {
          return false;
        }
      }, 60_000);

      // 3. The burst: every pod created over HTTP while MIC runs.
      const t0 = Date.now();
      let created = 0;
      const burstCurveS: number[] = [];
      await eachBounded(cluster.pods, 32, async (pod) => {
        await create(ready.kubeUrl, `/api/v1/namespaces/${pod.metadata.namespace}/pods`, {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, labels: pod.metadata.labels },
          spec: { nodeName: pod.nodeName, serviceAccountName: "default", containers: [{ name: "app", image: "busybox" }] },
        });
        created++;
        // How fast the fake API server accepts pods under MIC's load is measured, not set: sim:scale replays it.
        while (burstCurveS.length < BURST_CURVE_POINTS && created >= Math.ceil(((burstCurveS.length + 1) * shape.pods) / BURST_CURVE_POINTS)) {
          burstCurveS.push(Math.round((Date.now() - t0) / 10) / 100);
        }
      });
      const burstS = (Date.now() - t0) / 1000;
      process.stderr.write(`${name}: ${shape.pods} pods created in ${burstS.toFixed(1)} s; waiting for Assigned…\n`);
      let lastReport = Date.now();
      await waitFor("every AzureAssignedIdentity Assigned", () => {
        if (mic?.exitCode !== null) throw new Error(`podid-mic exited (${String(mic?.exitCode)}); log in ${dir}/mic.log`);
        if (Date.now() - lastReport > 30_000) {
          lastReport = Date.now();
          process.stderr.write(`  ${((Date.now() - t0) / 1000).toFixed(0)} s: ${fakes.latest?.aais ?? 0} AAIs, ${fakes.latest?.assigned ?? 0} Assigned, RSS ${Math.round((rssSamples.at(-1)?.rss ?? 0) / MB)} MB\n`);
        }
        return fakes.allAssignedAtMs !== undefined;
      }, options.timeoutMs).catch((error: unknown) => process.stderr.write(`${name}: ${String(error)}\n`));
      const counted = fakes.latest;

      // 4. Steady state: settle, then average.
      await sleep(options.settleMs);
      const steadyFrom = Date.now();
      await sleep(options.steadyMs);
      const steady = rssSamples.filter((s) => s.atMs >= steadyFrom);
      const final = processMemory(pid);
      const split = procResidentSplit(pid);
      // Read before a heap snapshot, which costs MIC memory of its own.
      const peak = Math.max(peakSampled, final?.hwm ?? 0);
      if (HEAP_SNAPSHOT_DIR !== undefined) await takeHeapSnapshot(pid, HEAP_SNAPSHOT_DIR);
      const eventsWrittenByEnd = fakes.latest?.kube.writesByResource["events"] ?? 0;
      const eventsDropped = await fetch(`http://127.0.0.1:${probePort}/metrics`)
        .then(async (response) => counterValue(await response.text(), "podid_mic_events_dropped_total"))
        .catch(() => undefined);
      const clientQps = micDefaultClientLimits().clientQps;
      return {
        scenario: name,
        pods: shape.pods,
        nodes: shape.nodes,
        scaleSets: Math.ceil(shape.nodes / shape.nodesPerScaleSet),
        identities: shape.identities,
        patchLatencyS: VMSS_PATCH_LATENCY_MS / 1000,
        clientQps,
        burstS: round(burstS),
        burstCurveS,
        firstAssignedS: fakes.firstAssignedAtMs === undefined ? null : round((fakes.firstAssignedAtMs - t0) / 1000),
        allAssignedS: fakes.allAssignedAtMs === undefined ? null : round((fakes.allAssignedAtMs - t0) / 1000),
        allAssignedTargetS: round((3 * VMSS_PATCH_LATENCY_MS) / 1000 + (2 * shape.pods) / clientQps),
        allAssignedTargetWithEventsS: round((3 * VMSS_PATCH_LATENCY_MS) / 1000 + (3 * shape.pods) / clientQps),
        ...(eventsDropped !== undefined ? { eventsDropped } : {}),
        eventsWrittenByEnd,
        peakRssMb: Math.round(peak / MB),
        steadyRssMb: Math.round(steady.reduce((sum, s) => sum + s.rss, 0) / Math.max(1, steady.length) / MB),
        ...(split !== undefined ? { steadyAnonMb: Math.round(split.anon / MB), steadyFileMb: Math.round(split.file / MB) } : {}),
        kubeWrites: counted?.kube.writes ?? 0,
        kubeWritesByResource: counted?.kube.writesByResource ?? {},
        kubeReads: counted?.kube.reads ?? 0,
        armPatches: counted?.armPatches ?? 0,
        armGets: counted?.armGets ?? 0,
        micCpuS: round(procCpuS(pid)),
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    if (mic !== undefined && mic.exitCode === null) {
      const exited = new Promise((resolve) => mic?.once("exit", resolve));
      mic.kill("SIGTERM");
      await Promise.race([exited, sleep(15_000)]);
      if (mic.exitCode === null) mic.kill("SIGKILL");
    }
    await fakes.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** MIC's default `--clientQps` and `--createDeleteBatch`, from its own flag parser. */
export function micDefaultClientLimits(): { readonly clientQps: number; readonly createDeleteBatch: number } {
  const parsed = parseMicFlags([], {}, { hostname: "bench-mic" });
  if (!parsed.ok) throw new Error(`podid-mic's flag parser rejected the default command line: ${parsed.error.message}`);
  if (parsed.value.kind !== "run") throw new Error("podid-mic's flag parser did not return a run command");
  return { clientQps: parsed.value.config.clientQps, createDeleteBatch: parsed.value.config.createDeleteBatch };
}

const round = (value: number) => Math.round(value * 10) / 10;

/** The value of the unlabelled counter `name` in a Prometheus text exposition (undefined when absent). */
export function counterValue(exposition: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(exposition);
  return match === null ? undefined : Number(match[1]);
}

/** "120.1 s: not met (bound 95 s)": all Assigned against the AAI-only bound. */
export function allAssignedVerdict(result: Pick<MicRealResult, "allAssignedS" | "allAssignedTargetS">): string {
  if (result.allAssignedS === null) return `not within the timeout: not met (bound ${result.allAssignedTargetS} s)`;
  return `${result.allAssignedS} s: ${result.allAssignedS <= result.allAssignedTargetS ? "met" : "not met"} (bound ${result.allAssignedTargetS} s)`;
}

/** `results` plus the scenarios of the previous result file that this run did not repeat. */
function mergedWithEarlierRuns(results: readonly MicRealResult[]): MicRealResult[] {
  let earlier: MicRealResult[] = [];
  try {
    earlier = (JSON.parse(readFileSync(MIC_REAL_RESULT_PATH, "utf8")) as { scenarios?: MicRealResult[] }).scenarios ?? [];
  } catch {
    // No earlier run (or an unreadable file): this run alone.
  }
  return [...earlier.filter((e) => !results.some((r) => r.scenario === e.scenario)), ...results];
}

function printTable(results: readonly MicRealResult[], limitMb: number): void {
  const rows: [string, (r: MicRealResult) => string][] = [
    ["pods / nodes / scale sets / identities", (r) => `${r.pods} / ${r.nodes} / ${r.scaleSets} / ${r.identities}`],
    ["burst (pods created over HTTP)", (r) => `${r.burstS} s`],
    ["first AAI Assigned", (r) => (r.firstAssignedS === null ? "never" : `${r.firstAssignedS} s`)],
    ["all AAIs Assigned vs 3 PATCH + 2 AAI writes/pod ÷ QPS", (r) => `${allAssignedVerdict(r)} (PATCH ${r.patchLatencyS} s, QPS ${r.clientQps})`],
    ["  bound if 1 Event/pod were required too", (r) => `${r.allAssignedTargetWithEventsS} s`],
    ["Events written until all Assigned / by the end / dropped (queue full)", (r) => `${r.kubeWritesByResource["events"] ?? 0} / ${r.eventsWrittenByEnd ?? "?"} / ${r.eventsDropped ?? "?"}`],
    ["peak RSS (VmHWM)", (r) => `${r.peakRssMb} MB`],
    ["steady RSS (mean)", (r) => `${r.steadyRssMb} MB`],
    ["  of it anonymous / file-backed (smaps_rollup)", (r) => `${r.steadyAnonMb ?? "?"} / ${r.steadyFileMb ?? "?"} MB`],
    ["kube writes by MIC", (r) => `${r.kubeWrites} (${Object.entries(r.kubeWritesByResource).map(([k, v]) => `${k} ${v}`).join(", ")})`],
    ["kube reads by MIC", (r) => String(r.kubeReads)],
    ["ARM PATCH / GET", (r) => `${r.armPatches} / ${r.armGets}`],
    ["MIC CPU (user+system)", (r) => `${r.micCpuS} s`],
  ];
  console.log(`\npodid-mic, real process, default flags, node flags "${[...micNodeSettings().flags, micNodeSettings().nodeOptions].join(" ").trim()}"; deploy memory limit ${limitMb} MiB (deploy/base/mic/mic-deployment.yaml)`);
  console.log(`| | ${results.map((r) => r.scenario).join(" | ")} |`);
  console.log(`|---|${results.map(() => "---").join("|")}|`);
  for (const [label, cell] of rows) console.log(`| ${label} | ${results.map(cell).join(" | ")} |`);
  for (const r of results) if (r.peakRssMb > limitMb) console.log(`WARNING: ${r.scenario} peaked at ${r.peakRssMb} MB, beyond the deploy's ${limitMb} MiB limit`);
}

/** Runs the chosen scenarios; exported for `sim:scale`'s comparison. */
export async function runMicRealBench(argv: readonly string[]): Promise<MicRealResult[]> {
  const { values } = parseArgs({
    args: [...argv],
    options: { scenario: { type: "string", default: "all" }, quick: { type: "boolean", default: false }, timeout: { type: "string", default: "1800" } },
  });
  const scenario = values.scenario;
  const chosen: readonly ("2k" | "10k")[] | undefined = scenario === "all" ? ["2k", "10k"] : scenario === "2k" || scenario === "10k" ? [scenario] : undefined;
  if (chosen === undefined) throw new Error(`--scenario must be 2k, 10k or all (got ${values.scenario})`);
  const timeoutS = Number(values.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new Error(`--timeout must be a positive number of seconds (got ${values.timeout})`);
  const results: MicRealResult[] = [];
  for (const key of chosen) {
    const full = SCENARIOS[key];
    const shape = values.quick ? { ...full, pods: full.pods / 5, nodes: Math.max(full.nodesPerScaleSet, full.nodes / 5) } : full;
    const result = await runScenario(values.quick ? `${key}-quick` : key, shape, { settleMs: values.quick ? 3_000 : 10_000, steadyMs: values.quick ? 5_000 : 10_000, timeoutMs: timeoutS * 1000 });
    process.stderr.write(`${JSON.stringify(result)}\n`);
    results.push(result);
  }
  return results;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const results = await runMicRealBench(process.argv.slice(2));
    printTable(results, deployMemoryLimitMb());
    console.log(JSON.stringify({ bench: "mic-real", memoryLimitMb: deployMemoryLimitMb(), scenarios: results }));
    // sim:scale compares its figures with the latest real-process run of each scenario.
    writeFileSync(MIC_REAL_RESULT_PATH, `${JSON.stringify({ bench: "mic-real", scenarios: mergedWithEarlierRuns(results) })}\n`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  }
}
