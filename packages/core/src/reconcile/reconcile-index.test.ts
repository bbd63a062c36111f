import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clusterArb, SELECTOR_POOL } from "@podid/testkit";
import { matchAssignments } from "../matching/desired-assignments.js";
import { BINDING_LABEL } from "../model/constants.js";
import type { PodView } from "../model/types.js";
import { buildAssignedIdentity } from "./assigned-identity-builder.js";
import { planReconcile } from "./plan.js";
import { EMPTY_QUARANTINE } from "./quarantine.js";
import { ReconcileIndex } from "./reconcile-index.js";

const policy = { immutableIdentities: [], quarantine: EMPTY_QUARANTINE };

type Change = { kind: "delete" } | { kind: "relabel"; selector: string } | { kind: "move"; node: string } | { kind: "add"; selector: string; node: string };

const scenarioArb = clusterArb({ maxPods: 12, maxNodes: 8 }).chain((cluster) =>
  fc.record({
    cluster: fc.constant(cluster),
    forceNamespaced: fc.boolean(),
    podIndex: fc.nat(),
    change: fc.oneof(
      fc.constant<Change>({ kind: "delete" }),
      fc.constantFrom(...SELECTOR_POOL, "typo").map((selector): Change => ({ kind: "relabel", selector })),
      fc.constantFrom(...cluster.nodes.map((n) => n.metadata.name), "").map((node): Change => ({ kind: "move", node })),
      fc.record({ selector: fc.constantFrom(...SELECTOR_POOL), node: fc.constantFrom(...cluster.nodes.map((n) => n.metadata.name)) }).map((x): Change => ({ kind: "add", ...x })),
    ),
  }),
);

describe("ReconcileIndex", () => {
  it("plans a single-pod change exactly like a full plan does, from a converged state", () => {
    fc.assert(
      fc.property(scenarioArb, ({ cluster, forceNamespaced, podIndex, change }) => {
        const options = { forceNamespaced };
        const before = matchAssignments(cluster, options).assignments;
        const assigned = before.map((d) => buildAssignedIdentity(d, "Assigned"));
        const index = new ReconcileIndex(options);
        index.rebuild({ ...cluster, assigned });
        expect(index.planAll(policy, 0).targets).toEqual([]);

        const pods = [...cluster.pods];
        let changed: PodView | undefined;
        let namespace = "default";
        let name = "new-pod";
        if (change.kind === "add") {
          changed = { ...(pods[0] ?? emptyPod()), metadata: { ...emptyPod().metadata, name, namespace, labels: { [BINDING_LABEL]: change.selector } }, nodeName: change.node, phase: "Running" };
          pods.push(changed);
        } else {
          fc.pre(pods.length > 0);
          const i = podIndex % pods.length;
          const pod = pods[i] as PodView;
          namespace = pod.metadata.namespace;
          name = pod.metadata.name;
          if (change.kind === "delete") pods.splice(i, 1);
          else {
            changed =
              change.kind === "relabel"
                ? { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata.labels, [BINDING_LABEL]: change.selector } } }
                : { ...pod, nodeName: change.node };
            pods[i] = changed;
          }
        }
        const incremental = index.planPod(namespace, name, changed, policy, 0);
        fc.pre(incremental !== undefined);
        const full = planReconcile({ desired: matchAssignments({ ...cluster, pods }, options).assignments, current: assigned, nodes: cluster.nodes, policy, nowMs: 0 });
        expect(incremental).toEqual({ ...full, unresolvedNodes: incremental?.unresolvedNodes });
      }),
      { numRuns: 300 },
    );
  });
});

function emptyPod(): PodView {
  return {
    kind: "Pod",
    metadata: { name: "new-pod", namespace: "default", labels: {}, annotations: {}, finalizers: [] },
    nodeName: "",
    serviceAccountName: "default",
    hostNetwork: false,
    phase: "Running",
    podIP: "10.0.0.1",
    podIPs: ["10.0.0.1"],
  };
}
