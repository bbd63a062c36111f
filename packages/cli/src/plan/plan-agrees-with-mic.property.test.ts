/**
 * `podid plan` must predict what MIC really does. For random small clusters, the manifests are serialised to
 * YAML and planned through the real CLI (`podid plan -f - -o json`), and the real `MicController` runs on
 * testkit's `FakeCluster` + `FakeCompute` under a `VirtualClock` until it is idle. Then:
 *
 * - the AzureAssignedIdentities in the cluster (name → status) are exactly those the plan says remain, with
 *   the predicted statuses;
 * - every VM/VMSS ends with exactly the identity block the plan's PATCH bodies produce (targets without
 *   planned work unchanged).
 *
 * A second phase removes some pods and plans again from the converged state (the stored AzureAssignedIdentities
 * and the VM/VMSS identities as documents), which exercises detaches, releases and in-use rules.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  computeTargetKey,
  formatUserAssignedIdentityId,
  identityKey,
  parseProviderId,
  serialiseAzureAssignedIdentity,
  serialiseAzureIdentity,
  serialiseAzureIdentityBinding,
  serialiseNode,
  serialisePod,
  type AzureIdentity,
  type AzureIdentityBinding,
  type ComputeTarget,
  type NodeView,
  type ObjectMeta,
  type PodView,
} from "@podid/core";
import { FakeCluster, FakeCompute, RecordingLogger, USER_ASSIGNED_IDENTITY_POOL, VirtualClock } from "@podid/testkit";
import { MicController } from "@podid/mic-runner/controller";
import { runCli } from "../test-support/run-cli.js";
import type { OfflinePlan } from "./offline-plan.js";

const POOL_IDS = USER_ASSIGNED_IDENTITY_POOL.map((f) => formatUserAssignedIdentityId(f));
const FOREIGN_ID = "/subscriptions/c0ffee00-0000-4000-8000-00000000beef/resourceGroups/rg-other/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kubelet";
const SUBSCRIPTION = "c0ffee00-0000-4000-8000-00000000beef";
const NAMESPACES = ["default", "team-a"] as const;
const SELECTORS = ["web", "batch"] as const;
const IDENTITY_NAMES = ["web-id", "batch-id", "reader-id"] as const;

function meta(namespace: string, name: string, extra: Partial<ObjectMeta> = {}): ObjectMeta {
  return { name, namespace, labels: {}, annotations: {}, finalizers: [], ...extra };
}

/** Nodes of up to two pools: a scale set of 2–3 instances or 1–2 standalone VMs (AKS-like names). */
const nodesArb: fc.Arbitrary<NodeView[]> = fc
  .uniqueArray(fc.record({ pool: fc.constantFrom("pool0", "pool1"), vmss: fc.boolean(), count: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 2, selector: (p) => p.pool })
  .map((pools) =>
    pools.flatMap((p) =>
      Array.from({ length: p.count }, (_, i): NodeView => {
        const name = p.vmss ? `aks-${p.pool}-12345678-vmss00000${i}` : `aks-${p.pool}-vm-${i}`;
        const providerID = p.vmss
          ? `azure:///subscriptions/${SUBSCRIPTION}/resourceGroups/MC_rg_aks_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-${p.pool}-12345678-vmss/virtualMachines/${i}`
          : `azure:///subscriptions/${SUBSCRIPTION}/resourceGroups/MC_rg_aks_westeurope/providers/Microsoft.Compute/virtualMachines/${name}`;
        return { kind: "Node", metadata: meta("", name), providerID };
      }),
    ),
  );

/** Identities: names unique per namespace; resource ids from a small pool (so several identities may share one). */
const identitiesArb: fc.Arbitrary<AzureIdentity[]> = fc
  .uniqueArray(
    fc.record({
      namespace: fc.constantFrom(...NAMESPACES),
      name: fc.constantFrom(...IDENTITY_NAMES),
      pool: fc.nat(POOL_IDS.length - 1),
      type: fc.constantFrom(0, 0, 0, 1),
      namespaced: fc.constantFrom(false, false, false, true),
    }),
    { minLength: 1, maxLength: 4, selector: (i) => `${i.namespace}/${i.name}` },
  )
  .map((specs) =>
    specs.map((i): AzureIdentity => {
      const fixture = USER_ASSIGNED_IDENTITY_POOL[i.pool] ?? USER_ASSIGNED_IDENTITY_POOL[0];
      return {
        kind: "AzureIdentity",
        metadata: meta(i.namespace, i.name, i.namespaced ? { annotations: { "aadpodidentity.k8s.io/Behavior": "namespaced" } } : {}),
        spec: {
          type: i.type === 0 ? 0 : 1,
          resourceID: i.type === 0 ? (POOL_IDS[i.pool] ?? "") : "",
          clientID: fixture?.clientID ?? "",
          tenantID: i.type === 0 ? "" : "72f988bf-0000-4000-8000-000000000001",
          ...(i.type === 0 ? {} : { clientPassword: { name: "sp-secret", namespace: i.namespace } }),
          auxiliaryTenantIDs: [],
          adEndpoint: "",
          adResourceID: "",
          serviceAccounts: [],
        },
      };
    }),
  );

interface Scenario {
  readonly nodes: readonly NodeView[];
  readonly identities: readonly AzureIdentity[];
  readonly bindings: readonly AzureIdentityBinding[];
  readonly pods: readonly PodView[];
  /** Per distinct target (in first-seen order): system-assigned?, pre-attached pool indexes, foreign id? */
  readonly computeSeeds: readonly { readonly system: boolean; readonly preAttached: readonly number[]; readonly foreign: boolean }[];
  readonly forceNamespaced: boolean;
  /** Pool indexes whose resource id (even) or client id (odd) is immutable. */
  readonly immutable: readonly number[];
  /** Pods (by index) removed in phase 2. */
  readonly removed: readonly number[];
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.tuple(nodesArb, identitiesArb).chain(([nodes, identities]) =>
  fc.record({
    nodes: fc.constant(nodes),
    identities: fc.constant(identities),
    // Bindings: mostly to an identity of their own namespace, sometimes to a missing one or across namespaces.
    bindings: fc
      .array(
        fc.record({
          identity: fc.constantFrom(...identities),
          otherNamespace: fc.boolean(),
          missing: fc.integer({ min: 0, max: 9 }),
          selector: fc.constantFrom(...SELECTORS),
        }),
        { minLength: 1, maxLength: 4 },
      )
      .map((specs) =>
        specs.map((b, i): AzureIdentityBinding => ({
          kind: "AzureIdentityBinding",
          metadata: meta(b.otherNamespace && b.missing === 0 ? NAMESPACES.find((n) => n !== b.identity.metadata.namespace) ?? "default" : b.identity.metadata.namespace, `binding-${i}`),
          spec: { azureIdentity: b.missing === 1 ? "ghost-id" : b.identity.metadata.name, selector: b.selector },
        })),
      ),
    pods: fc
      .array(
        fc.record({
          namespace: fc.constantFrom(...NAMESPACES),
          selector: fc.option(fc.constantFrom(...SELECTORS), { freq: 8, nil: undefined }),
          node: fc.option(fc.constantFrom(...nodes.map((n) => n.metadata.name)), { freq: 8, nil: "" }),
          phase: fc.constantFrom<PodView["phase"]>("Running", "Running", "Running", "Pending", "Succeeded"),
        }),
        { minLength: 2, maxLength: 7 },
      )
      .map((specs) =>
        specs.map((p, i): PodView => ({
          kind: "Pod",
          metadata: meta(p.namespace, `pod-${i}`, { uid: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, labels: p.selector === undefined ? {} : { aadpodidbinding: p.selector } }),
          nodeName: p.node,
          serviceAccountName: "default",
          hostNetwork: false,
          phase: p.node === "" ? "Pending" : p.phase,
          podIP: "",
          podIPs: [],
        })),
      ),
    computeSeeds: fc.array(
      fc.record({ system: fc.boolean(), preAttached: fc.uniqueArray(fc.nat(POOL_IDS.length - 1), { maxLength: 2 }), foreign: fc.boolean() }),
      { minLength: 2, maxLength: 2 },
    ),
    forceNamespaced: fc.constantFrom(false, false, false, true),
    immutable: fc.uniqueArray(fc.nat(POOL_IDS.length * 2 - 1), { maxLength: 2 }),
    removed: fc.uniqueArray(fc.nat(6), { minLength: 1, maxLength: 5 }),
  }),
);

function targetsOf(cluster: Pick<Scenario, "nodes">): ComputeTarget[] {
  const targets = new Map<string, ComputeTarget>();
  for (const node of cluster.nodes) {
    const parsed = parseProviderId(node.providerID);
    if (parsed.ok && !targets.has(computeTargetKey(parsed.value.target))) targets.set(computeTargetKey(parsed.value.target), parsed.value.target);
  }
  return [...targets.values()];
}

function immutableValues(indexes: readonly number[]): string[] {
  return indexes.map((i) => {
    const fixture = USER_ASSIGNED_IDENTITY_POOL[Math.floor(i / 2)] ?? USER_ASSIGNED_IDENTITY_POOL[0];
    if (fixture === undefined) return "";
    return i % 2 === 0 ? formatUserAssignedIdentityId(fixture) : fixture.clientID;
  });
}

/** The YAML of identities, bindings, pods, nodes, current AAIs and VM/VMSS identity blocks. */
function manifests(cluster: Scenario, pods: readonly PodView[], compute: FakeCompute, fake: FakeCluster | undefined): string {
  const docs: unknown[] = [
    ...cluster.identities.map(serialiseAzureIdentity),
    ...cluster.bindings.map(serialiseAzureIdentityBinding),
    ...pods.map(serialisePod),
    ...cluster.nodes.map(serialiseNode),
    ...(fake === undefined ? [] : fake.list("azureassignedidentities").map(serialiseAzureAssignedIdentity)),
    ...compute.targets().map((snapshot) => ({
      kind: snapshot.target.kind === "vm" ? "VirtualMachineIdentities" : "VirtualMachineScaleSetIdentities",
      id: `/subscriptions/${snapshot.target.subscriptionId}/resourceGroups/${snapshot.target.resourceGroup}/providers/Microsoft.Compute/${snapshot.target.kind === "vm" ? "virtualMachines" : "virtualMachineScaleSets"}/${snapshot.target.name}`,
      type: snapshot.type,
      userAssignedIdentities: [...snapshot.userAssigned.values()],
    })),
  ];
  return docs.map((doc) => stringify(doc)).join("---\n");
}

async function plan(yaml: string, scenario: Scenario): Promise<OfflinePlan> {
  const immutable = immutableValues(scenario.immutable);
  const args = ["plan", "-f", "-", "-o", "json", ...(scenario.forceNamespaced ? ["--force-namespaced"] : []), ...(immutable.length > 0 ? ["--immutable", immutable.join(",")] : [])];
  const run = await runCli(args, { stdin: yaml });
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as OfflinePlan;
}

/** AAI name → status the plan says remains. */
function predictedObjects(planned: OfflinePlan, before: ReadonlyMap<string, string>): Map<string, string> {
  const result = new Map(before);
  for (const row of planned.assignedIdentities) {
    const key = `${row.namespace}/${row.name}`;
    if (row.resultingStatus === "deleted") result.delete(key);
    else result.set(key, row.resultingStatus);
  }
  return result;
}

/** Target key → sorted identity keys the plan says each VM/VMSS ends with. */
function predictedCompute(planned: OfflinePlan, compute: FakeCompute): Map<string, string[]> {
  const result = new Map(compute.targets().map((s) => [s.key, [...s.userAssignedKeys]]));
  for (const target of planned.targets) {
    result.set(target.id.toLowerCase(), target.resulting.userAssignedIdentityIds.map((id) => identityKey(id) ?? id.toLowerCase()).sort());
  }
  return result;
}

async function converge(clock: VirtualClock, controller: MicController): Promise<void> {
  let idleSteps = 0;
  for (let i = 0; i < 400 && idleSteps < 3; i++) {
    await clock.advanceAsync(1_000);
    idleSteps = controller.isIdle() ? idleSteps + 1 : 0;
  }
  expect(controller.isIdle()).toBe(true);
}

describe("podid plan agrees with MicController", () => {
  it("predicts the AzureAssignedIdentities and the identity sets of every VM/VMSS, from scratch and after pods go", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const cluster = scenario;
        const clock = new VirtualClock({ startMs: 1_714_564_800_000 });
        const compute = new FakeCompute({ clock, patchLatencyMs: 2_000, getLatencyMs: 100, oneOperationAtATimePerTarget: true });
        targetsOf(cluster).forEach((target, i) => {
          const seed = scenario.computeSeeds[i] ?? { system: false, preAttached: [], foreign: false };
          compute.add(target, { systemAssigned: seed.system, userAssigned: [...seed.preAttached.map((p) => POOL_IDS[p] ?? ""), ...(seed.foreign ? [FOREIGN_ID] : [])] });
        });

        // Phase 1: nothing assigned yet.
        const first = await plan(manifests(cluster, cluster.pods, compute, undefined), scenario);
        const expectedObjects = predictedObjects(first, new Map());
        const expectedCompute = predictedCompute(first, compute);

        const fake = new FakeCluster({ clock });
        for (const node of cluster.nodes) fake.apply("nodes", node);
        for (const identity of cluster.identities) fake.apply("azureidentities", identity);
        for (const binding of cluster.bindings) fake.apply("azureidentitybindings", binding);
        for (const pod of cluster.pods) fake.apply("pods", pod);
        const controller = new MicController(
          { reader: fake, writer: fake, compute, clock, logger: new RecordingLogger({ clock }), isLeader: () => true },
          { batchWindowMs: 500, forceNamespaced: scenario.forceNamespaced, immutableIdentities: immutableValues(scenario.immutable) },
        );
        controller.start();
        try {
          await converge(clock, controller);
          const actualObjects = new Map(fake.list("azureassignedidentities").map((a) => [`${a.metadata.namespace}/${a.metadata.name}`, a.status as string]));
          expect(actualObjects).toEqual(expectedObjects);
          expect(new Map(compute.targets().map((s) => [s.key, [...s.userAssignedKeys]]))).toEqual(expectedCompute);

          // Phase 2: some pods go; plan from the converged state.
          const removed = new Set(scenario.removed.map((i) => cluster.pods[i]).filter((p) => p !== undefined));
          const remaining = cluster.pods.filter((p) => !removed.has(p));
          const second = await plan(manifests(cluster, remaining, compute, fake), scenario);
          const before = new Map(fake.list("azureassignedidentities").map((a) => [`${a.metadata.namespace}/${a.metadata.name}`, a.status as string]));
          const expectedObjects2 = predictedObjects(second, before);
          const expectedCompute2 = predictedCompute(second, compute);
          for (const pod of removed) fake.remove("pods", pod.metadata.namespace, pod.metadata.name);
          await converge(clock, controller);
          const actualObjects2 = new Map(fake.list("azureassignedidentities").map((a) => [`${a.metadata.namespace}/${a.metadata.name}`, a.status as string]));
          expect(actualObjects2).toEqual(expectedObjects2);
          expect(new Map(compute.targets().map((s) => [s.key, [...s.userAssignedKeys]]))).toEqual(expectedCompute2);
        } finally {
          controller.stop();
        }
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
