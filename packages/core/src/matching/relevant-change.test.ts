import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { podArb } from "@podid/testkit";
import { matchAssignments } from "./desired-assignments.js";
import { isAssignmentRelevantPodChange } from "./relevant-change.js";
import { clusterArb } from "@podid/testkit";

describe("isAssignmentRelevantPodChange", () => {
  it("whenever it says irrelevant, matching gives the same assignments before and after", () => {
    fc.assert(
      fc.property(clusterArb({ maxPods: 6 }), podArb(), fc.nat(), (cluster, replacement, index) => {
        fc.pre(cluster.pods.length > 0);
        const i = index % cluster.pods.length;
        const before = cluster.pods[i];
        if (before === undefined) return;
        // Keep identity (namespace/name) so this is an update of the same pod.
        const after = { ...replacement, metadata: { ...replacement.metadata, namespace: before.metadata.namespace, name: before.metadata.name } };
        if (isAssignmentRelevantPodChange(before, after)) return;
        const pods = [...cluster.pods];
        pods[i] = after;
        const strip = (r: ReturnType<typeof matchAssignments>) => r.assignments.map((a) => `${a.namespace}/${a.name}@${a.nodeName}`);
        expect(strip(matchAssignments({ ...cluster, pods }, { forceNamespaced: false }))).toEqual(strip(matchAssignments(cluster, { forceNamespaced: false })));
      }),
      { numRuns: 300 },
    );
  });

  it("creation and deletion are relevant; an IP change is not", () => {
    fc.assert(
      fc.property(podArb(), (pod) => {
        expect(isAssignmentRelevantPodChange(undefined, pod)).toBe(true);
        expect(isAssignmentRelevantPodChange(pod, undefined)).toBe(true);
        expect(isAssignmentRelevantPodChange(pod, { ...pod, podIP: "10.9.9.9", podIPs: ["10.9.9.9"] })).toBe(false);
      }),
    );
  });
});
