/**
 * NMI's footprint on a node of a large cluster: the real `podid-nmi` process (its built entry point,
 * `--interception=none`) runs for one node of a cluster held by testkit's FakeKubeApiServer, reached through a
 * {@link KubeTrafficRecorder}; every pod of its node obtains a token through it (fake IMDS), which warms its
 * token cache. Then it reports the process's resident memory (VmRSS, VmHWM from /proc), what NMI listed at
 * start (resource, selectors, objects returned), and the watch events it was sent when objects it has no use
 * for changed elsewhere in the cluster (goal: 0). A related change (a pod of its own node) is the control
 * that shows events are counted at all.
 *
 * `measureNmiFootprint()` returns the figures as a JSON-able record; run alone (`npm run bench:nmi-footprint`,
 * `-- --json` for a JSON line whose `rssMb` is the as-shipped figure) it prints them for NMI as the image ships
 * it (the bundle `scripts/images/bundle.mjs` builds, with the Dockerfile's node flags and environment), for the
 * dist entry with and without those flags, and for a bare `node` process as the same-run baseline.
 * @packageDocumentation
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeKubeApiServer, tokenUrl } from "@podid/testkit";
import { buildNmiImageEntry } from "./nmi-footprint-image.js";
import type { RecordedList, RecordedWatch, RecordedWatchEvent } from "./kube-traffic-recorder.js";
import { populate, RESOURCE_GROUP, SCALE_SET, SUBSCRIPTION, TEAM_NAMESPACES, touch } from "./nmi-footprint-cluster.js";
import { spawnNmi, startNmiNodeFixture } from "./nmi-node-fixture.js";
import { cachedTokenLoad, cpuMsOf, getAs, memoryOf, residentByMapping, round, sleep, until, type NmiLoadFigures, type ResidentByMapping } from "./nmi-footprint-process.js";

export type { NmiLoadFigures } from "./nmi-footprint-process.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The compiled `podid-nmi` launcher (what `npx podid-nmi` and the image run). */
const NMI_BIN = join(ROOT, "packages/nmi-server/bin/podid-nmi.mjs");
const CRDS = join(ROOT, "deploy/crds.yaml");
const RESOURCE = "https://vault.azure.net";
/** Bounds of every wait. */
const START_TIMEOUT_MS = 120_000;
/** Idle time between the warm-up and the steady-state memory reading. */
export const STEADY_AFTER_MS = 10_000;

/** Shape of the measured cluster and run. */
export interface NmiFootprintOptions {
  /** Nodes of the cluster (default 500). */
  readonly nodes?: number;
  /** Pods of the cluster, each bound to an identity with its AzureAssignedIdentity (default 5,000). */
  readonly pods?: number;
  /** Of those, pods on NMI's node, each with its own identity (default 110, the AKS per-node maximum). */
  readonly podsOnNode?: number;
  /** AzureIdentities (and bindings) the other pods share (default 400). */
  readonly sharedIdentities?: number;
  /** The NMI entry point to run (default the `podid-nmi` launcher; e.g. an image's bundled `main.mjs`). */
  readonly entry?: string;
  /** V8/Node flags for the NMI process, e.g. `["--max-semi-space-size=1"]` (default none). */
  readonly nodeFlags?: readonly string[];
  /** Environment variables for the NMI process besides `PATH`, e.g. an image's `ENV` lines (default none). */
  readonly env?: Readonly<Record<string, string>>;
  /** Idle time after the warm-up before the steady-state reading (default {@link STEADY_AFTER_MS}). */
  readonly steadyAfterMs?: number;
  /** How long to wait for events after the unrelated changes (default 2,000 ms). */
  readonly settleMs?: number;
  /** Cached-token requests sent after the warm-up, to weigh a V8 flag's cost (default 0: none; bounded by 30 s). */
  readonly loadRequests?: number;
}


/** What NMI listed at start: one entry per collection and selectors (pages summed). */
export interface ListedCollection {
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly pages: number;
  readonly objects: number;
}

/** The figures of one run (JSON-able). */
export interface NmiFootprint {
  readonly cluster: { readonly nodes: number; readonly pods: number; readonly podsOnNode: number; readonly identities: number; readonly assignedIdentities: number };
  readonly nodeFlags: readonly string[];
  /** Resident memory of the NMI process in steady state: idle for `steadyAfterMs` after the warm-up, MB. */
  readonly rssMb: number;
  /** Resident memory 0.5 s after the warm-up, before V8 collected its garbage, MB. */
  readonly afterWarmUpRssMb: number;
  /** Peak resident memory of the NMI process, MB. */
  readonly hwmMb: number;
  /** Of `rssMb`: private memory (heap, malloc) and file-backed pages (mostly the `node` binary's code, shared with every Node process on the host), MB. */
  readonly anonMb: number;
  readonly fileMb: number;
  /** The same steady-state reading by mapping (smaps): the `node` binary, other files, malloc's main arena, the rest. */
  readonly byMapping: ResidentByMapping;
  /** After a full garbage collection in NMI (then read): resident memory, V8 heap in use and off-heap (external + array buffers), MB. */
  readonly afterGc: { readonly rssMb: number; readonly heapUsedMb: number; readonly heapTotalMb: number; readonly externalMb: number };
  /** CPU time NMI used from exec to synced caches, ms (user + system, from /proc). */
  readonly startCpuMs: number;
  /** Pods that obtained a token (the warm cache). */
  readonly warmTokens: number;
  readonly listed: readonly ListedCollection[];
  readonly watched: readonly RecordedWatch[];
  /** Watch events NMI was sent after unrelated changes (another node's pod and AAI, a Node, an exception outside its exception namespaces). */
  readonly unrelatedEvents: number;
  readonly unrelatedEventSample: readonly RecordedWatchEvent[];
  /** Watch events after a change of a pod on NMI's node (the control: must be ≥ 1). */
  readonly relatedEvents: number;
  /** Present when `loadRequests` > 0. */
  readonly load?: NmiLoadFigures;
}

const MB = 1024 * 1024;

/**
 * Preloaded into NMI (with `--expose-gc`): on SIGUSR2, a full collection, then one line with
 * `process.memoryUsage()` on stderr. Only the bench asks; NMI itself is unchanged.
 */
const GC_PROBE = `data:text/javascript,process.on("SIGUSR2",()=>{globalThis.gc();process.stderr.write("podid-footprint "+JSON.stringify(process.memoryUsage())+"\\n")})`;










function summariseLists(lists: readonly RecordedList[]): ListedCollection[] {
  const byKey = new Map<string, ListedCollection>();
  for (const list of lists) {
    const key = `${list.path}?${list.labelSelector ?? ""}&${list.fieldSelector ?? ""}`;
    const before = byKey.get(key);
    byKey.set(key, {
      path: list.path,
      ...(list.labelSelector !== undefined ? { labelSelector: list.labelSelector } : {}),
      ...(list.fieldSelector !== undefined ? { fieldSelector: list.fieldSelector } : {}),
      pages: (before?.pages ?? 0) + 1,
      objects: (before?.objects ?? 0) + list.objects,
    });
  }
  return [...byKey.values()];
}


/** Runs the real `podid-nmi` for NMI's node of a large fake cluster and measures it (see the module comment). */
export async function measureNmiFootprint(options: NmiFootprintOptions = {}): Promise<NmiFootprint> {
  const o = { nodes: options.nodes ?? 500, pods: options.pods ?? 5_000, podsOnNode: options.podsOnNode ?? 110, sharedIdentities: options.sharedIdentities ?? 400 };
  const nodeFlags = options.nodeFlags ?? [];
  const settleMs = options.settleMs ?? 2_000;
  if (o.podsOnNode > o.pods || o.nodes < 2 || o.podsOnNode > 250 * 250) throw new Error("need nodes ≥ 2 and podsOnNode ≤ pods");
  const dir = await mkdtemp(join(tmpdir(), "podid-nmi-footprint-"));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    const api = await FakeKubeApiServer.start({ namespaces: ["default", "kube-system", "kube-public", "kube-node-lease", "podid-system", ...TEAM_NAMESPACES], bookmarkIntervalMs: 60_000 });
    cleanups.push(() => api.close());
    api.applyManifests(await readFile(CRDS, "utf8"));
    const cluster = populate(api, o);

    const fixture = await startNmiNodeFixture({
      api,
      dir,
      node: cluster.nodeName(0),
      scaleSet: { kind: "vmss", subscriptionId: SUBSCRIPTION, resourceGroup: RESOURCE_GROUP, name: SCALE_SET },
      identityIds: cluster.own.map((i) => i.spec.resourceID),
    });
    cleanups.push(() => fixture.close());
    const { imds, recorder, port, probePort } = fixture;
    let usage: NodeJS.MemoryUsage | undefined;
    const args = [
      ...nodeFlags,
      "--expose-gc",
      `--import=${GC_PROBE}`,
      options.entry ?? NMI_BIN,
      ...fixture.flags,
      "--log-level=warn",
      // The load phase sends far more than a pod's 5/s from few pods; the limiter is not what is measured.
      "--pod-rate-limit=0",
    ];
    const { nmi, stop } = spawnNmi(args, options.env ?? {}, (tail) => {
      const line = /podid-footprint (\{.*\})/.exec(tail);
      if (line?.[1] !== undefined) usage = JSON.parse(line[1]) as NodeJS.MemoryUsage;
    });
    cleanups.push(stop);
    const child = nmi.process;
    const pid = child.pid;
    if (pid === undefined) throw new Error("podid-nmi did not start");

    await until(async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200, "podid-nmi to be ready", START_TIMEOUT_MS, nmi);
    const startCpuMs = cpuMsOf(pid);
    const listed = summariseLists(recorder.lists);
    const watched = [...recorder.watches];

    // Warm the token cache: every pod of the node obtains a token (10 at a time, bounded by the pod count).
    let warmTokens = 0;
    const queue = [...cluster.localIps];
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let ip = queue.shift(); ip !== undefined; ip = queue.shift()) {
          if ((await getAs(port, ip, tokenUrl(RESOURCE))) === 200) warmTokens++;
        }
      }),
    );
    await sleep(500);
    const afterWarmUp = memoryOf(pid);
    // The figure that counts is the steady state: an NMI spends nearly all its life idle with a warm cache, and V8
    // collects the warm-up's garbage by itself when allocation stops (no forced collection here).
    await sleep(options.steadyAfterMs ?? STEADY_AFTER_MS);
    const memory = memoryOf(pid);
    const byMapping = await residentByMapping(pid);
    child.kill("SIGUSR2");
    await until(() => usage !== undefined, "NMI's memory usage after a collection", 10_000, nmi);
    const collected = usage ?? process.memoryUsage();

    // Changes NMI has no use for: another node's pod and AAI, a Node, an exception outside its exception namespaces.
    const before = recorder.watchEvents.length;
    if (cluster.other !== undefined) touch(api, "pods", cluster.other.name, cluster.other.namespace);
    touch(api, "nodes", cluster.nodeName(1));
    const otherAai = api.store.list("azureassignedidentities").find((a) => (a.metadata as { labels?: Record<string, string> }).labels?.["nodename"] !== cluster.nodeName(0));
    if (otherAai !== undefined) touch(api, "azureassignedidentities", String(otherAai.metadata["name"]), String(otherAai.metadata["namespace"]));
    touch(api, "azurepodidentityexceptions", "team-exception", "team-0");
    await sleep(settleMs);
    const unrelated = recorder.watchEvents.slice(before);

    // The control: a pod of NMI's own node changes; NMI must be told.
    const relatedBefore = recorder.watchEvents.length;
    if (cluster.local !== undefined) touch(api, "pods", cluster.local.name, cluster.local.namespace);
    await until(() => recorder.watchEvents.length > relatedBefore, "the event of a pod on NMI's node", 10_000, nmi).catch(() => undefined);
    const relatedEvents = recorder.watchEvents.length - relatedBefore;

    const load = (options.loadRequests ?? 0) > 0 ? await cachedTokenLoad(port, pid, cluster.localIps, options.loadRequests ?? 0, RESOURCE) : undefined;

    return {
      cluster: { nodes: o.nodes, pods: o.pods, podsOnNode: o.podsOnNode, identities: cluster.identities, assignedIdentities: cluster.assigned },
      nodeFlags,
      rssMb: round(memory.rssMb),
      afterWarmUpRssMb: round(afterWarmUp.rssMb),
      hwmMb: round(memory.hwmMb),
      anonMb: round(memory.anonMb),
      fileMb: round(memory.fileMb),
      byMapping,
      afterGc: {
        rssMb: round(collected.rss / MB),
        heapUsedMb: round(collected.heapUsed / MB),
        heapTotalMb: round(collected.heapTotal / MB),
        externalMb: round((collected.external + collected.arrayBuffers) / MB),
      },
      startCpuMs,
      warmTokens,
      listed,
      watched,
      unrelatedEvents: unrelated.length,
      unrelatedEventSample: unrelated.slice(0, 10),
      relatedEvents,
      ...(load !== undefined ? { load } : {}),
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}


/** RSS of a bare `node` process that only waits (the same-run baseline of the Node runtime itself). */
export async function measureBareNode(nodeFlags: readonly string[] = []): Promise<{ rssMb: number; hwmMb: number; anonMb: number; fileMb: number }> {
  const child = spawn(process.execPath, [...nodeFlags, "-e", "setTimeout(() => undefined, 30000)"], { stdio: "ignore" });
  try {
    await sleep(1_000);
    const memory = memoryOf(child.pid ?? 0);
    return { rssMb: round(memory.rssMb), hwmMb: round(memory.hwmMb), anonMb: round(memory.anonMb), fileMb: round(memory.fileMb) };
  } finally {
    child.kill("SIGKILL");
  }
}

/** One run's lines, for the bench output. */
export function describeNmiFootprint(f: NmiFootprint): string[] {
  const lines = [
    `NMI footprint (${f.cluster.nodes} nodes, ${f.cluster.pods} pods, ${f.cluster.podsOnNode} on NMI's node, ${f.cluster.identities} identities, ${f.cluster.assignedIdentities} AAIs; node flags: ${f.nodeFlags.join(" ") || "none"})`,
    `  RSS ${f.rssMb} MB in steady state (private ${f.anonMb}, file-backed ${f.fileMb}; ${f.afterWarmUpRssMb} MB right after the warm-up), peak (VmHWM) ${f.hwmMb} MB after ${f.warmTokens}/${f.cluster.podsOnNode} pods obtained a token; CPU to synced caches ${f.startCpuMs.toFixed(0)} ms`,
    `  by mapping: node binary ${f.byMapping.nodeBinaryMb} MB, other files ${f.byMapping.otherFilesMb}, malloc main arena ([heap]) ${f.byMapping.brkHeapMb}, other private (V8 heap, thread arenas and stacks) ${f.byMapping.otherAnonMb}`,
    `  after a full GC: RSS ${f.afterGc.rssMb} MB, V8 heap used ${f.afterGc.heapUsedMb} MB of ${f.afterGc.heapTotalMb} MB, external + array buffers ${f.afterGc.externalMb} MB`,
    "  listed at start:",
    ...f.listed.map((l) => `    ${l.path}${l.labelSelector !== undefined ? ` labelSelector=${l.labelSelector}` : ""}${l.fieldSelector !== undefined ? ` fieldSelector=${l.fieldSelector}` : ""}: ${l.objects} objects (${l.pages} page${l.pages === 1 ? "" : "s"})`),
    `  watch events after unrelated changes (another node's pod and AAI, a Node, an exception outside --exception-namespaces): ${f.unrelatedEvents}${f.unrelatedEvents > 0 ? ` e.g. ${f.unrelatedEventSample.map((e) => `${e.type} ${e.kind} ${e.namespace}/${e.name}`).join(", ")}` : ""}`,
    `  watch events after a change of a pod on NMI's node (control): ${f.relatedEvents}`,
    ...(f.load === undefined
      ? []
      : [`  cached-token load: ${f.load.ok}/${f.load.requests} OK, ${f.load.perSecond} req/s, p50 ${f.load.p50Ms} ms, p99 ${f.load.p99Ms} ms (wall-clock, shared machine), NMI CPU ${f.load.cpuMsPer1000} ms per 1,000 requests; then RSS ${f.load.rssMb} MB, peak ${f.load.hwmMb} MB`]),
  ];
  return lines;
}

/** One NMI launch the bench compares. */
interface Variant {
  readonly label: string;
  readonly entry: string;
  readonly nodeFlags: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

async function main(): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const json = process.argv.includes("--json");
  const dir = await mkdtemp(join(tmpdir(), "podid-nmi-image-"));
  try {
    // As shipped: the image's bundle with the image's flags and environment (packages/nmi-server/Dockerfile).
    // `BENCH_NMI_NODE_FLAGS` (space-separated) replaces the Dockerfile's node flags, to measure a setting before it ships.
    const override = process.env["BENCH_NMI_NODE_FLAGS"];
    const built = buildNmiImageEntry(ROOT, dir);
    const image = override === undefined ? built : { ...built, nodeFlags: override.split(/\s+/).filter((f) => f !== "") };
    if (override !== undefined) out(`node flags from BENCH_NMI_NODE_FLAGS instead of the Dockerfile's: ${image.nodeFlags.join(" ") || "(none)"}`);
    const variants: Variant[] = [
      { label: "image bundle as shipped (/app/main.mjs, the Dockerfile's ENTRYPOINT flags and ENV)", ...image },
      { label: "dist entry (npx podid-nmi) with the same flags", entry: NMI_BIN, nodeFlags: image.nodeFlags, env: image.env },
      { label: "dist entry without flags", entry: NMI_BIN, nodeFlags: [], env: {} },
    ];
    const bare = await measureBareNode();
    out(`baseline: bare node ${process.version} process RSS ${bare.rssMb} MB (private ${bare.anonMb}, file-backed ${bare.fileMb})`);
    const results: { label: string; footprint: NmiFootprint }[] = [];
    for (const v of variants) {
      const footprint = await measureNmiFootprint({ entry: v.entry, nodeFlags: v.nodeFlags, env: v.env, loadRequests: 20_000 });
      results.push({ label: v.label, footprint });
      out(`${v.label}${Object.keys(v.env).length > 0 ? ` env ${JSON.stringify(v.env)}` : ""}:`);
      for (const line of describeNmiFootprint(footprint)) out(`  ${line}`);
    }
    const shipped = results[0]?.footprint;
    if (shipped !== undefined) out(`NMI as shipped: RSS ${shipped.rssMb} MB (goal ≤ 80 MB; bare node ${bare.rssMb} MB in this run)`);
    if (json && shipped !== undefined) {
      out(JSON.stringify({ rssMb: shipped.rssMb, asShipped: shipped, bareNode: bare, variants: results.map((r) => ({ label: r.label, ...r.footprint })) }));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`nmi-footprint failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
