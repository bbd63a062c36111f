import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { sleep, until } from "./test-support/system-world.js";
import { worldPerTest } from "./test-support/world-per-test.js";

/**
 * Forged state (docs/compatibility.md#where-podid-is-deliberately-stricter): AzureAssignedIdentities are
 * MIC's own objects. One written or edited by anyone else — here with a kubectl-like client over real HTTP —
 * is deleted or repaired within MIC's batch window (default 1 s), not at the next full resync.
 */

const worlds = worldPerTest();
const BATCH_WINDOW_FLAG = "--batch-window=1s";
/** The bound the issue sets for the repair (batch window plus one planning pass and its writes). */
const REPAIR_BOUND_MS = 2_000;

/** Polls every 10 ms until `done`, returning the elapsed milliseconds (or the bound + 1 s when it never is). */
async function measure(done: () => boolean, limitMs = REPAIR_BOUND_MS + 1_000): Promise<number> {
  const started = performance.now();
  while (!done()) {
    if (performance.now() - started > limitMs) return Number.POSITIVE_INFINITY;
    await sleep(10);
  }
  return performance.now() - started;
}

describe("MIC repairs forged AzureAssignedIdentities", { timeout: 40_000 }, () => {
  it("deletes an AAI it did not plan and repairs one that differs from the plan, each within 2 s", async () => {
    const { w } = await worlds.startLed({}, [BATCH_WINDOW_FLAG]);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(w.kubeconfigPath);
    const kubectl = KubernetesObjectApi.makeApiClient(kubeConfig);

    const app = w.identity("app-identity");
    w.binding("app-binding", "app-identity", "app");
    w.pod("app-0", "app", w.nodes[0] ?? "");
    const payments = w.identity("payments", { namespace: "team-b" });
    w.binding("payments", "payments", "payments", "team-b");
    w.pod("intruder", undefined, w.nodes[0] ?? "");
    await w.converged();
    expect(w.attached()).toContain(w.key(app));
    expect(w.attached()).not.toContain(w.key(payments));
    await sleep(1_500); // let MIC settle (no planning pass pending)

    // 1. A hand-written, Assigned AAI giving the unlabelled pod team-b's identity.
    const forged: KubernetesObject & Record<string, unknown> = {
      apiVersion: "aadpodidentity.k8s.io/v1",
      kind: "AzureAssignedIdentity",
      metadata: { name: "intruder-default-payments", namespace: "default", labels: { nodename: w.nodes[0] ?? "" } },
      spec: {
        azureIdentityRef: {
          apiVersion: "aadpodidentity.k8s.io/v1",
          kind: "AzureIdentity",
          metadata: { name: "payments", namespace: "team-b" },
          spec: { type: 0, resourceID: payments.resourceID, clientID: payments.clientID },
        },
        azureBindingRef: {
          apiVersion: "aadpodidentity.k8s.io/v1",
          kind: "AzureIdentityBinding",
          metadata: { name: "payments", namespace: "team-b" },
          spec: { azureIdentity: "payments", selector: "payments" },
        },
        pod: "intruder",
        podNamespace: "default",
        nodename: w.nodes[0] ?? "",
      },
      status: { status: "Assigned", availableReplicas: 1 },
    };
    await kubectl.create(forged);
    expect(w.kube.store.get("azureassignedidentities", "intruder-default-payments", "default")).toBeDefined();
    const deletedMs = await measure(() => w.kube.store.get("azureassignedidentities", "intruder-default-payments", "default") === undefined);
    console.log(`forged AzureAssignedIdentity deleted after ${deletedMs.toFixed(0)} ms`);
    expect(deletedMs, "forged AAI still present after 2 s").toBeLessThanOrEqual(REPAIR_BOUND_MS);
    expect(w.attached()).not.toContain(w.key(payments));

    // 2. MIC's own AAI edited to carry another client id: rewritten from the live objects.
    const name = "app-0-default-app-identity";
    const stored = w.kube.store.get("azureassignedidentities", name, "default");
    expect(stored).toBeDefined();
    const spec = (stored?.["spec"] ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
    const tampered = {
      ...stored,
      spec: { ...spec, azureIdentityRef: { ...spec["azureIdentityRef"], spec: { ...spec["azureIdentityRef"]?.["spec"], clientID: payments.clientID } } },
    } as KubernetesObject;
    await kubectl.replace(tampered);
    const clientIdOf = () => w.assigned().find((a) => a.metadata.name === name)?.spec.azureIdentityRef.spec.clientID;
    expect(clientIdOf()).toBe(payments.clientID);
    const repairedMs = await measure(() => clientIdOf() === app.clientID);
    console.log(`tampered AzureAssignedIdentity repaired after ${repairedMs.toFixed(0)} ms`);
    expect(repairedMs, "tampered AAI not repaired within 2 s").toBeLessThanOrEqual(REPAIR_BOUND_MS);

    await w.converged();
    expect(w.attached()).toContain(w.key(app));
    await until("Event on the forged object", () => w.events("intruder-default-payments").length > 0, 3_000);
  });
});
