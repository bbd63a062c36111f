/**
 * A federated identity (type 3, docs/adr/0021-federated-identities.md) end to end in real network namespaces: the
 * shipped `podid-nmi` in a node namespace with fail-closed iptables (nmi-e2e's `E2eNode`), started with
 * `--kubelet-pods-dir`; next to it, in the same namespace, the Entra ID side (`federated-fakes-main.ts`: an https
 * service-account issuer, the fake AAD with the identity's federated credentials) and the token files kubelet
 * would have written. Pods in their own namespaces call 169.254.169.254 with curl and an unmodified
 * `ManagedIdentityCredential`: the trusted pod gets a token naming the identity, obtained by exchanging its own
 * token; a pod of another service account under the same label gets 403. Needs root and iptables; skipped
 * with the reason otherwise.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAzureIdentity, serialiseAzureAssignedIdentity, serialiseAzureIdentityBinding, serialisePod, type PodView } from "@podid/core";
import { decodeFakeJwt, iptablesSupport, makeAssigned, makeBinding, makePod, TestCertificateAuthority } from "@podid/testkit";
import { E2eNode, NMI_MAIN, NODE_NAME, VAULT } from "../nmi-e2e/e2e-node.js";
import { NmiProcess } from "../nmi-e2e/nmi-process.js";
import { curlMetadata, sdkTokenFrom, tokenTarget } from "../nmi-e2e/pod-clients.js";
import type { FederatedFakesSetup } from "./federated-fakes-main.js";

const support = await iptablesSupport();
if (!support.supported) console.warn(`skipping the federated network-namespace test: ${support.reason}`);

const FAKES_MAIN = fileURLToPath(new URL("../../dist/federated/federated-fakes-main.js", import.meta.url));
const NS = "team-fed";
const TENANT = "72f988bf-0000-4000-8000-0000000e2e03";
const IDENTITY = {
  id: "/subscriptions/00000000-0000-4000-8000-0000000e2e03/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/fed-e2e",
  clientId: "6b4c2a10-0000-4000-8000-0000000e2e03",
  tenantId: TENANT,
};
const VOLUME = "azure-federated-token";

/** The pod object of `name` (service account `sa`, projected token for Entra ID) at `ip` on the node. */
function podObject(name: string, sa: string, ip: string, uid: string): { view: PodView; wire: Record<string, unknown> } {
  const view = { ...makePod({ name, namespace: NS, ip, node: NODE_NAME, uid, selector: "fed" }), serviceAccountName: sa };
  const wire = serialisePod(view) as unknown as { spec: Record<string, unknown> } & Record<string, unknown>;
  wire.spec = {
    ...wire.spec,
    serviceAccountName: sa,
    volumes: [{ name: VOLUME, projected: { sources: [{ serviceAccountToken: { audience: "api://AzureADTokenExchange", expirationSeconds: 3600, path: "token" } }] } }],
  };
  return { view, wire };
}

/** Starts the federated fakes in the node namespace and resolves with their ready line. */
function startFakes(nsName: string, setup: FederatedFakesSetup, env: Record<string, string>): Promise<{ child: ChildProcess; aadUrl: string }> {
  const child = spawn("ip", ["netns", "exec", nsName, process.execPath, FAKES_MAIN, JSON.stringify(setup)], { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...env } });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`federated fakes not ready in 20 s: ${stderr}`));
    }, 20_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`federated fakes exited ${String(code)}: ${stderr}`));
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        const ready = JSON.parse(line) as { rpc?: string; aadUrl?: string };
        if (ready.rpc !== "ready") return;
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve({ child, aadUrl: ready.aadUrl ?? "" });
      } catch {
        // Not a protocol line.
      }
    });
  });
}

describe.skipIf(!support.supported)("federated identity end to end in network namespaces (real iptables)", () => {
  let node: E2eNode;
  let nmi: NmiProcess | undefined;
  let fakes: ChildProcess | undefined;
  let podsDir = "";
  const pods = { trusted: { name: "fed-app", uid: randomUUID(), sa: "fed-sa" }, other: { name: "other-app", uid: randomUUID(), sa: "other-sa" } };

  beforeAll(async () => {
    node = await E2eNode.create({ pods: 2, attached: [] });
    podsDir = await mkdtemp(join(tmpdir(), "podid-federated-pods-"));
    const [p0, p1] = node.topology.pods;
    const ca = TestCertificateAuthority.fromEnvironment();
    const started = await startFakes(
      node.topology.node.name,
      {
        podsDir,
        identity: IDENTITY,
        trusted: [`${NS}/${pods.trusted.sa}`],
        pods: [pods.trusted, pods.other].map((p) => ({ namespace: NS, name: p.name, uid: p.uid, serviceAccount: p.sa, volume: VOLUME })),
      },
      ca.childEnvironment(),
    );
    fakes = started.child;
    const parsed = parseAzureIdentity({
      apiVersion: "aadpodidentity.k8s.io/v1",
      kind: "AzureIdentity",
      metadata: { name: "fed-e2e", namespace: NS, uid: randomUUID() },
      spec: { type: 3, resourceID: IDENTITY.id, clientID: IDENTITY.clientId, tenantID: TENANT, serviceAccounts: [pods.trusted.sa], adEndpoint: started.aadUrl },
    });
    if (!parsed.ok) throw new Error(`identity does not parse: ${JSON.stringify(parsed.error)}`);
    const binding = makeBinding(parsed.value, "fed");
    await node.upsert({ apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentity", metadata: { name: "fed-e2e", namespace: NS }, spec: { type: 3, resourceID: IDENTITY.id, clientID: IDENTITY.clientId, tenantID: TENANT, serviceAccounts: [pods.trusted.sa], adEndpoint: started.aadUrl } });
    await node.upsert(serialiseAzureIdentityBinding(binding));
    const trusted = podObject(pods.trusted.name, pods.trusted.sa, p0!.ip, pods.trusted.uid);
    await node.upsert(trusted.wire);
    await node.upsert(podObject(pods.other.name, pods.other.sa, p1!.ip, pods.other.uid).wire);
    // What MIC writes once the federated credential exists: an Assigned object for the trusted pod only.
    await node.upsert(serialiseAzureAssignedIdentity(makeAssigned(trusted.view, parsed.value, binding, "Assigned")));
    nmi = await NmiProcess.start(node.topology.node, NMI_MAIN, [...node.nmiFlags, `--kubelet-pods-dir=${podsDir}`], { env: { ...node.nmiEnv, ...ca.childEnvironment() } });
  }, 90_000);

  afterAll(async () => {
    await nmi?.stop("SIGKILL").catch(() => undefined);
    if (fakes !== undefined && fakes.exitCode === null) {
      const exited = new Promise((resolve) => fakes?.once("exit", resolve));
      fakes.stdin?.end();
      const timer = setTimeout(() => fakes?.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await node?.destroy();
    if (podsDir !== "") await rm(podsDir, { recursive: true, force: true });
  }, 30_000);

  it("the trusted pod (curl and ManagedIdentityCredential, calling 169.254.169.254) gets a token naming the identity; another service account under the same label gets 403", async () => {
    const [p0, p1] = node.topology.pods;
    const curl = await curlMetadata(p0!, tokenTarget(VAULT), { maxTimeSeconds: 15 });
    expect(curl.status, curl.body).toBe(200);
    expect(decodeFakeJwt(String(curl.json?.["access_token"]))).toMatchObject({ aud: VAULT, appid: IDENTITY.clientId, xms_mirid: IDENTITY.id, tid: TENANT });
    const sdk = await sdkTokenFrom(p0!, `${VAULT}/.default`);
    expect(sdk.ok, JSON.stringify(sdk)).toBe(true);
    if (sdk.ok) expect(decodeFakeJwt(sdk.token)).toMatchObject({ appid: IDENTITY.clientId, xms_mirid: IDENTITY.id });

    const other = await curlMetadata(p1!, tokenTarget(VAULT), { maxTimeSeconds: 15 });
    expect(other.status, other.body).toBe(403);
    expect(String(other.json?.["error_description"])).toContain("serviceAccountNotTrusted");
  }, 60_000);
});
