import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeKubeApiServer, RecordingLogger } from "@podid/testkit";
import { TypedKubeClient, loadTypedKubeConfig } from "../client-node/index.js";
import { KubeClient } from "../client/kube-client.js";
import { loadKubeConfig } from "../client/kube-config.js";
import { EVENT_SOURCE_COMPONENT, KubeEventRecorder } from "./kube-event-recorder.js";

const binding = { kind: "AzureIdentityBinding", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "team-a", name: "reader-binding", uid: "b-uid" };

describe("KubeEventRecorder against the fake kube-apiserver", () => {
  let server: FakeKubeApiServer;
  let client: KubeClient;
  /** Reads back what was written, through client-node's typed API (an independent decoder of the wire). */
  let reader: TypedKubeClient;
  beforeAll(async () => {
    server = await FakeKubeApiServer.start();
    client = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY });
    reader = new TypedKubeClient({ kubeConfig: loadTypedKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY });
  });
  afterAll(async () => {
    await server.close();
  });

  it("creates core/v1 Events like the original's and aggregates repeats into count", async () => {
    const recorder = new KubeEventRecorder({ client, host: "mic-0" });
    recorder.record(binding, "Warning", "binding apply error", "failed to apply binding team-a/reader-binding node aks-0: throttled");
    recorder.record(binding, "Warning", "binding apply error", "failed to apply binding team-a/reader-binding node aks-0: throttled");
    recorder.record(binding, "Normal", "binding applied", "Binding reader-binding applied on node aks-0 for pod web-0-team-a-reader");
    await recorder.flush();
    recorder.record(binding, "Warning", "binding apply error", "failed to apply binding team-a/reader-binding node aks-0: throttled");
    await recorder.flush();
    recorder.record({ kind: "Node", apiVersion: "v1", namespace: "", name: "aks-0" }, "Warning", "InvalidObject", "Node aks-0 is invalid");
    await recorder.flush();

    const events = (await reader.core.listNamespacedEvent({ namespace: "team-a" })).items;
    expect(events).toHaveLength(2);
    const applyError = events.find((e) => e.reason === "binding apply error");
    expect(applyError).toMatchObject({
      type: "Warning",
      count: 3,
      involvedObject: { kind: "AzureIdentityBinding", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "team-a", name: "reader-binding", uid: "b-uid" },
      source: { component: EVENT_SOURCE_COMPONENT, host: "mic-0" },
      reportingComponent: EVENT_SOURCE_COMPONENT,
    });
    expect(applyError?.metadata?.name).toMatch(/^reader-binding\.[0-9a-f]+$/);
    expect(applyError?.lastTimestamp?.getTime()).toBeGreaterThanOrEqual(applyError?.firstTimestamp?.getTime() ?? Infinity);
    expect(events.find((e) => e.reason === "binding applied")).toMatchObject({ type: "Normal", count: 1 });
    // Cluster-scoped objects get their Events in `default`.
    const nodeEvents = (await reader.core.listNamespacedEvent({ namespace: "default" })).items;
    expect(nodeEvents.map((e) => e.involvedObject.name)).toEqual(["aks-0"]);
  });

  it("writes a burst of per-pod messages as 9 Events plus one combined Event, and drops what exceeds the spam budget", async () => {
    const recorder = new KubeEventRecorder({ client, host: "mic-0" });
    const busy = { ...binding, namespace: "team-b", name: "busy-binding", uid: "busy-uid" };
    for (let i = 0; i < 40; i++) recorder.record(busy, "Normal", "binding applied", `Binding busy-binding applied on node aks-0 for pod web-${i}`);
    await recorder.flush();
    const events = (await reader.core.listNamespacedEvent({ namespace: "team-b" })).items;
    expect(events).toHaveLength(10);
    const combined = events.filter((e) => e.message?.startsWith("(combined from similar events): "));
    expect(combined).toHaveLength(1);
    // Occurrences 10..25 reached the combined Event; 26..40 were over the budget of 25 and not written.
    expect(combined[0]).toMatchObject({ count: 16, message: "(combined from similar events): Binding busy-binding applied on node aks-0 for pod web-24" });
  });

  it("never throws and logs when the API refuses, then recovers; re-creates an Event that vanished", async () => {
    const logger = new RecordingLogger();
    const recorder = new KubeEventRecorder({ client, logger });
    server.failNextWrites(1, 500);
    expect(() => recorder.record(binding, "Normal", "binding removed", "gone")).not.toThrow();
    await recorder.flush();
    expect(logger.findAll(/creating an event failed/)).toHaveLength(1);
    recorder.record(binding, "Normal", "binding removed", "again");
    await recorder.flush();
    const listed = (await reader.core.listNamespacedEvent({ namespace: "team-a" })).items.filter((e) => e.reason === "binding removed");
    expect(listed.map((e) => e.message)).toEqual(["again"]);
    // The API server garbage-collects Events after an hour; a repeat then creates a fresh one.
    server.store.remove("events", listed[0]!.metadata!.name!, "team-a");
    recorder.record(binding, "Normal", "binding removed", "again");
    await recorder.flush();
    const recreated = (await reader.core.listNamespacedEvent({ namespace: "team-a" })).items.filter((e) => e.reason === "binding removed");
    expect(recreated).toHaveLength(1);
    expect(recreated[0]).toMatchObject({ message: "again", count: 2 });
  });
});
