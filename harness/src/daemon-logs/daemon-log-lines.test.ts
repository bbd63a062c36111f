/**
 * Every line either daemon writes — stdout and stderr, from start through a reconcile (attach and detach),
 * token requests (one granted, one refused) and a SIGTERM shutdown — is one JSON object with no key twice
 * (`parseStrictJsonLine`). Both run as real processes from their built entry points against the embedded
 * cluster and the Azure fakes on loopback; NMI runs with `--interception=none`, the pod's requests leave
 * from the pod's loopback address.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { ComputeTarget } from "@podid/core";
import { freePort, loopbackNmiArgs, startAzureCloud, startEmbeddedCluster, TestCertificateAuthority, type ClusterComponent } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStrictJsonLine } from "./strict-json.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SCALE_SET: ComputeTarget = { kind: "vmss", subscriptionId: "00000000-0000-4000-8000-00000000d3e0", resourceGroup: "MC_logs_podid_westeurope", name: "aks-logs-vmss" };
const NODE = "aks-logs-vmss000000";
const POD_IP = "127.0.0.21";
const STEP_MS = 30_000;

/** A daemon's output, line by line, as it wrote it. */
interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: { readonly stream: "stdout" | "stderr"; readonly text: string }[];
  readonly exited: Promise<number | null>;
}

function startDaemon(name: string, script: string, args: readonly string[], env: Readonly<Record<string, string>>): Daemon {
  const child = spawn(process.execPath, [join(ROOT, script), ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Daemon["lines"] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    const input = child[stream];
    if (input !== null) createInterface({ input, crlfDelay: Infinity }).on("line", (text) => lines.push({ stream, text }));
  }
  return { name, child, lines, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

async function until(check: () => boolean | Promise<boolean>, what: string, daemons: readonly Daemon[]): Promise<void> {
  const deadline = Date.now() + STEP_MS;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const tails = daemons.map((d) => `${d.name}:\n${d.lines.slice(-15).map((l) => l.text).join("\n")}`).join("\n");
  throw new Error(`timed out waiting for ${what}\n${tails}`);
}

/** A token request to NMI from the pod's address; resolves with the status code. */
function tokenRequest(port: number, headers: Readonly<Record<string, string>>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, localAddress: POD_IP, path: "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net", headers, timeout: STEP_MS },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function yamlObjects(path: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(join(ROOT, path), "utf8")).map((doc) => doc.toJSON() as KubernetesObject);
}

const daemons: Daemon[] = [];
const components: ClusterComponent[] = [];
let workDir = "";
let statuses: { granted: number; refused: number } = { granted: 0, refused: 0 };

beforeAll(async () => {
  // The daemons run from dist/ (what the images run); a no-op after npm test's build.
  spawnSync(join(ROOT, "node_modules/.bin/tsc"), ["-b", "packages/mic-runner", "packages/nmi-server"], { cwd: ROOT, timeout: 180_000 });
  workDir = await mkdtemp(join(tmpdir(), "podid-log-lines-"));
  const kubeconfig = join(workDir, "kubeconfig");
  const ca = await TestCertificateAuthority.create({ dir: await mkdtemp(join(workDir, "ca-")) });
  const cluster = await startEmbeddedCluster({ kubeconfigPath: kubeconfig, manifests: [join(ROOT, "deploy/crds.yaml")] });
  components.push(...cluster.components);
  const [identityDoc] = yamlObjects("examples/demo/identity.yaml") as unknown as { spec: Record<string, string> }[];
  const identity = { id: identityDoc?.spec["ResourceID"] ?? "", clientId: identityDoc?.spec["ClientID"] ?? "" };
  const servicePrincipal = { tenantId: "72f988bf-0000-4000-8000-00000000d3e0", clientId: "5d2c1f3e-0000-4000-8000-0000000c0de0", secret: "log-test-secret-not-real" };
  const azure = await startAzureCloud({ ca, scaleSet: SCALE_SET, identities: [identity], servicePrincipal, patchLatencyMs: 100 });
  components.push(azure);
  const azureJson = join(workDir, "azure.json");
  await azure.writeAzureJson(azureJson);

  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  await core.createNode({
    body: {
      metadata: { name: NODE },
      spec: { providerID: `azure:///subscriptions/${SCALE_SET.subscriptionId}/resourceGroups/${SCALE_SET.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${SCALE_SET.name}/virtualMachines/0` },
    },
  });

  const env = { ...ca.childEnvironment(), KUBECONFIG: kubeconfig };
  const micProbe = await freePort();
  const mic = startDaemon("MIC", "packages/mic-runner/dist/main.js", [
    `--kubeconfig=${kubeconfig}`, `--cloudconfig=${azureJson}`, `--http-probe-port=${micProbe}`, `--prometheus-port=${await freePort()}`,
    "--leader-election-namespace=default", "--leader-election-duration=2s", "--batch-window=200ms", "--arm-poll-interval=200ms",
    "--listen-address=127.0.0.1", "-v=6",
  ], env);
  daemons.push(mic);
  const nmiPort = await freePort();
  const nmiProbe = await freePort();
  const nmi = startDaemon("NMI", "packages/nmi-server/dist/main.js", [
    ...loopbackNmiArgs({ node: NODE, kubeconfig, port: nmiPort, probePort: nmiProbe, metricsPort: await freePort(), imdsPort: new URL(azure.imds.url).port }),
    "--log-level=debug",
  ], env);
  daemons.push(nmi);
  await until(async () => (await (await fetch(`http://127.0.0.1:${micProbe}/healthz`)).text()).trim() === "Active", "MIC to lead", daemons);
  await until(async () => (await fetch(`http://127.0.0.1:${nmiProbe}/healthz`)).ok, "NMI to be healthy", daemons);

  for (const object of [...yamlObjects("examples/demo/identity.yaml"), ...yamlObjects("examples/demo/binding.yaml"), ...yamlObjects("examples/demo/pod.yaml")]) await objects.create(object);
  const pod = await core.readNamespacedPod({ name: "demo-app", namespace: "default" });
  pod.spec = { ...(pod.spec ?? { containers: [] }), nodeName: NODE };
  const scheduled = await core.replaceNamespacedPod({ name: "demo-app", namespace: "default", body: pod });
  scheduled.status = { ...(scheduled.status ?? {}), phase: "Running", podIP: POD_IP, podIPs: [{ ip: POD_IP }] };
  await core.replaceNamespacedPodStatus({ name: "demo-app", namespace: "default", body: scheduled });
  const aaiStatus = () => (cluster.kubeApiServer.store.get("azureassignedidentities", "demo-app-default-demo-kv-reader", "default")?.["status"] as { status?: string } | undefined)?.status;
  await until(() => aaiStatus() === "Assigned", "the AzureAssignedIdentity to be Assigned", daemons);
  statuses = { granted: 0, refused: 0 };
  await until(async () => (statuses.granted = await tokenRequest(nmiPort, { Metadata: "true" })) === 200, "a token for the pod", daemons);
  statuses.refused = await tokenRequest(nmiPort, {});
  await core.deleteNamespacedPod({ name: "demo-app", namespace: "default" });
  await until(() => aaiStatus() === undefined && (azure.compute.identitiesOf(SCALE_SET)?.userAssignedKeys.length ?? 0) === 0, "the detach", daemons);
  for (const daemon of daemons) daemon.child.kill("SIGTERM");
  const stopped = await Promise.race([Promise.all(daemons.map((d) => d.exited)), new Promise((resolve) => setTimeout(() => resolve("timeout"), 20_000))]);
  if (stopped === "timeout") for (const daemon of daemons) daemon.child.kill("SIGKILL");
}, 300_000);

afterAll(async () => {
  for (const daemon of daemons) if (daemon.child.exitCode === null && daemon.child.signalCode === null) daemon.child.kill("SIGKILL");
  for (const component of [...components].reverse()) await component.stop().catch(() => undefined);
  if (workDir !== "") await rm(workDir, { recursive: true, force: true });
});

describe("daemon log lines", () => {
  it("the scenario ran: token granted, then refused without the Metadata header; both daemons exited 0 on SIGTERM", async () => {
    expect(statuses).toEqual({ granted: 200, refused: 400 });
    expect(await Promise.all(daemons.map((d) => d.exited))).toEqual([0, 0]);
  });

  it.each(["MIC", "NMI"])("%s: every stdout and stderr line is one JSON object without a repeated key", (name) => {
    const daemon = daemons.find((d) => d.name === name);
    const lines = daemon?.lines ?? [];
    expect(lines.length).toBeGreaterThan(5);
    const bad = lines.flatMap((line) => {
      const result = parseStrictJsonLine(line.text);
      return result.ok ? [] : [`${line.stream}: ${result.error}: ${line.text}`];
    });
    expect(bad).toEqual([]);
    for (const line of lines) expect(Object.keys((parseStrictJsonLine(line.text) as { value: object }).value)).toEqual(expect.arrayContaining(["level", "time", "msg"]));
  });
});
