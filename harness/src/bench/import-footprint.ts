/**
 * Memory cost of podid's Kubernetes access (issue #13), every figure from a fresh Node process so the
 * numbers do not mix:
 *
 * 1. **Imports**: RSS and heapUsed (after GC) of a process that only imports one module — bare `node`, the
 *    `@kubernetes/client-node` root (the same-run baseline: what adapter-k8s loaded before
 *    docs/adr/0011-lean-kube-access.md), `@podid/adapter-k8s` (lean root), its `./client-node` subpath (the
 *    typed client the CLI keeps), `@podid/nmi-server` and `@podid/mic-runner`, each daemon also together with the
 *    client-node root, which is what its process loaded before (the rest of its imports are unchanged).
 * 2. **Informer for 10,000 pods**: a FakeKubeApiServer (in this process) holds 10,000 realistic pods
 *    (containers, volumes, conditions, container statuses and `managedFields` as the API server stores them);
 *    a child process syncs a pods informer against it and reports RSS, heapUsed and peak RSS (VmHWM) after
 *    sync and GC, plus the CPU time the sync took. Lean: adapter-k8s's `KubeInformerReader` (raw JSON pages
 *    parsed straight into core's `PodView`). Baseline, same run: the pipeline adapter-k8s used before —
 *    typed `CoreV1Api` pages re-serialised to wire JSON and parsed, plus client-node's `ListWatch` with its
 *    own cache of the raw objects.
 *
 * `npm run bench:imports` prints both tables. Figures vary by a few MB between runs on a shared machine.
 * @packageDocumentation
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
// @podid/testkit is imported in the parent only (dynamically), so it never inflates a measured child.

const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;

/** One measurement of a child process. */
interface Footprint {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  readonly heapTotalMb: number;
  readonly externalMb: number;
  readonly peakRssMb: number;
  readonly cpuMs?: number;
  readonly objects?: number;
}

async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function peakRssMb(): Promise<number> {
  const status = await readFile("/proc/self/status", "utf8");
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? Number.NaN : Number(kb) / 1024;
}

async function footprint(extra: Partial<Footprint> = {}): Promise<Footprint> {
  await settle();
  const usage = process.memoryUsage();
  return {
    rssMb: usage.rss / MB,
    heapUsedMb: usage.heapUsed / MB,
    heapTotalMb: usage.heapTotal / MB,
    externalMb: usage.external / MB,
    peakRssMb: await peakRssMb(),
    ...extra,
  };
}

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

// --- child modes --------------------------------------------------------------------------------

/** Imports each comma-separated specifier in turn (none for bare `node`). */
async function childImport(specifiers: string): Promise<Footprint> {
  for (const specifier of specifiers.split(",").filter((s) => s !== "")) await import(specifier);
  return footprint();
}

async function childLeanInformer(kubeconfigPath: string): Promise<Footprint> {
  const k8s = await import("@podid/adapter-k8s");
  const started = process.cpuUsage();
  const client = new k8s.KubeClient({ kubeConfig: k8s.loadKubeConfig({ kind: "file", path: kubeconfigPath }), qps: Number.POSITIVE_INFINITY });
  const pageSize = process.env["PODID_BENCH_PAGE_SIZE"];
  const reader = new k8s.KubeInformerReader({ client, resources: ["pods"], ...(pageSize !== undefined ? { pageSize: Number(pageSize) } : {}) });
  reader.start();
  await reader.whenSynced();
  const cpu = cpuMs(started);
  const result = await footprint({ cpuMs: cpu, objects: reader.list("pods").length });
  await reader.stop();
  return result;
}

/** adapter-k8s's informer pipeline before ADR 11, rebuilt from client-node's public API for comparison. */
async function childClientNodeInformer(kubeconfigPath: string): Promise<Footprint> {
  const kn = await import("@kubernetes/client-node");
  const { parsePod } = await import("@podid/core");
  const started = process.cpuUsage();
  const kc = new kn.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(kn.CoreV1Api);
  const parsed = new Map<string, unknown>();
  const keep = (raw: unknown): void => {
    const pod = parsePod(raw);
    if (pod.ok) parsed.set(`${pod.value.metadata.namespace}/${pod.value.metadata.name}`, pod.value);
  };
  const listAll = async (): Promise<{ metadata: { resourceVersion: string }; items: InstanceType<typeof kn.V1Pod>[] }> => {
    const items: InstanceType<typeof kn.V1Pod>[] = [];
    let resourceVersion = "";
    let continueToken: string | undefined;
    do {
      const page = await core.listPodForAllNamespaces({ limit: 500, ...(continueToken !== undefined ? { _continue: continueToken } : {}) });
      items.push(...page.items);
      resourceVersion = page.metadata?.resourceVersion ?? "";
      continueToken = page.metadata?._continue === "" ? undefined : page.metadata?._continue;
    } while (continueToken !== undefined);
    for (const item of items) keep(JSON.parse(JSON.stringify(item)) as unknown);
    return { metadata: { resourceVersion }, items };
  };
  const listWatch = new kn.ListWatch<InstanceType<typeof kn.V1Pod>>("/api/v1/pods", new kn.Watch(kc), listAll, false);
  let synced!: () => void;
  const ready = new Promise<void>((resolve) => (synced = resolve));
  listWatch.on("connect", () => undefined);
  void listWatch.start().then(() => synced());
  await ready;
  const cpu = cpuMs(started);
  const result = await footprint({ cpuMs: cpu, objects: Math.min(parsed.size, listWatch.list().length) });
  await listWatch.stop();
  return result;
}

// --- the realistic pods -------------------------------------------------------------------------

/** A pod as a Deployment, the scheduler and the kubelet leave it, managedFields included. */
function realisticPod(i: number, nodes: number): Record<string, unknown> {
  const namespace = `team-${i % 50}`;
  const app = `app-${i % 200}`;
  const name = `${app}-7d9f8c6b5-${i.toString(36).padStart(5, "0")}`;
  const node = `aks-nodepool1-${(i % nodes).toString().padStart(4, "0")}-vmss`;
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const time = "2026-12-01T10:00:00Z";
  const fieldsV1 = (keys: readonly string[]): Record<string, unknown> => Object.fromEntries(keys.map((k) => [k, {}]));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      generateName: `${app}-7d9f8c6b5-`,
      uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`,
      creationTimestamp: time,
      labels: { app, "pod-template-hash": "7d9f8c6b5", ...(i % 5 === 0 ? { aadpodidbinding: `selector-${i % 200}` } : {}) },
      annotations: { "kubectl.kubernetes.io/restartedAt": time, "prometheus.io/scrape": "true", "prometheus.io/port": "9102" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: `${app}-7d9f8c6b5`, uid: `rs-${i % 200}`, controller: true, blockOwnerDeletion: true }],
      managedFields: [
        {
          manager: "kube-controller-manager",
          operation: "Update",
          apiVersion: "v1",
          time,
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": { "f:generateName": {}, "f:labels": fieldsV1(["f:app", "f:pod-template-hash"]), "f:ownerReferences": { [`k:{"uid":"rs-${i % 200}"}`]: {} } },
            "f:spec": {
              "f:containers": { [`k:{"name":"${app}"}`]: fieldsV1(["f:env", "f:image", "f:imagePullPolicy", "f:name", "f:ports", "f:resources", "f:terminationMessagePath", "f:volumeMounts"]) },
              ...fieldsV1(["f:dnsPolicy", "f:enableServiceLinks", "f:restartPolicy", "f:schedulerName", "f:securityContext", "f:terminationGracePeriodSeconds", "f:volumes"]),
            },
          },
        },
        {
          manager: "kubelet",
          operation: "Update",
          apiVersion: "v1",
          time,
          fieldsType: "FieldsV1",
          subresource: "status",
          fieldsV1: {
            "f:status": {
              "f:conditions": Object.fromEntries(["ContainersReady", "Initialized", "PodReadyToStartContainers", "Ready"].map((t) => [`k:{"type":"${t}"}`, fieldsV1(["f:lastProbeTime", "f:lastTransitionTime", "f:status", "f:type"])])),
              ...fieldsV1(["f:containerStatuses", "f:hostIP", "f:hostIPs", "f:phase", "f:podIP", "f:podIPs", "f:startTime"]),
            },
          },
        },
      ],
    },
    spec: {
      nodeName: node,
      serviceAccountName: "default",
      serviceAccount: "default",
      restartPolicy: "Always",
      dnsPolicy: "ClusterFirst",
      schedulerName: "default-scheduler",
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: true,
      priority: 0,
      preemptionPolicy: "PreemptLowerPriority",
      securityContext: {},
      tolerations: [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      ],
      containers: [
        {
          name: app,
          image: `myregistry.azurecr.io/${app}:1.${i % 20}.0`,
          imagePullPolicy: "IfNotPresent",
          ports: [{ containerPort: 8080, protocol: "TCP" }],
          env: [
            { name: "AZURE_CLIENT_ID", value: `client-${i % 200}` },
            { name: "LOG_LEVEL", value: "info" },
            { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
          ],
          resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
          volumeMounts: [{ name: "kube-api-access-x7k2p", readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" }],
          terminationMessagePath: "/dev/termination-log",
          terminationMessagePolicy: "File",
        },
      ],
      volumes: [
        {
          name: "kube-api-access-x7k2p",
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
              { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
            ],
          },
        },
      ],
    },
    status: {
      phase: "Running",
      hostIP: "10.224.0.4",
      hostIPs: [{ ip: "10.224.0.4" }],
      podIP: ip,
      podIPs: [{ ip }],
      qosClass: "Burstable",
      startTime: time,
      conditions: ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({ type, status: "True", lastProbeTime: null, lastTransitionTime: time })),
      containerStatuses: [
        {
          name: app,
          ready: true,
          started: true,
          restartCount: 0,
          image: `myregistry.azurecr.io/${app}:1.${i % 20}.0`,
          imageID: `myregistry.azurecr.io/${app}@sha256:${"ab".repeat(32)}`,
          containerID: `containerd://${(i * 7919).toString(16).padStart(64, "0")}`,
          state: { running: { startedAt: time } },
          lastState: {},
        },
      ],
    },
  };
}

// --- parent -------------------------------------------------------------------------------------

async function inChild(mode: string, argument: string): Promise<Footprint> {
  const { stdout } = await run(process.execPath, ["--expose-gc", SELF, mode, argument], { maxBuffer: 1 << 20, timeout: 300_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Footprint;
}

const fmt = (n: number | undefined, digits = 1): string => (n === undefined || Number.isNaN(n) ? "-" : n.toFixed(digits));

async function main(): Promise<void> {
  const pods = Number(process.env["PODID_BENCH_PODS"] ?? 10_000);
  console.log("# Imports (fresh process each; RSS / heapUsed after GC, MB)");
  console.log("module".padEnd(44), "rss".padStart(7), "heapUsed".padStart(9));
  for (const [label, specifier] of [
    ["bare node", ""],
    ["@kubernetes/client-node (root) — baseline", "@kubernetes/client-node"],
    ["@podid/adapter-k8s (lean root)", "@podid/adapter-k8s"],
    ["@podid/adapter-k8s/client-node (typed, CLI)", "@podid/adapter-k8s/client-node"],
    ["@podid/nmi-server", "@podid/nmi-server"],
    ["  + client-node root (≈ before ADR 11)", "@podid/nmi-server,@kubernetes/client-node"],
    ["@podid/mic-runner", "@podid/mic-runner"],
    ["  + client-node root (≈ before ADR 11)", "@podid/mic-runner,@kubernetes/client-node"],
  ] as const) {
    const f = await inChild("import", specifier);
    console.log(label.padEnd(44), fmt(f.rssMb).padStart(7), fmt(f.heapUsedMb).padStart(9));
  }

  const { FakeKubeApiServer } = await import("@podid/testkit");
  const server = await FakeKubeApiServer.start({ watchHistory: 100 });
  const dir = await mkdtemp(join(tmpdir(), "podid-bench-imports-"));
  try {
    for (let i = 0; i < pods; i++) server.store.upsert(realisticPod(i, 500) as Parameters<typeof server.store.upsert>[0]);
    const sample = JSON.stringify(realisticPod(1, 500)).length;
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, server.kubeconfig());
    console.log(`\n# Pods informer synced against ${pods} pods (~${(sample / 1024).toFixed(1)} kB of JSON each, managedFields included); MB, CPU ms`);
    console.log("pipeline".padEnd(44), "rss".padStart(7), "heapUsed".padStart(9), "heapTotal".padStart(10), "external".padStart(9), "peakRss".padStart(8), "cpuMs".padStart(7), "objects".padStart(8));
    for (const [label, mode] of [
      ["client-node typed list + ListWatch (before)", "informer-client-node"],
      ["adapter-k8s lean KubeInformerReader (after)", "informer-lean"],
    ] as const) {
      const f = await inChild(mode, kubeconfig);
      console.log(
        label.padEnd(44),
        fmt(f.rssMb).padStart(7),
        fmt(f.heapUsedMb).padStart(9),
        fmt(f.heapTotalMb).padStart(10),
        fmt(f.externalMb).padStart(9),
        fmt(f.peakRssMb).padStart(8),
        fmt(f.cpuMs, 0).padStart(7),
        String(f.objects ?? "-").padStart(8),
      );
    }
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const [mode, argument = ""] = process.argv.slice(2);
const child: Record<string, (arg: string) => Promise<Footprint>> = {
  import: childImport,
  "informer-lean": childLeanInformer,
  "informer-client-node": childClientNodeInformer,
};
const selected = mode === undefined ? undefined : child[mode];
if (selected !== undefined) {
  process.stdout.write(`${JSON.stringify(await selected(argument))}\n`);
  process.exit(0);
} else {
  await main();
}
