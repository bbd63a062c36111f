import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok } from "@podid/core";
import { FakeKubeApiServer, SECRET_PROVIDER_CLASS_CRD, secretProviderClassObject, VirtualClock } from "@podid/testkit";
import { KubeClient } from "../client/kube-client.js";
import { loadKubeConfig } from "../client/kube-config.js";
import { KubeInformerReader } from "../informers/kube-informer-reader.js";
import { KubeSecretProviderClassReader } from "./kube-secret-provider-class-reader.js";

/** A SecretProviderClass of the Azure provider in team-a, as manifest text (JSON is YAML). */
const spc = (name: string, usePodIdentity: string) => JSON.stringify(secretProviderClassObject({ namespace: "team-a", name, usePodIdentity }));

const spcGets = (server: FakeKubeApiServer): number => server.requests.filter((r) => r.method === "GET" && r.path.includes("/secretproviderclasses/")).length;

describe("KubeSecretProviderClassReader against the fake kube-apiserver", () => {
  let server: FakeKubeApiServer;
  let clock: VirtualClock;
  let reader: KubeSecretProviderClassReader;

  beforeAll(async () => {
    server = await FakeKubeApiServer.start();
    clock = new VirtualClock();
    const client = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY, clock });
    reader = new KubeSecretProviderClassReader({ client, ttlMs: 30_000 });
  });

  afterAll(async () => {
    await server.close();
  });

  it("answers not found while the CRD is absent, and caches that answer for the TTL (negative caching)", async () => {
    expect(await reader.read("team-a", "azure-kv")).toEqual(ok(undefined));
    server.applyManifests(SECRET_PROVIDER_CLASS_CRD);
    server.applyManifests(spc("azure-kv", "true"));
    expect(await reader.read("team-a", "azure-kv")).toEqual(ok(undefined));
    expect(spcGets(server)).toBe(1);
    clock.advance(30_000);
    expect(await reader.read("team-a", "azure-kv")).toEqual(ok({ namespace: "team-a", name: "azure-kv", provider: "azure", usePodIdentity: "true" }));
    expect(spcGets(server)).toBe(2);
  });

  it("reuses a found class for the TTL (a change shows after it), and shares one GET among concurrent reads", async () => {
    server.applyManifests(spc("azure-kv", "false"));
    expect(await reader.read("team-a", "azure-kv")).toMatchObject({ ok: true, value: { usePodIdentity: "true" } });
    clock.advance(30_000);
    server.clearRequests();
    server.delay(50);
    const answers = await Promise.all(Array.from({ length: 20 }, () => reader.read("team-a", "azure-kv")));
    server.delay(undefined);
    expect(spcGets(server)).toBe(1);
    for (const answer of answers) expect(answer).toMatchObject({ ok: true, value: { usePodIdentity: "false" } });
  });

  it("reads classes by namespace and name (another namespace's class of the same name is not it)", async () => {
    expect(await reader.read("team-b", "azure-kv")).toEqual(ok(undefined));
  });

  it("returns API failures as errors and never caches them", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const yaml = server.kubeconfig().replace(/server: \S+/, `server: http://127.0.0.1:${port}`);
    const broken = new KubeSecretProviderClassReader({ client: new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml }), qps: Number.POSITIVE_INFINITY }) });
    const first = await broken.read("team-a", "azure-kv");
    expect(first).toMatchObject({ ok: false, error: { kind: "transient" } });
    await broken.read("team-a", "azure-kv");
    expect(broken.requests).toBe(2);
  });
});

describe("NMI's pod informer keeps each pod's Key Vault volumes (podKeyVaultVolumes)", () => {
  let server: FakeKubeApiServer;

  beforeAll(async () => {
    server = await FakeKubeApiServer.start();
  });

  afterAll(async () => {
    await server.close();
  });

  it("decodes the seed tutorial's azure/kv FlexVolume and a CSI volume at list time; other readers store none", async () => {
    server.applyManifests(`
apiVersion: v1
kind: Pod
metadata: { name: demo-app, namespace: default, labels: { aadpodidbinding: demo-kv-access } }
spec:
  nodeName: node-1
  containers: [{ name: app, image: mcr.microsoft.com/azure-cli, command: [sleep, infinity] }]
  volumes:
    - name: secrets-store
      flexVolume:
        driver: azure/kv
        options: { usepodidentity: "true", keyvaultname: demo-kv, keyvaultobjectnames: appsecret1, keyvaultobjecttypes: secret }
    - name: inline
      csi: { driver: secrets-store.csi.k8s.io, readOnly: true, volumeAttributes: { secretProviderClass: azure-kv } }
    - name: scratch
      emptyDir: {}
---
apiVersion: v1
kind: Pod
metadata: { name: plain, namespace: default }
spec:
  nodeName: node-1
  containers: [{ name: app, image: busybox }]
`);
    const client = new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: server.kubeconfig() }), qps: Number.POSITIVE_INFINITY });
    const nmi = new KubeInformerReader({ client, resources: ["pods"], podNodeName: "node-1", podKeyVaultVolumes: true });
    const mic = new KubeInformerReader({ client, resources: ["pods"] });
    nmi.start();
    mic.start();
    try {
      await Promise.all([nmi.whenSynced(), mic.whenSynced()]);
      expect(nmi.get("pods", "default", "demo-app")?.keyVaultVolumes).toEqual([
        { kind: "flexVolume", volume: "secrets-store", usePodIdentity: true },
        { kind: "csi", volume: "inline", secretProviderClass: "azure-kv" },
      ]);
      expect(nmi.get("pods", "default", "plain")).not.toHaveProperty("keyVaultVolumes");
      expect(mic.get("pods", "default", "demo-app")).not.toHaveProperty("keyVaultVolumes");
    } finally {
      await Promise.all([nmi.stop(), mic.stop()]);
    }
  });
});
