import type { AzurePodIdentityException, ResourceEvent, WatchedResource } from "@podid/core";
import { FakeCluster, makeAssigned, makeBinding, makeException, makeIdentity, makePod } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import { NMI_CONFIG_DEFAULTS } from "./config/nmi-config.js";
import { nmiWatchScope, ScopedKubeReader, type StartableKubeReader } from "./nmi-watch-scope.js";

/** A FakeCluster as an informer reader that watches `resources` only (what the scope handed it). */
function readerOf(cluster: FakeCluster, resources: readonly WatchedResource[]): StartableKubeReader & { started: number } {
  return Object.assign(cluster, {
    resources,
    started: 0,
    start(this: { started: number }) {
      this.started++;
    },
    stop: async () => undefined,
    whenSynced: async () => undefined,
  });
}

const config = { ...NMI_CONFIG_DEFAULTS, nodeName: "node-a" };

describe("nmiWatchScope", () => {
  it("standard mode: this node's pods and AAIs (nodename label), identities and bindings, exceptions per exception namespace, never Nodes", () => {
    expect(nmiWatchScope(config)).toEqual({
      resources: ["pods", "azureassignedidentities", "azureidentities", "azureidentitybindings"],
      podNodeName: "node-a",
      assignedIdentityNodeName: "node-a",
      exceptionNamespaces: ["podid-system", "kube-system"],
    });
  });

  it("--enableScaleFeatures=false watches every AAI; managed mode watches none; no exception namespaces, no exception watch", () => {
    expect(nmiWatchScope({ ...config, enableScaleFeatures: false }).assignedIdentityNodeName).toBeUndefined();
    const managed = nmiWatchScope({ ...config, operationMode: "managed" });
    expect(managed.resources).toEqual(["pods", "azureidentities", "azureidentitybindings"]);
    expect(managed.assignedIdentityNodeName).toBeUndefined();
    expect(nmiWatchScope({ ...config, exceptionNamespaces: [] }).exceptionNamespaces).toEqual([]);
    for (const mode of ["standard", "managed"] as const) {
      for (const enableScaleFeatures of [true, false]) {
        expect(nmiWatchScope({ ...config, operationMode: mode, enableScaleFeatures }).resources).not.toContain("nodes");
        expect(nmiWatchScope({ ...config, operationMode: mode, enableScaleFeatures }).resources).not.toContain("azurepodidentityexceptions");
      }
    }
  });
});

describe("ScopedKubeReader", () => {
  const setUp = () => {
    const node = new FakeCluster();
    const kubeSystem = new FakeCluster();
    const podidSystem = new FakeCluster();
    const readers = {
      node: readerOf(node, ["pods", "azureidentities", "azureidentitybindings"]),
      kubeSystem: readerOf(kubeSystem, ["azurepodidentityexceptions"]),
      podidSystem: readerOf(podidSystem, ["azurepodidentityexceptions"]),
    };
    const scoped = new ScopedKubeReader(
      readers.node,
      new Map([
        ["kube-system", readers.kubeSystem],
        ["podid-system", readers.podidSystem],
      ]),
    );
    return { node, kubeSystem, podidSystem, readers, scoped };
  };

  it("reads exceptions of a namespace from that namespace's reader; other namespaces have none", () => {
    const { kubeSystem, podidSystem, scoped } = setUp();
    kubeSystem.apply("azurepodidentityexceptions", makeException("agents", "kube-system", { app: "agent" }));
    podidSystem.apply("azurepodidentityexceptions", makeException("mic", "podid-system", { app: "mic" }));
    expect(scoped.list("azurepodidentityexceptions", "kube-system").map((e) => e.metadata.name)).toEqual(["agents"]);
    expect(scoped.list("azurepodidentityexceptions", "team-a")).toEqual([]);
    expect(scoped.list("azurepodidentityexceptions").map((e) => e.metadata.name).sort()).toEqual(["agents", "mic"]);
    expect(scoped.get("azurepodidentityexceptions", "podid-system", "mic")?.metadata.name).toBe("mic");
    expect(scoped.get("azurepodidentityexceptions", "kube-system", "mic")).toBeUndefined();
  });

  it("passes the node reader's resources through; a resource nobody watches reads empty and never notifies", () => {
    const { node, scoped } = setUp();
    const pod = node.apply("pods", makePod({ name: "p", ip: "10.0.0.1" }));
    const identity = node.apply("azureidentities", makeIdentity({ name: "id" }));
    node.apply("azureassignedidentities", makeAssigned(pod, identity, makeBinding(identity, "sel")));
    // The fake cluster holds an AAI, but the scope does not watch AAIs (managed mode): it must not be read.
    const events: unknown[] = [];
    scoped.subscribe("azureassignedidentities", (event) => events.push(event));
    node.apply("azureassignedidentities", makeAssigned(pod, identity, makeBinding(identity, "sel"), "Created"));
    expect(scoped.list("pods").map((p) => p.metadata.name)).toEqual(["p"]);
    expect(scoped.list("azureidentities")).toHaveLength(1);
    expect(scoped.list("azureassignedidentities")).toEqual([]);
    expect(scoped.get("nodes", "", "node-a")).toBeUndefined();
    expect(events).toEqual([]);
  });

  it("delivers exception changes of every exception namespace to one subscription, until unsubscribed", () => {
    const { kubeSystem, podidSystem, scoped } = setUp();
    const seen: string[] = [];
    const unsubscribe = scoped.subscribe("azurepodidentityexceptions", (event: ResourceEvent<AzurePodIdentityException>) => seen.push(`${event.type} ${event.object.metadata.namespace}/${event.object.metadata.name}`));
    kubeSystem.apply("azurepodidentityexceptions", makeException("agents", "kube-system", {}));
    podidSystem.apply("azurepodidentityexceptions", makeException("mic", "podid-system", {}));
    unsubscribe();
    kubeSystem.apply("azurepodidentityexceptions", makeException("late", "kube-system", {}));
    expect(seen).toEqual(["added kube-system/agents", "added podid-system/mic"]);
  });

  it("starts every reader and is synced only when all are", async () => {
    const { readers, kubeSystem, scoped } = setUp();
    await scoped.start();
    expect([readers.node.started, readers.kubeSystem.started, readers.podidSystem.started]).toEqual([1, 1, 1]);
    expect(scoped.hasSynced()).toBe(true);
    kubeSystem.setSynced(false);
    expect(scoped.hasSynced()).toBe(false);
  });
});
