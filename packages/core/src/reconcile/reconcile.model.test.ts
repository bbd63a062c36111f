import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildScaleCluster, FakeCluster, FakeCompute, type ClusterSnapshot } from "@podid/testkit";
import { computeTargetKey } from "../azure-ids/compute-target.js";
import { parseProviderId } from "../azure-ids/provider-id.js";
import type { ComputeIdentityState, ComputeTarget } from "../azure-ids/types.js";
import { lifecycleStateOf } from "../lifecycle/assigned-identity-lifecycle.js";
import { matchAssignments } from "../matching/desired-assignments.js";
import { BINDING_LABEL } from "../model/constants.js";
import type { AzureIdentity, PodView } from "../model/types.js";
import { managedIdentityKey } from "./assignment-comparison.js";
import { executeReconcilePlan } from "./execute-plan.js";
import { hasSystemAssigned } from "./identity-delta.js";
import { immutableIdentitySet, isImmutableIdentity } from "./immutable-identities.js";
import { isEmptyPlan, planReconcile } from "./plan.js";
import { EMPTY_QUARANTINE, type QuarantineState } from "./quarantine.js";

const FOREIGN = [
  "/subscriptions/99999999-0000-4000-8000-000000000000/resourcegroups/other/providers/microsoft.managedidentity/userassignedidentities/kubelet",
  "/subscriptions/99999999-0000-4000-8000-000000000000/resourcegroups/other/providers/microsoft.managedidentity/userassignedidentities/monitoring",
];
const options = { forceNamespaced: false };

/** The system under test: fake API server and fake ARM driven by planReconcile + executeReconcilePlan. */
interface Real {
  cluster: FakeCluster;
  compute: FakeCompute;
  targets: ComputeTarget[];
  systemAssigned: Map<string, boolean>;
  foreignOn: Map<string, string[]>;
  immutable: string[];
  quarantine: QuarantineState;
  nowMs: number;
  /** Identities whose Assigned status write was made to fail: a leak of these is the documented trade-off. */
  possiblyLeaked: Set<string>;
  /** Objects (namespace/name) whose status write failed during the latest pass: the next pass retries it. */
  statusWriteFailed: Set<string>;
  /**
   * Identity blocks the executor last read or got back from a PATCH, fed to the next plan as `observed`
   * (a controller's cache: no extra ARM reads). It is what repairs an object left Assigned after its
   * detach landed but its status write failed, should the pair be wanted again.
   */
  known: Map<string, ComputeIdentityState>;
}
/** The model: which pods, bindings and identities exist, by index into the scenario's pools. */
interface Model {
  pods: Map<number, PodView>;
}

function targetOf(nodes: readonly { providerID: string }[], index: number): ComputeTarget | undefined {
  const node = nodes[index];
  if (node === undefined) return undefined;
  const parsed = parseProviderId(node.providerID);
  return parsed.ok ? parsed.value.target : undefined;
}

async function observe(real: Real): Promise<Map<string, ComputeIdentityState>> {
  for (const target of real.targets) {
    const state = await real.compute.getIdentities(target);
    if (state.ok) real.known.set(computeTargetKey(target), state.value);
  }
  return real.known;
}

async function reconcileOnce(real: Real, freshReads: boolean) {
  real.statusWriteFailed.clear();
  const desired = matchAssignments(
    { pods: real.cluster.list("pods"), bindings: real.cluster.list("azureidentitybindings"), identities: real.cluster.list("azureidentities") },
    options,
  ).assignments;
  const plan = planReconcile({
    desired,
    current: real.cluster.list("azureassignedidentities"),
    nodes: real.cluster.list("nodes"),
    observed: freshReads ? await observe(real) : real.known,
    policy: { immutableIdentities: real.immutable, quarantine: real.quarantine },
    nowMs: real.nowMs,
  });
  const report = await executeReconcilePlan(plan, real.quarantine, { writer: real.cluster, compute: real.compute }, { now: () => real.nowMs });
  real.quarantine = report.quarantine;
  for (const outcome of report.targets) if (outcome.finalState !== undefined) real.known.set(outcome.key, outcome.finalState);
  expect(report.lifecycleErrors).toEqual([]);
  return { plan, desired };
}

/** Safety that must hold after every step, faults or not; `afterReconcile` adds what a pass must restore. */
function checkSafety(real: Real, afterReconcile: boolean): void {
  for (const target of real.targets) {
    const key = computeTargetKey(target);
    const snapshot = real.compute.identitiesOf(target);
    if (snapshot === undefined) continue;
    // Identities nobody's object names are never touched; the system identity is never dropped.
    for (const foreign of real.foreignOn.get(key) ?? []) expect(snapshot.userAssignedKeys).toContain(foreign);
    expect(hasSystemAssigned(snapshot.type)).toBe(real.systemAssigned.get(key) ?? false);
  }
  if (!afterReconcile) return;
  // An Assigned object of a pair that is still wanted never claims an identity ARM does not hold (no
  // out-of-band removal is simulated here). A pair no longer wanted may briefly stay Assigned after its
  // detach landed but its status write failed; the next pass deletes it (NMI would only get IMDS's
  // "Identity not found" for it, never another identity).
  const wanted = new Set(
    matchAssignments(
      { pods: real.cluster.list("pods"), bindings: real.cluster.list("azureidentitybindings"), identities: real.cluster.list("azureidentities") },
      options,
    ).assignments.map((d) => `${d.namespace}/${d.name}@${d.nodeName}#${managedIdentityKey(d.identity)}`),
  );
  for (const aai of real.cluster.list("azureassignedidentities")) {
    const key = managedIdentityKey(aai.spec.azureIdentityRef);
    if (key === undefined || lifecycleStateOf(aai.status) !== "Assigned") continue;
    if (!wanted.has(`${aai.metadata.namespace}/${aai.metadata.name}@${aai.spec.nodeName}#${key}`)) continue;
    // A failed re-attach demotes its object to Created; if that very write failed, the next pass redoes both.
    if (real.statusWriteFailed.has(`${aai.metadata.namespace}/${aai.metadata.name}`)) continue;
    const node = real.cluster.get("nodes", "", aai.spec.nodeName);
    if (node === undefined) continue;
    const parsed = parseProviderId(node.providerID);
    if (!parsed.ok) continue;
    expect(real.compute.identitiesOf(parsed.value.target)?.userAssignedKeys).toContain(key);
  }
}

type Cmd = fc.AsyncCommand<Model, Real>;
const command = (name: string, run: (m: Model, r: Real) => Promise<void> | void): Cmd => ({
  check: () => true,
  run: async (m, r) => {
    await run(m, r);
    checkSafety(r, name.startsWith("reconcile"));
  },
  toString: () => name,
});

function commandsFor(base: ClusterSnapshot): fc.Arbitrary<Cmd>[] {
  const podPool = base.pods;
  const identityPool = base.identities;
  const anyIdentity = fc.nat({ max: Math.max(0, identityPool.length - 1) });
  const anyPod = fc.nat({ max: Math.max(0, podPool.length - 1) });
  const anyNode = fc.nat({ max: Math.max(0, base.nodes.length - 1) });
  const anyId = (r: Real, i: number) => (identityPool[i % Math.max(1, identityPool.length)] as AzureIdentity | undefined)?.spec.resourceID ?? "";
  return [
    anyPod.map((i) => command(`addPod(${i})`, (m, r) => {
      const pod = podPool[i];
      if (pod === undefined) return;
      m.pods.set(i, pod);
      r.cluster.apply("pods", pod);
    })),
    anyPod.map((i) => command(`deletePod(${i})`, (m, r) => {
      const pod = m.pods.get(i);
      if (pod === undefined) return;
      m.pods.delete(i);
      r.cluster.remove("pods", pod.metadata.namespace, pod.metadata.name);
    })),
    fc.tuple(anyPod, fc.constantFrom(...SELECTORS)).map(([i, selector]) => command(`relabel(${i},${selector})`, (m, r) => {
      const pod = m.pods.get(i);
      if (pod === undefined) return;
      const next = { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, [BINDING_LABEL]: selector } } };
      m.pods.set(i, next);
      r.cluster.apply("pods", next);
    })),
    fc.tuple(anyPod, anyNode).map(([i, n]) => command(`move(${i},${n})`, (m, r) => {
      const pod = m.pods.get(i);
      const node = base.nodes[n];
      if (pod === undefined || node === undefined) return;
      const next = { ...pod, nodeName: node.metadata.name };
      m.pods.set(i, next);
      r.cluster.apply("pods", next);
    })),
    fc.nat({ max: Math.max(0, base.bindings.length - 1) }).map((i) => command(`toggleBinding(${i})`, (_m, r) => {
      const binding = base.bindings[i];
      if (binding === undefined) return;
      if (r.cluster.get("azureidentitybindings", binding.metadata.namespace, binding.metadata.name) === undefined) r.cluster.apply("azureidentitybindings", binding);
      else r.cluster.remove("azureidentitybindings", binding.metadata.namespace, binding.metadata.name);
    })),
    anyIdentity.map((i) => command(`editIdentityClientId(${i})`, (_m, r) => {
      const identity = identityPool[i];
      if (identity === undefined || r.cluster.get("azureidentities", identity.metadata.namespace, identity.metadata.name) === undefined) return;
      r.cluster.apply("azureidentities", { ...identity, spec: { ...identity.spec, clientID: `${identity.spec.clientID}0` } });
    })),
    anyIdentity.map((i) => command(`forbidInArm(${i})`, (_m, r) => r.compute.forbidIdentities([anyId(r, i)]))),
    anyIdentity.map((i) => command(`deleteInArm(${i})`, (_m, r) => r.compute.deleteIdentities([anyId(r, i)]))),
    anyNode.map((n) => command(`throttle(${n})`, (_m, r) => {
      const target = targetOf(base.nodes, n);
      if (target !== undefined) r.compute.throttle(target, { retryAfterMs: 20_000, count: 2 });
    })),
    anyNode.map((n) => command(`conflict(${n})`, (_m, r) => {
      const target = targetOf(base.nodes, n);
      if (target !== undefined) r.compute.conflictNext(target, 1);
    })),
    fc.constant(command("failNextStatusWrite", (_m, r) => {
      const remove = r.cluster.injectWriteFault((op, aai) => {
        if (op !== "setStatus") return undefined;
        remove();
        const key = managedIdentityKey(aai.spec.azureIdentityRef);
        if (key !== undefined) r.possiblyLeaked.add(key);
        r.statusWriteFailed.add(`${aai.metadata.namespace}/${aai.metadata.name}`);
        return { kind: "conflict", alreadyExists: false, message: "injected stale resourceVersion" };
      });
    })),
    fc.boolean().map((freshReads) => command(`reconcile(freshReads=${freshReads})`, async (_m, r) => {
      r.nowMs += 1_000;
      await reconcileOnce(r, freshReads);
    })),
  ];
}

/**
 * Dense small clusters: every identity bound, pods on scale sets and standalone VMs, some identities
 * sharing one Azure resource (the in-use rule), optionally one service principal.
 */
const denseClusterArb: fc.Arbitrary<ClusterSnapshot> = fc
  .record({
    pods: fc.integer({ min: 3, max: 12 }),
    nodes: fc.integer({ min: 2, max: 7 }),
    nodesPerScaleSet: fc.constantFrom(0, 2, 3),
    identities: fc.integer({ min: 2, max: 4 }),
    namespaces: fc.integer({ min: 1, max: 2 }),
    shareResource: fc.boolean(),
    servicePrincipal: fc.boolean(),
  })
  .map(({ shareResource, servicePrincipal, ...shape }) => {
    const cluster = buildScaleCluster(shape);
    const identities = cluster.identities.map((identity, i): AzureIdentity => {
      if (i === 1 && shareResource) return { ...identity, spec: { ...identity.spec, resourceID: cluster.identities[0]?.spec.resourceID ?? "" } };
      if (i === 2 && servicePrincipal) return { ...identity, spec: { ...identity.spec, type: 1, resourceID: "", tenantID: "t", clientPassword: { name: "s", namespace: identity.metadata.namespace } } };
      return identity;
    });
    return { ...cluster, identities, exceptions: [] };
  });
const SELECTORS = ["sel-0", "sel-1", "sel-2", "sel-3", "typo"];

const scenarioArb = denseClusterArb.chain((base) =>
  fc.record({
    base: fc.constant(base),
    initialPods: fc.subarray(base.pods.map((_, i) => i)),
    systemAssigned: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
    foreign: fc.array(fc.subarray(FOREIGN), { minLength: 16, maxLength: 16 }),
    immutable: fc.subarray(base.identities.map((i) => i.spec.clientID)),
    cmds: fc.commands(commandsFor(base), { maxCommands: 40, size: "+1" }),
  }),
);

describe("reconcile model run: planner + executor against the fake API server and fake ARM", () => {
  it("stays safe under random events and ARM/kube faults, and converges to the desired state once faults stop", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ base, initialPods, systemAssigned, foreign, immutable, cmds }) => {
        const cluster = new FakeCluster();
        const compute = new FakeCompute();
        const real: Real = {
          cluster,
          compute,
          targets: [],
          systemAssigned: new Map(),
          foreignOn: new Map(),
          immutable,
          quarantine: EMPTY_QUARANTINE,
          nowMs: 0,
          possiblyLeaked: new Set(),
          statusWriteFailed: new Set(),
          known: new Map(),
        };
        const seen = new Set<string>();
        base.nodes.forEach((node, n) => {
          cluster.apply("nodes", node);
          const target = targetOf(base.nodes, n);
          if (target === undefined) return;
          const key = computeTargetKey(target);
          if (seen.has(key)) return;
          seen.add(key);
          const sys = systemAssigned[seen.size % 16] ?? false;
          const pre = foreign[seen.size % 16] ?? [];
          compute.add(target, { systemAssigned: sys, userAssigned: pre });
          real.targets.push(target);
          real.systemAssigned.set(key, sys);
          real.foreignOn.set(key, pre);
        });
        for (const identity of base.identities) cluster.apply("azureidentities", identity);
        for (const binding of base.bindings) cluster.apply("azureidentitybindings", binding);
        const model: Model = { pods: new Map() };
        for (const i of initialPods) {
          const pod = base.pods[i];
          if (pod === undefined) continue;
          model.pods.set(i, pod);
          cluster.apply("pods", pod);
        }

        await fc.asyncModelRun(() => ({ model, real }), cmds);

        // Faults stop: ARM accepts every identity again and quarantines have run out.
        compute.allowIdentities(base.identities.map((i) => i.spec.resourceID));
        compute.restoreIdentities(base.identities.map((i) => i.spec.resourceID));
        real.nowMs += 24 * 3600_000;
        // One-shot faults still queued (throttles count 2, conflicts 1, status writes 1) drain one per
        // round at most, so convergence may take that many extra rounds: bounded by the command count.
        const maxRounds = 4 + 2 * [...cmds].length;
        let converged = false;
        let last;
        for (let round = 0; round < maxRounds && !converged; round++) {
          last = await reconcileOnce(real, true);
          converged = isEmptyPlan(last.plan) && last.plan.held.length === 0;
        }
        expect(converged).toBe(true);
        checkSafety(real, true);

        // Converged means: every desired pair is Assigned and its identity attached; nothing else is stored;
        // every attached identity is foreign, desired there, immutable, or a documented possible leak.
        const desired = last?.desired ?? [];
        const stored = new Map(cluster.list("azureassignedidentities").map((a) => [`${a.metadata.namespace}/${a.metadata.name}`, a]));
        const immutableSet = immutableIdentitySet(immutable);
        const wantedOn = new Map<string, Set<string>>();
        for (const d of desired) {
          const node = cluster.get("nodes", "", d.nodeName);
          const parsed = node === undefined ? undefined : parseProviderId(node.providerID);
          if (parsed === undefined || !parsed.ok) continue;
          const aai = stored.get(`${d.namespace}/${d.name}`);
          expect(aai?.status).toBe("Assigned");
          const key = managedIdentityKey(d.identity);
          if (key === undefined) continue;
          const targetKey = computeTargetKey(parsed.value.target);
          expect(compute.identitiesOf(parsed.value.target)?.userAssignedKeys).toContain(key);
          wantedOn.set(targetKey, (wantedOn.get(targetKey) ?? new Set()).add(key));
        }
        expect(stored.size).toBe(desired.filter((d) => cluster.get("nodes", "", d.nodeName) !== undefined).length);
        const immutableKeys = new Set(base.identities.filter((i) => isImmutableIdentity(i, immutableSet)).map(managedIdentityKey));
        for (const target of real.targets) {
          const key = computeTargetKey(target);
          for (const attached of compute.identitiesOf(target)?.userAssignedKeys ?? []) {
            const explained =
              (real.foreignOn.get(key) ?? []).includes(attached) ||
              wantedOn.get(key)?.has(attached) === true ||
              immutableKeys.has(attached) ||
              real.possiblyLeaked.has(attached);
            expect(explained, `${attached} left on ${key}`).toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
