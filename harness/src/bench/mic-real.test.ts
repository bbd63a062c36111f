import { describe, expect, it } from "vitest";
import { allAssignedVerdict, counterValue, deployMemoryLimitMb, micDefaultClientLimits, micImageLaunch, SCENARIOS } from "./mic-real.bench.js";
import { resourceOfPath } from "./mic-real-protocol.js";

describe("bench:mic-real's helpers", () => {
  it("reads MIC's memory limit from the deploy manifests (MiB)", () => {
    expect(deployMemoryLimitMb()).toBe(512);
  });

  it("starts MIC with the V8 settings of its image (young generation capped, as measured in docs/adr/0018-mic-memory-and-event-budget.md)", () => {
    const launch = micImageLaunch();
    expect([...launch.nodeFlags, launch.env["NODE_OPTIONS"] ?? ""].join(" ")).toMatch(/--max-semi-space-size=\d+/);
  });

  it("caps V8's old space in MIC's image well inside the deploy's memory limit (docs/adr/0018-mic-memory-and-event-budget.md)", () => {
    const flags = micImageLaunch().nodeFlags.join(" ");
    const cap = Number(/--max-old-space-size=(\d+)/.exec(flags)?.[1]);
    expect(cap).toBeGreaterThan(0);
    // Room for the binary, code and malloc beside the heap: the limit is twice the cap or more.
    expect(cap * 2).toBeLessThanOrEqual(deployMemoryLimitMb());
  });

  it("tells which resource a kube request wrote", () => {
    expect(resourceOfPath("/apis/aadpodidentity.k8s.io/v1/namespaces/default/azureassignedidentities/a-b")).toBe("azureassignedidentities");
    expect(resourceOfPath("/api/v1/namespaces/ns-1/events")).toBe("events");
    expect(resourceOfPath("/apis/coordination.k8s.io/v1/namespaces/default/leases/aad-pod-identity-mic?timeout=5s")).toBe("leases");
    expect(resourceOfPath("/api/v1/nodes/n-1")).toBe("nodes");
    expect(resourceOfPath("/api/v1/namespaces")).toBe("namespaces");
    expect(resourceOfPath("/apis/aadpodidentity.k8s.io/v1/azureassignedidentities")).toBe("azureassignedidentities");
  });

  it("runs MIC's own flag defaults and the issue's two shapes", () => {
    expect(micDefaultClientLimits()).toEqual({ clientQps: 50, createDeleteBatch: 20 });
    expect(SCENARIOS["2k"]).toMatchObject({ pods: 2_000, nodes: 30 });
    expect(SCENARIOS["10k"]).toMatchObject({ pods: 10_000, nodes: 500, nodesPerScaleSet: 50, identities: 200 });
  });

  it("judges all Assigned against the AAI-only bound and reads MIC's Event drop counter", () => {
    expect(allAssignedVerdict({ allAssignedS: 120.1, allAssignedTargetS: 95 })).toBe("120.1 s: not met (bound 95 s)");
    expect(allAssignedVerdict({ allAssignedS: 95, allAssignedTargetS: 95 })).toBe("95 s: met (bound 95 s)");
    expect(allAssignedVerdict({ allAssignedS: null, allAssignedTargetS: 95 })).toMatch(/not met/);
    const exposition = "# HELP podid_mic_events_dropped_total x\n# TYPE podid_mic_events_dropped_total counter\npodid_mic_events_dropped_total 12\npodid_mic_leader 1\n";
    expect(counterValue(exposition, "podid_mic_events_dropped_total")).toBe(12);
    expect(counterValue(exposition, "podid_mic_events")).toBeUndefined();
  });
});
