import { describe, expect, it } from "vitest";
import { deployMemoryLimitMb, micDefaultClientLimits, micImageLaunch, SCENARIOS } from "./mic-real.bench.js";
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
});
