/**
 * The MIC image as a container, the way the Deployment runs it: non-root (the image's user 65532), read-only
 * root filesystem, against the embedded kube-apiserver and the fake ARM/AAD on loopback (`--network=host`;
 * the fakes' CA and the configuration are mounted read-only). It must take the leader Lease, write the
 * pod's AzureAssignedIdentity as Assigned and PATCH the scale set through ARM. Needs root, podman and runc
 * (skipped with the reason otherwise); builds the images with scripts/images/build-images.sh when missing.
 */
import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  computeTargetId,
  parseAzureAssignedIdentity,
  serialiseAzureIdentity,
  serialiseAzureIdentityBinding,
  serialiseNode,
  serialisePod,
  type ComputeTarget,
} from "@podid/core";
import {
  freePort,
  identityArmId,
  identityClientId,
  makeBinding,
  makeIdentity,
  makePod,
  startAzureCloud,
  startEmbeddedCluster,
  TestCertificateAuthority,
  type AzureCloud,
  type EmbeddedCluster,
  type KubeObject,
} from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Container, ensureImages, MIC_IMAGE, podman, podmanSupport } from "./podman.js";

const support = podmanSupport();
if (!support.supported) console.warn(`skipping the MIC container test: ${support.reason}`);

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SCALE_SET: ComputeTarget = { kind: "vmss", subscriptionId: "00000000-0000-4000-8000-00000000c0de", resourceGroup: "MC_podid-image_aks_westeurope", name: "aks-image-12345678-vmss" };
const NODE = "aks-image-12345678-vmss000000";
const IDENTITY = makeIdentity({ name: "image-identity", namespace: "default" });
const SERVICE_PRINCIPAL = { tenantId: "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", clientId: "3f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c", secret: "mic-image-secret" };

/** Polls `condition` (bounded); throws naming `what` when it stays false. */
async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${String(timeoutMs)} ms; ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!support.supported)("MIC image: non-root, read-only, leads and assigns an identity", () => {
  const dir = mkdtempSync(join(tmpdir(), "podid-mic-image-"));
  let cluster: EmbeddedCluster | undefined;
  let azure: AzureCloud | undefined;
  let mic: Container | undefined;
  let probePort = 0;

  beforeAll(async () => {
    await ensureImages();
    // The container's user (65532) reads the mounted kubeconfig, azure.json and CA certificate.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "ca"), { mode: 0o755 });
    const ca = await TestCertificateAuthority.create({ dir: join(dir, "ca") });
    chmodSync(ca.certPath, 0o644);
    cluster = await startEmbeddedCluster({ kubeconfigPath: join(dir, "kubeconfig"), manifests: [join(ROOT, "deploy/crds.yaml")] });
    azure = await startAzureCloud({ ca, scaleSet: SCALE_SET, identities: [{ id: identityArmId("image-identity"), clientId: identityClientId("image-identity") }], servicePrincipal: SERVICE_PRINCIPAL, patchLatencyMs: 100 });
    await azure.writeAzureJson(join(dir, "azure.json"));
    for (const file of ["kubeconfig", "azure.json"]) chmodSync(join(dir, file), 0o644);

    const store = cluster.kubeApiServer.store;
    // The serialisers' wire types are plain JSON objects; the store takes them as such.
    const upsert = (object: object): void => void store.upsert(object as KubeObject);
    upsert(serialiseNode({ kind: "Node", metadata: { name: NODE, namespace: "", labels: {}, annotations: {}, finalizers: [] }, providerID: `azure://${computeTargetId(SCALE_SET)}/virtualMachines/0` }));
    const binding = makeBinding(IDENTITY, "image-app");
    upsert(serialiseAzureIdentity(IDENTITY));
    upsert(serialiseAzureIdentityBinding(binding));
    upsert(serialisePod(makePod({ name: "image-app", namespace: "default", ip: "10.244.0.7", node: NODE, uid: randomUUID(), selector: "image-app" })));

    probePort = await freePort();
    mic = Container.run(`podid-mic-test-${randomUUID().slice(0, 8)}`, ["--network=host", "--read-only", "-v", `${dir}:${dir}:ro`, "-e", `NODE_EXTRA_CA_CERTS=${ca.certPath}`], MIC_IMAGE, [
      `--kubeconfig=${join(dir, "kubeconfig")}`,
      `--cloudconfig=${join(dir, "azure.json")}`,
      `--http-probe-port=${String(probePort)}`,
      `--prometheus-port=${String(await freePort())}`,
      "--listen-address=127.0.0.1",
      "--leader-election-namespace=default",
      "--leader-election-duration=2s",
      "--batch-window=200ms",
      "--arm-poll-interval=200ms",
    ]);
  }, 20 * 60_000);

  afterAll(async () => {
    await mic?.remove();
    await azure?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("runs as uid 65532 on a read-only root filesystem", async () => {
    await mic?.waitForLog((l) => l.msg === "probe and metrics servers listening", 30_000);
    const name = mic?.name ?? "";
    const uid = await podman(["exec", name, "/usr/local/bin/node", "-e", "process.stdout.write(String(process.getuid()))"]);
    expect(uid.stdout, uid.stderr).toBe("65532");
    // The one directory of the image that user owns: writable on a writable root, so only --read-only stops this.
    const write = await podman(["exec", name, "/usr/local/bin/node", "-e", "require('node:fs').writeFileSync('/home/nonroot/probe', 'x')"]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/EROFS/);
    const inspect = await podman(["inspect", "--format", "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Privileged}}", name]);
    expect(inspect.stdout.trim()).toBe("true false");
  }, 60_000);

  it("takes the leader Lease, writes the AzureAssignedIdentity as Assigned and PATCHes the scale set", async () => {
    const store = cluster?.kubeApiServer.store;
    const detail = (): string => `MIC log: ${(mic?.lines ?? []).slice(-8).map((l) => l.msg ?? "").join(" | ")}; stderr: ${mic?.stderr.slice(-1500) ?? ""}`;
    await until("the leader Lease", () => {
      const lease = store?.get("leases.coordination.k8s.io", "aad-pod-identity-mic", "default") as { spec?: { holderIdentity?: string } } | undefined;
      return (lease?.spec?.holderIdentity ?? "") !== "";
    }, 30_000, detail);
    expect((await (await fetch(`http://127.0.0.1:${String(probePort)}/healthz`)).text()).trim()).toBe("Active");

    const statuses = (): string[] =>
      (store?.list("azureassignedidentities") ?? []).flatMap((raw) => {
        const parsed = parseAzureAssignedIdentity(raw);
        return parsed.ok ? [parsed.value.status] : [];
      });
    await until("an Assigned AzureAssignedIdentity", () => statuses().includes("Assigned"), 60_000, detail);
    expect(statuses()).toEqual(["Assigned"]);

    const patches = (azure?.arm.requestLog ?? []).filter((r) => r.method === "PATCH" && r.path.includes(SCALE_SET.name));
    expect(patches.length).toBeGreaterThan(0);
    expect(patches.every((r) => r.status < 300), JSON.stringify(patches)).toBe(true);
    const attached = [...(azure?.compute.identitiesOf(SCALE_SET)?.userAssignedKeys ?? [])];
    expect(attached.map((k) => k.toLowerCase())).toContain(identityArmId("image-identity").toLowerCase());
  }, 120_000);
});
