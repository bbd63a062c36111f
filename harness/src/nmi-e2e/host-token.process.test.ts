import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePodWithKeyVaultVolumes } from "@podid/adapter-k8s";
import { serialiseAzureAssignedIdentity, serialiseAzureIdentity, serialiseAzureIdentityBinding, type PodView } from "@podid/core";
import type { V1FlexVolumeSource, V1Pod } from "@kubernetes/client-node";
import {
  buildKubeconfig,
  callFlexVolumeDriver,
  FakeCompute,
  FakeIdentityCatalog,
  FakeImdsServer,
  FakeKeyVault,
  FakeKubeApiServer,
  flexVolumeMountOptions,
  freePort,
  keyVaultFlexVolume,
  loopbackNmiArgs,
  makeAssigned,
  makeBinding,
  makeIdentity,
  rawHttpExchange,
  SECRET_PROVIDER_CLASS_CRD,
  secretProviderClassObject,
  secretsStoreCsiVolume,
  SEED_KEY_VAULT_FLEXVOLUME_OPTIONS,
  TEST_NODE,
  TestCertificateAuthority,
  type KubeObject,
} from "@podid/testkit";
import { ensureBuilt, NMI_MAIN } from "./e2e-node.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const KV_DRIVER = join(ROOT, "packages/kv-flexvolume/bin/podid-kv.mjs");
const TENANT = SEED_KEY_VAULT_FLEXVOLUME_OPTIONS["tenantid"] ?? "";

/**
 * The shipped `podid-nmi` (production adapters: the pod informer that decodes Key Vault volumes, the on-demand
 * SecretProviderClass reader) against the fake kube-apiserver and fake IMDS, with no flag for `/host/token`:
 * the two Key Vault drivers' exact request bytes, from the node's loopback, for the seed tutorial's pod and for a
 * pod using a SecretProviderClass, and for pods out of scope (docs/adr/0019-scoped-host-token.md); then the
 * `podid-kv` driver as a process, as kubelet runs it, against this NMI and testkit's FakeKeyVault: the seed pod's
 * secret lands in its volume, a pod out of scope and an identity without access get nothing. No network
 * namespaces are needed: NMI listens on 127.0.0.1 with `--interception=none`, which is all `/host/token` uses.
 */

const spc = (name: string, usePodIdentity: string): KubeObject => secretProviderClassObject({ namespace: "default", name, usePodIdentity }) as unknown as KubeObject;

/** The seed tutorial's pod (or a variant), scheduled on NMI's node and still Pending, as kubelet sees it at mount time. */
function pod(name: string, volumes: unknown[], node = TEST_NODE): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { aadpodidbinding: "demo-kv-access" } },
    spec: { nodeName: node, containers: [{ name: "app", image: "mcr.microsoft.com/azure-cli", command: ["sleep", "infinity"] }], volumes },
    status: { phase: "Pending" },
  };
}

const SEED_FLEX_VOLUME = keyVaultFlexVolume();
const csi = (secretProviderClass: string) => secretsStoreCsiVolume(secretProviderClass, "inline");

/** Both drivers' bytes (Go net/http default client; see packages/nmi-server/src/token-path/host-token-wire.test.ts). */
const goRequest = (name: string) =>
  `GET /host/token/?resource=https://vault.azure.net HTTP/1.1\r\nHost: localhost:2579\r\nUser-Agent: Go-http-client/1.1\r\nPodname: ${name}\r\nPodns: default\r\nAccept-Encoding: gzip\r\n\r\n`;

/** One keep-alive exchange of exact bytes from 127.0.0.1. */
const exchange = (port: number, bytes: string) => rawHttpExchange(port, bytes);


describe("podid-nmi as shipped: /host/token scoped by default (fake kube-apiserver, fake IMDS)", () => {
  let api: FakeKubeApiServer;
  let imds: FakeImdsServer;
  let keyVault: FakeKeyVault;
  let child: ChildProcess;
  let dir: string;
  let port = 0;
  let stdout = "";
  const clientId = makeIdentity({ name: "demo-kv-identity" }).spec.clientID;

  beforeAll(async () => {
    ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), "podid-host-token-"));
    api = await FakeKubeApiServer.start();
    api.applyManifests(await readFile(join(ROOT, "deploy/crds.yaml"), "utf8"));
    api.applyManifests(SECRET_PROVIDER_CLASS_CRD);
    const identity = makeIdentity({ name: "demo-kv-identity" });
    const binding = makeBinding(identity, "demo-kv-access");
    // An identity the vault does not grant anything (for the driver's Key Vault 403).
    const stranger = makeIdentity({ name: "stranger-identity" });
    const strangerBinding = makeBinding(stranger, "stranger");
    const put = (object: unknown) => api.store.upsert(object as KubeObject);
    put(serialiseAzureIdentity(identity));
    put(serialiseAzureIdentityBinding(binding));
    put(serialiseAzureIdentity(stranger));
    put(serialiseAzureIdentityBinding(strangerBinding));
    put(spc("azure-kv", "true"));
    put(spc("wi-only", "false"));
    const pods = [
      pod("demo-app", [SEED_FLEX_VOLUME]),
      pod("csi-app", [csi("azure-kv")]),
      pod("plain", [{ name: "tmp", emptyDir: {} }]),
      pod("wi-app", [csi("wi-only")]),
      pod("missing-class", [csi("nope")]),
    ];
    for (const raw of pods) {
      put(raw);
      const view = parsePodWithKeyVaultVolumes(raw);
      if (!view.ok) throw new Error("test pod does not parse");
      put(serialiseAzureAssignedIdentity(makeAssigned(view.value as PodView, identity, binding, "Assigned")));
    }
    const strangerPod = pod("stranger-app", [SEED_FLEX_VOLUME]);
    (strangerPod["metadata"] as { labels: Record<string, string> }).labels = { aadpodidbinding: "stranger" };
    put(strangerPod);
    const strangerView = parsePodWithKeyVaultVolumes(strangerPod);
    if (!strangerView.ok) throw new Error("test pod does not parse");
    put(serialiseAzureAssignedIdentity(makeAssigned(strangerView.value as PodView, stranger, strangerBinding, "Assigned")));
    const compute = new FakeCompute();
    const target = compute.add(
      { kind: "vmss", subscriptionId: "00000000-0000-4000-8000-00000000d3e0", resourceGroup: "mc_rg", name: "aks-nodepool1-12345678-vmss" },
      { userAssigned: [identity.spec.resourceID, stranger.spec.resourceID] },
    );
    const catalog = new FakeIdentityCatalog();
    for (const id of [identity, stranger]) catalog.register({ id: id.spec.resourceID, clientId: id.spec.clientID, tenantId: TENANT });
    imds = await FakeImdsServer.start({ compute, target, catalog, throttle: false });
    keyVault = await FakeKeyVault.start({ ca: TestCertificateAuthority.fromEnvironment(), tenantId: TENANT });
    keyVault.createVault("demo-kv");
    keyVault.setSecret("demo-kv", "appsecret1", "the tutorial's secret");
    keyVault.grant("demo-kv", { clientId: identity.spec.clientID }, { secrets: ["get"] });

    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, buildKubeconfig(api.url, undefined), { mode: 0o600 });
    const [probePort, metricsPort] = [await freePort(), await freePort()];
    port = await freePort();
    child = spawn(
      process.execPath,
      [NMI_MAIN, ...loopbackNmiArgs({ node: TEST_NODE, kubeconfig, port, probePort, metricsPort, imdsPort: imds.port })],
      { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } },
    );
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`podid-nmi exited ${child.exitCode}: ${stdout.slice(-2000)}`);
      const ready = await fetch(`http://127.0.0.1:${probePort}/readyz`).then((r) => r.status === 200, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`podid-nmi not ready in 30 s: ${stdout.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 240_000);

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await imds?.close();
    await keyVault?.close();
    await api?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** NMI's audit record for the last request naming `podName`. */
  const auditFor = (podName: string): Record<string, unknown> | undefined =>
    stdout
      .split("\n")
      .filter((line) => line.includes('"audit":true') && line.includes(`"podName":"${podName}"`))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .at(-1);

  it("FlexVolume azure/kv: the seed tutorial's Pending pod gets {token: seven adal.Token fields, clientid}", async () => {
    const res = await exchange(port, goRequest("demo-app"));
    expect(res.status, res.body).toBe(200);
    const body = JSON.parse(res.body) as { token: Record<string, string>; clientid: string };
    expect(Object.keys(body)).toEqual(["token", "clientid"]);
    expect(Object.keys(body.token)).toEqual(["access_token", "refresh_token", "expires_in", "expires_on", "not_before", "resource", "token_type"]);
    expect(body.token["expires_on"]).toMatch(/^[0-9]+$/);
    expect(body.token["resource"]).toBe("https://vault.azure.net");
    expect(body.clientid).toBe(clientId);
  });

  it("Secrets Store CSI provider: a pod whose SecretProviderClass sets usePodIdentity \"true\" gets its token; the class is read with one GET, never listed or watched", async () => {
    api.clearRequests();
    const first = await exchange(port, goRequest("csi-app"));
    expect(first.status, first.body).toBe(200);
    expect((JSON.parse(first.body) as { clientid: string }).clientid).toBe(clientId);
    // A rotation re-mount within the cache's 30 s costs no API request.
    expect((await exchange(port, goRequest("csi-app"))).status).toBe(200);
    const spcRequests = api.requests.filter((r) => r.path.includes("secretproviderclasses"));
    expect(spcRequests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /apis/secrets-store.csi.x-k8s.io/v1/namespaces/default/secretproviderclasses/azure-kv"]);
  });

  it("out of scope → 403 naming the reason, with an audit record: no Key Vault volume, a class without usePodIdentity, a missing class", async () => {
    for (const [name, reason, text] of [
      ["plain", "noKeyVaultVolume", /declares no azure\/kv FlexVolume/],
      ["wi-app", "secretProviderClassWithoutPodIdentity", /SecretProviderClass default\/wi-only does not set usePodIdentity/],
      ["missing-class", "secretProviderClassNotFound", /SecretProviderClass default\/nope not found/],
      ["not-on-this-node", "podNotOnNode", /not scheduled on this node/],
    ] as const) {
      const res = await exchange(port, goRequest(name));
      expect(res.status, `${name}: ${res.body}`).toBe(403);
      expect(JSON.parse(res.body)).toEqual({ error: "forbidden", error_description: expect.stringMatching(text) as unknown });
      const deadline = Date.now() + 5_000;
      while (auditFor(name) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(auditFor(name)).toMatchObject({ route: "hostToken", sourceIp: "127.0.0.1", decision: "hostTokenOutOfScope", reason, status: 403 });
    }
  });
  /** `podid-kv mount` as kubelet runs it for `podName`'s seed volume (a real process; no tmpfs: the test need not be root). */
  async function mountWithDriver(podName: string) {
    const target = join(dir, "volumes", podName);
    const source: V1FlexVolumeSource = { driver: "azure/kv", options: { ...SEED_KEY_VAULT_FLEXVOLUME_OPTIONS } };
    const podObject: V1Pod = { metadata: { name: podName, namespace: "default", uid: `uid-${podName}` }, spec: { containers: [] } };
    const driver = { command: process.execPath, args: [KV_DRIVER], env: { ...keyVault.childEnvironment(), PODID_NMI_PORT: String(port), PODID_KV_TMPFS: "false", PODID_KV_TOKEN_RETRY_MS: "50" } };
    return { target, result: await callFlexVolumeDriver(driver, ["mount", target, JSON.stringify(flexVolumeMountOptions(podObject, source))]) };
  }

  it("podid-kv, run as kubelet runs it, mounts the seed pod's secret with the token this NMI issues", async () => {
    const { target, result } = await mountWithDriver("demo-app");
    expect(result.status, `${result.message} ${result.stderr}`).toBe("Success");
    expect(await readFile(join(target, "appsecret1"), "utf8")).toBe("the tutorial's secret");
    expect(keyVault.requestLog.filter((r) => r.status === 200).at(-1)).toMatchObject({ method: "GET", clientId: clientId });
  }, 60_000);

  it("as an attacker on the node: the driver naming a pod without a Key Vault volume gets NMI's 403 and no secret; an identity without access gets Key Vault's 403", async () => {
    const plain = await mountWithDriver("plain");
    expect(plain.result.status).toBe("Failure");
    expect(plain.result.message).toMatch(/403/);
    expect(plain.result.message).toMatch(/declares no azure\/kv FlexVolume/);
    const served = keyVault.requestLog.length;
    const strangerMount = await mountWithDriver("stranger-app");
    expect(strangerMount.result.status).toBe("Failure");
    expect(strangerMount.result.message).toMatch(/403 Forbidden/);
    expect(keyVault.requestLog.slice(served).every((r) => r.status !== 200)).toBe(true);
  }, 60_000);
});
