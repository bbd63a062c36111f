import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeKubeApiServer } from "@podid/testkit";
import { KubeClient } from "../client/kube-client.js";
import { loadKubeConfig } from "../client/kube-config.js";
import { KubeInformerReader } from "./kube-informer-reader.js";

describe("NMI's pod informer keeps each pod's federated token volume (podFederatedTokenVolume)", () => {
  let server: FakeKubeApiServer;

  beforeAll(async () => {
    server = await FakeKubeApiServer.start();
  });

  afterAll(async () => {
    await server.close();
  });

  it("decodes the projected token with audience api://AzureADTokenExchange at list time; MIC's reader stores none", async () => {
    server.applyManifests(`
apiVersion: v1
kind: Pod
metadata: { name: fed-app, namespace: team-a, labels: { aadpodidbinding: fed } }
spec:
  nodeName: node-1
  serviceAccountName: app
  containers: [{ name: app, image: busybox }]
  volumes:
    - name: kube-api-access
      projected: { sources: [{ serviceAccountToken: { path: token, expirationSeconds: 3607 } }] }
    - name: azure-identity-token
      projected:
        sources:
          - serviceAccountToken: { audience: api://AzureADTokenExchange, expirationSeconds: 3600, path: azure-identity-token }
    - name: secrets-store
      flexVolume: { driver: azure/kv, options: { usepodidentity: "true" } }
---
apiVersion: v1
kind: Pod
metadata: { name: plain, namespace: team-a }
spec:
  nodeName: node-1
  containers: [{ name: app, image: busybox }]
`);
    const client = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY });
    const nmi = new KubeInformerReader({ client, resources: ["pods"], podNodeName: "node-1", podKeyVaultVolumes: true, podFederatedTokenVolume: true });
    const federatedOnly = new KubeInformerReader({ client, resources: ["pods"], podNodeName: "node-1", podFederatedTokenVolume: true });
    const mic = new KubeInformerReader({ client, resources: ["pods"] });
    const readers = [nmi, federatedOnly, mic];
    for (const r of readers) r.start();
    try {
      await Promise.all(readers.map((r) => r.whenSynced()));
      const volume = { volumeName: "azure-identity-token", path: "azure-identity-token", expirationSeconds: 3600 };
      expect(nmi.get("pods", "team-a", "fed-app")).toMatchObject({ serviceAccountName: "app", federatedTokenVolume: volume, keyVaultVolumes: [{ kind: "flexVolume" }] });
      expect(federatedOnly.get("pods", "team-a", "fed-app")?.federatedTokenVolume).toEqual(volume);
      expect(federatedOnly.get("pods", "team-a", "fed-app")).not.toHaveProperty("keyVaultVolumes");
      expect(nmi.get("pods", "team-a", "plain")).not.toHaveProperty("federatedTokenVolume");
      expect(mic.get("pods", "team-a", "fed-app")).not.toHaveProperty("federatedTokenVolume");
    } finally {
      await Promise.all(readers.map((r) => r.stop()));
    }
  });
});
