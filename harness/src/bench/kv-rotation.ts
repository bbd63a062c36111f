/**
 * The Key Vault drivers' rotation load on NMI's `/host/token`. The Secrets Store
 * CSI driver re-mounts every volume every 2 minutes by default (`--rotation-poll-interval`), and every mount asks
 * NMI for the pod's token; the FlexVolume driver asks on every mount too. 100 pods on a node over 10 identities,
 * half of each kind (the CSI half through SecretProviderClasses in pod-identity mode), with the scoped
 * `/host/token` on (the default). Two parts:
 *
 * 1. **Real process**: the built `podid-nmi` for the node, the fake kube-apiserver over HTTP (through a
 *    recorder counting NMI's SecretProviderClass reads) and the fake IMDS over HTTP; rounds of every pod's
 *    driver call, a second apart standing for the 2 minutes. Upstream IMDS token requests are counted; the
 *    original NMI had no token cache and sent each `/host/token` call to IMDS, so its count is the call count.
 * 2. **Token lifetimes, virtual clock**: NMI's token server in this process (`createNmiServer`, testkit's
 *    in-memory fakes, a `VirtualClock`), every pod calling every 2 virtual minutes over 3 token lifetimes of
 *    24 h (IMDS's managed-identity tokens); upstream fetches per (identity, resource) per lifetime, after the
 *    first fetch (target ≤ 1).
 *
 * `npm run bench:kv-rotation` prints both (kv-rotation.bench.ts); kv-rotation.test.ts runs a small version.
 * docs/key-vault.md explains the rotation and the cache.
 * @packageDocumentation
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serialiseAzureAssignedIdentity, serialiseAzureIdentity, serialiseAzureIdentityBinding, serialiseNode } from "@podid/core";
import {
  FakeKubeApiServer,
  FakeSecretProviderClassReader,
  SECRET_PROVIDER_CLASS_CRD,
  secretProviderClassObject,
  TEST_NODE,
  type KubeObject,
} from "@podid/testkit";
import { startInProcessNmi } from "./in-process-nmi.js";
import { hostTokenCall, NAMESPACE, rotationNode } from "./kv-rotation-cluster.js";
import { spawnNmi, startNmiNodeFixture } from "./nmi-node-fixture.js";
import { sleep, until } from "./nmi-footprint-process.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const NMI_BIN = join(ROOT, "packages/nmi-server/bin/podid-nmi.mjs");
const CRDS = join(ROOT, "deploy/crds.yaml");
/** Calls in flight at once (kubelet mounts volumes of different pods in parallel). */
const CONCURRENCY = 20;
/** The Secrets Store CSI driver's default rotation interval (`--rotation-poll-interval`). */
const ROTATION_MS = 2 * 60_000;
/** IMDS's managed-identity tokens live 24 h. */
const TOKEN_LIFETIME_S = 86_399;
const START_TIMEOUT_MS = 60_000;

/** Shape of a run. */
export interface KvRotationOptions {
  /** Pods on the node (default 100), alternating FlexVolume and CSI. */
  readonly pods?: number;
  /** Identities they use (default 10). */
  readonly identities?: number;
  /** Real-process rounds (default 6), `roundGapMs` apart (default 1,000: standing for the 2 minutes). */
  readonly rounds?: number;
  readonly roundGapMs?: number;
  /** Token lifetimes simulated on the virtual clock (default 3). */
  readonly lifetimes?: number;
}

const DEFAULTS = { pods: 100, identities: 10, rounds: 6, roundGapMs: 1_000, lifetimes: 3 } as const;

/** Every pod's driver call, `CONCURRENCY` at a time; the statuses. */
async function rotationRound(port: number, pods: readonly string[]): Promise<number[]> {
  const queue = [...pods];
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) statuses.push(await hostTokenCall(port, NAMESPACE, name));
    }),
  );
  return statuses;
}

/** What the real-process part measured. */
export interface RealProcessFigures {
  readonly rounds: number;
  readonly calls: number;
  readonly ok: number;
  readonly upstreamTokenRequests: number;
  readonly identityResourcePairs: number;
  readonly secretProviderClassReads: number;
  readonly secretProviderClasses: number;
}

/** Part 1: the real NMI process. */
export async function measureRealProcess(options: KvRotationOptions = {}): Promise<RealProcessFigures> {
  const o = { ...DEFAULTS, ...options };
  const dir = await mkdtemp(join(tmpdir(), "podid-kv-rotation-"));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    const node = rotationNode("aks-kv-00000000-vmss000000", o.pods, o.identities);
    const api = await FakeKubeApiServer.start({ namespaces: ["default", "kube-system", NAMESPACE], bookmarkIntervalMs: 60_000 });
    cleanups.push(() => api.close());
    api.applyManifests(await readFile(CRDS, "utf8"));
    api.applyManifests(SECRET_PROVIDER_CLASS_CRD);
    const put = (object: unknown) => api.store.upsert(object as KubeObject);
    put(serialiseNode({ kind: "Node", metadata: { name: "aks-kv-00000000-vmss000000", namespace: "", labels: {}, annotations: {}, finalizers: [] }, providerID: "" }));
    for (const identity of node.identities) put(serialiseAzureIdentity(identity));
    for (const binding of node.bindings) put(serialiseAzureIdentityBinding(binding));
    for (const pod of node.pods) put(pod.raw);
    for (const assigned of node.assigned) put(serialiseAzureAssignedIdentity(assigned));
    for (const spc of node.secretProviderClasses) put(secretProviderClassObject({ namespace: spc.namespace, name: spc.name, ...(spc.provider !== undefined ? { provider: spc.provider } : {}), ...(spc.usePodIdentity !== undefined ? { usePodIdentity: spc.usePodIdentity } : {}) }));

    const fixture = await startNmiNodeFixture({
      api,
      dir,
      node: "aks-kv-00000000-vmss000000",
      scaleSet: { kind: "vmss", subscriptionId: "00000000-0000-4000-8000-00000000c0de", resourceGroup: "MC_kv", name: "aks-kv-00000000-vmss" },
      identityIds: node.identities.map((i) => i.spec.resourceID),
    });
    cleanups.push(() => fixture.close());
    const { imds, recorder, port, probePort } = fixture;
    const { nmi, stop } = spawnNmi([NMI_BIN, ...fixture.flags, "--log-level=warn"]);
    cleanups.push(stop);
    await until(async () => (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200, "podid-nmi to be ready", START_TIMEOUT_MS, nmi);
    imds.resetCounters();
    const names = node.pods.map((p) => p.view.metadata.name);
    const statuses: number[] = [];
    for (let round = 0; round < o.rounds; round++) {
      if (round > 0) await sleep(o.roundGapMs);
      statuses.push(...(await rotationRound(port, names)));
    }
    const spcPath = /\/apis\/secrets-store\.csi\.x-k8s\.io\/v1\/namespaces\/[^/]+\/secretproviderclasses\/[^/]+$/;
    return {
      rounds: o.rounds,
      calls: statuses.length,
      ok: statuses.filter((s) => s === 200).length,
      upstreamTokenRequests: imds.counts().issued,
      identityResourcePairs: o.identities,
      secretProviderClassReads: recorder.requests.filter((r) => r.method === "GET" && spcPath.test(r.path)).length,
      // The classes the CSI half of the pods names (pods alternate between the drivers).
      secretProviderClasses: new Set(node.pods.flatMap((p) => (p.view.keyVaultVolumes ?? []).flatMap((v) => (v.kind === "csi" ? [v.secretProviderClass] : [])))).size,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}


/** What the virtual-clock part measured. */
export interface LifetimeFigures {
  readonly rotations: number;
  readonly calls: number;
  readonly ok: number;
  readonly firstFetches: number;
  readonly laterFetches: number;
  readonly fetchesPerPairPerLifetime: number;
}

/** Part 2: rotation over token lifetimes on a virtual clock. */
export async function measureLifetimes(options: KvRotationOptions = {}): Promise<LifetimeFigures> {
  const o = { ...DEFAULTS, ...options };
  const node = rotationNode(TEST_NODE, o.pods, o.identities);
  const nmi = await startInProcessNmi({
    config: { nodeName: TEST_NODE, hostToken: "scoped" },
    tokenLifetimeSeconds: TOKEN_LIFETIME_S,
    secretProviderClasses: new FakeSecretProviderClassReader(node.secretProviderClasses),
  });
  const { clock, cluster, port } = nmi;
  for (const identity of node.identities) {
    cluster.apply("azureidentities", identity);
    nmi.tokens.allow(identity.spec.resourceID);
  }
  for (const binding of node.bindings) cluster.apply("azureidentitybindings", binding);
  for (const pod of node.pods) cluster.apply("pods", pod.view);
  for (const assigned of node.assigned) cluster.apply("azureassignedidentities", assigned);
  const names = node.pods.map((p) => p.view.metadata.name);
  try {
    const first = await rotationRound(port, names);
    const firstFetches = nmi.fetches();
    const rotations = Math.round((o.lifetimes * TOKEN_LIFETIME_S * 1000) / ROTATION_MS);
    let calls = first.length;
    let ok = first.filter((s) => s === 200).length;
    for (let round = 0; round < rotations; round++) {
      await clock.advanceAsync(ROTATION_MS);
      const statuses = await rotationRound(port, names);
      calls += statuses.length;
      ok += statuses.filter((s) => s === 200).length;
    }
    const laterFetches = nmi.fetches() - firstFetches;
    return { rotations, calls, ok, firstFetches, laterFetches, fetchesPerPairPerLifetime: laterFetches / o.identities / o.lifetimes };
  } finally {
    await nmi.close();
  }
}

