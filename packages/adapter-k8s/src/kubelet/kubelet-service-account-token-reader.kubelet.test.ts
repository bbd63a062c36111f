/**
 * The reader against what kubelet really writes: testkit's SimulatedKubelet projects a pod's
 * `serviceAccountToken` volume through the fake kube-apiserver's TokenRequest (pod-bound, signed, AtomicWriter
 * layout), the pod informer summarises the same pod's volume, and the reader finds and accepts the token with
 * the informer's view — and refuses it for a pod of another service account.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { FakeKubeApiServer, pollUntil, SimulatedKubelet } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient } from "../client/kube-client.js";
import { loadKubeConfig } from "../client/kube-config.js";
import { KubeInformerReader } from "../informers/kube-informer-reader.js";
import { KubeletServiceAccountTokenReader } from "./kubelet-service-account-token-reader.js";

let api: FakeKubeApiServer;
let root = "";

beforeAll(async () => {
  api = await FakeKubeApiServer.start();
  root = mkdtempSync(join(tmpdir(), "podid-kubelet-root-"));
});

afterAll(async () => {
  await api.close();
  rmSync(root, { recursive: true, force: true });
});

describe("KubeletServiceAccountTokenReader with the simulated kubelet's projected tokens", () => {
  it("reads the token kubelet projected for the pod the informer decoded", async () => {
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    const core = kc.makeApiClient(CoreV1Api);
    const kubelet = await SimulatedKubelet.start({ nodeName: "node-f", core, rootDir: root, flexVolumeDrivers: {}, podIp: () => "127.0.0.41", pollIntervalMs: 50 });
    const client = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: api.kubeconfig() }), qps: Number.POSITIVE_INFINITY });
    const informer = new KubeInformerReader({ client, resources: ["pods"], podNodeName: "node-f", podFederatedTokenVolume: true });
    try {
      await core.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "workload" } } });
      await core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "fed-app" },
          spec: {
            nodeName: "node-f",
            serviceAccountName: "workload",
            containers: [{ name: "app", image: "x" }],
            volumes: [{ name: "azure-identity-token", projected: { sources: [{ serviceAccountToken: { audience: "api://AzureADTokenExchange", expirationSeconds: 3600, path: "azure-identity-token" } }] } }],
          },
        },
      });
      await pollUntil("Running", async () => (await core.readNamespacedPod({ name: "fed-app", namespace: "default" })).status?.phase === "Running");
      informer.start();
      await informer.whenSynced();
      const pod = informer.get("pods", "default", "fed-app");
      const volume = pod?.federatedTokenVolume;
      if (pod === undefined || volume === undefined) throw new Error("the informer did not keep the federated token volume");

      const reader = new KubeletServiceAccountTokenReader({ podsDir: join(root, "pods") });
      const request = { podUid: pod.metadata.uid ?? "", namespace: "default", serviceAccountName: pod.serviceAccountName, volume };
      const read = await reader.read(request);
      if (!read.ok) throw new Error(JSON.stringify(read.error));
      expect(read.value.token.split(".")).toHaveLength(3);
      expect(read.value.expiresAtMs).toBeGreaterThan(Date.now() + 3_000_000);
      expect(await reader.read({ ...request, serviceAccountName: "default" })).toMatchObject({ ok: false, error: { kind: "mismatch", claim: "sub" } });
    } finally {
      await informer.stop();
      await kubelet.stop();
    }
  }, 30_000);
});
