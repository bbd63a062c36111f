/**
 * The fakes process of `bench:mic-real`: the fake kube-apiserver (HTTP, the CRDs of `deploy/crds.yaml`), the
 * fake AAD and ARM (HTTPS, signed by a per-run CA) over a {@link FakeCompute} whose scale-set PATCHes take
 * the bench's latency, one operation at a time per scale set. It reports what MIC did every 250 ms: stored
 * AzureAssignedIdentities and how many are `Assigned`, the kube requests MIC sent (told apart by User-Agent)
 * and ARM's calls. Started by `mic-real.bench.ts` with an IPC channel; exits when told to stop or when the
 * channel closes (its parent died).
 * @packageDocumentation
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { computeTargetKey, parseProviderId, type ComputeTarget } from "@podid/core";
import {
  buildScaleCluster,
  FakeAadServer,
  FakeArmServer,
  FakeCompute,
  FakeIdentityCatalog,
  FakeKubeApiServer,
  systemClock,
  TestCertificateAuthority,
} from "@podid/testkit";
import { BENCH_USER_AGENT, resourceOfPath, type BenchShape, type FromFakes, type KubeRequestTally, type ToFakes } from "./mic-real-protocol.js";

const CRDS_PATH = fileURLToPath(new URL("../../../deploy/crds.yaml", import.meta.url));
const TENANT = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const MIC_CLIENT_ID = "3f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c";
const MIC_SECRET = "bench-secret";
const SUBSCRIPTION = "00000000-0000-4000-8000-000000000001";
const NODE_RESOURCE_GROUP = "MC_rg_cluster_westeurope";
const KUBELET_IDENTITY = `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kubelet`;
const TICK_MS = 250;
/** Listing 10,000 stored objects costs the fake API server tens of ms: AzureAssignedIdentities are counted every other tick, and only when something changed. */
const COUNT_EVERY_TICKS = 2;

const send = (message: FromFakes): void => {
  process.send?.(message);
};

async function start(shape: BenchShape, vmssPatchLatencyMs: number, dir: string): Promise<() => Promise<void>> {
  const ca = await TestCertificateAuthority.create({ dir });
  const cluster = buildScaleCluster({ ...shape, subscriptionId: SUBSCRIPTION, resourceGroup: NODE_RESOURCE_GROUP });
  const compute = new FakeCompute({
    clock: systemClock,
    patchLatencyMs: (target) => (target.kind === "vmss" ? vmssPatchLatencyMs : vmssPatchLatencyMs / 2),
    getLatencyMs: 50,
    oneOperationAtATimePerTarget: true,
  });
  const catalog = new FakeIdentityCatalog();
  const kubelet = catalog.register({ id: KUBELET_IDENTITY, clientId: "00000000-0000-4000-9000-ffffffffffff", tenantId: TENANT });
  for (const identity of cluster.identities) catalog.register({ id: identity.spec.resourceID, clientId: identity.spec.clientID, tenantId: TENANT });
  const targets = new Map<string, ComputeTarget>();
  for (const node of cluster.nodes) {
    const parsed = parseProviderId(node.providerID);
    if (parsed.ok && !targets.has(computeTargetKey(parsed.value.target))) {
      targets.set(computeTargetKey(parsed.value.target), parsed.value.target);
      compute.add(parsed.value.target, { systemAssigned: true, userAssigned: [kubelet.id] });
    }
  }
  const kube = await FakeKubeApiServer.start({ watchHistory: 50_000 });
  kube.applyManifests(await readFile(CRDS_PATH, "utf8"));
  const aad = await FakeAadServer.start({ ca, tenants: [TENANT] });
  aad.registerApplication({ tenantId: TENANT, clientId: MIC_CLIENT_ID, secret: MIC_SECRET });
  const arm = await FakeArmServer.start({ ca, compute, catalog, tenantId: TENANT });
  const kubeconfigPath = join(dir, "kubeconfig");
  const azureJsonPath = join(dir, "azure.json");
  await kube.writeKubeconfig(kubeconfigPath);
  await writeFile(
    azureJsonPath,
    JSON.stringify({
      cloud: "AzurePublicCloud",
      tenantId: TENANT,
      aadClientId: MIC_CLIENT_ID,
      aadClientSecret: MIC_SECRET,
      subscriptionId: SUBSCRIPTION,
      resourceGroup: NODE_RESOURCE_GROUP,
      vmType: "vmss",
      useManagedIdentityExtension: false,
      userAssignedIdentityID: kubelet.clientId,
      resourceManagerEndpoint: arm.url,
      activeDirectoryEndpoint: aad.url,
    }),
  );

  let writes = 0;
  let reads = 0;
  const writesByResource: Record<string, number> = {};
  let ticks = 0;
  let countedAt = -1;
  let aaiCount = 0;
  let assigned = 0;
  const tick = (): void => {
    // The request log is bounded; reading and clearing it every tick keeps every request counted.
    for (const request of kube.requests) {
      if (request.userAgent.startsWith(BENCH_USER_AGENT)) continue;
      if (request.method === "GET") reads++;
      else {
        writes++;
        const resource = resourceOfPath(request.path);
        writesByResource[resource] = (writesByResource[resource] ?? 0) + 1;
      }
    }
    kube.clearRequests();
    if (ticks++ % COUNT_EVERY_TICKS === 0 && kube.store.revision !== countedAt) {
      countedAt = kube.store.revision;
      const aais = kube.store.list("azureassignedidentities");
      aaiCount = aais.length;
      assigned = aais.filter((aai) => (aai["status"] as { status?: string } | undefined)?.status === "Assigned").length;
    }
    const counts = compute.counts();
    const kubeTally: KubeRequestTally = { writes, reads, writesByResource: { ...writesByResource } };
    send({ type: "tick", atMs: Date.now(), aais: aaiCount, assigned, kube: kubeTally, armPatches: counts.patches, armGets: counts.gets });
  };
  const timer = setInterval(tick, TICK_MS);
  send({ type: "ready", kubeUrl: kube.url, kubeconfigPath, azureJsonPath, childEnv: ca.childEnvironment() });
  return async () => {
    clearInterval(timer);
    await arm.close();
    await aad.close();
    await kube.close();
  };
}

let stop: (() => Promise<void>) | undefined;
const exit = async (code: number): Promise<void> => {
  await stop?.().catch(() => undefined);
  process.exit(code);
};
process.on("message", (message: ToFakes) => {
  if (message.type === "start") {
    start(message.shape, message.vmssPatchLatencyMs, message.dir).then(
      (stopper) => (stop = stopper),
      (error: unknown) => {
        send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        void exit(1);
      },
    );
  } else void exit(0);
});
process.on("disconnect", () => void exit(0));
