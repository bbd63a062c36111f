import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  computeTargetKey,
  identityKey,
  matchAssignments,
  parseAzureAssignedIdentity,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parsePod,
  type AzureAssignedIdentity,
  type ComputeTarget,
  type DesiredAssignment,
} from "@podid/core";
import {
  ARM_AUDIENCES,
  FakeAadServer,
  FakeArmServer,
  FakeCompute,
  FakeIdentityCatalog,
  FakeKubeApiServer,
  systemClock,
  type KubeObject,
} from "@podid/testkit";
import { pino, type Logger } from "pino";
import { createServer, type AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { composeMic, parseMicFlags, type MicConfig, type MicOverrides, type MicRuntime } from "@podid/mic-runner";

/**
 * A whole podid control plane on loopback for system tests: the fake kube-apiserver (HTTP, with the CRDs
 * of `deploy/crds.yaml`), the fake ARM (HTTPS, real `@azure/arm-compute` on the MIC side, bearer tokens
 * checked for ARM's audience) backed by a `FakeCompute` on real time, the fake AAD (HTTPS) that issues
 * MIC's service-principal token from `azure.json`, one scale set and optional single VMs with their
 * Kubernetes nodes — and MICs, composed in-process from flags exactly as `podid-mic` parses them.
 * @packageDocumentation
 */

/** The subscription of every fake VM, scale set and identity. */
export const SUBSCRIPTION = "5d2c6f7a-1b3e-4c8d-9a0f-2e4b6c8d0a1f";
/** The AAD tenant of MIC's service principal. */
export const TENANT = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
/** The node resource group (as AKS names it). */
export const NODE_RESOURCE_GROUP = "mc_podid_cluster_westeurope";
/** The resource group of the user-assigned identities. */
export const IDENTITY_RESOURCE_GROUP = "podid-identities";
/** MIC's service principal (azure.json `aadClientId`). */
export const MIC_CLIENT_ID = "3f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c";
/** Its first secret (azure.json `aadClientSecret`). */
export const MIC_SECRET = "mic-secret-1";
/** The scale set behind the scale-set nodes. */
export const SCALE_SET = "aks-pool0-12345678-vmss";
const CRDS_PATH = fileURLToPath(new URL("../../../../deploy/crds.yaml", import.meta.url));

/** The ARM id of a user-assigned identity called `name`. */
export function identityResourceId(name: string): string {
  return `/subscriptions/${SUBSCRIPTION}/resourceGroups/${IDENTITY_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

/** Polls `condition` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Real-time sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options of {@link SystemWorld.start}. */
export interface SystemWorldOptions {
  /** Kubernetes nodes that are instances of the one scale set (default 3). */
  readonly scaleSetNodes?: number;
  /** Kubernetes nodes that are single VMs (default 0). */
  readonly vmNodes?: number;
  /** Real milliseconds an identity PATCH's operation takes (default 150). */
  readonly patchLatencyMs?: number;
  /** Real milliseconds of an identity GET (default 5). */
  readonly getLatencyMs?: number;
  /** Whether the scale set has a system-assigned identity (default true, as AKS node pools). */
  readonly systemAssigned?: boolean;
  /** Identities attached to the scale set before MIC starts (e.g. the kubelet identity, a foreign one). */
  readonly preAttached?: readonly string[];
}

/** An in-process MIC and where its servers listen. */
export interface TestMic {
  readonly runtime: MicRuntime;
  readonly probeUrl: string;
  readonly metricsUrl: string;
}

/** GETs `url` and returns status and body text. */
export async function httpGet(url: string): Promise<{ status: number; body: string; contentType: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text(), contentType: response.headers.get("content-type") ?? "" };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What an AzureIdentity was created with. */
export interface CreatedIdentity {
  readonly name: string;
  readonly namespace: string;
  readonly resourceID: string;
  readonly clientID: string;
}

/** The fakes, the cluster's shape and helpers to act as a user and to inspect the outcome. */
export class SystemWorld {
  readonly kube: FakeKubeApiServer;
  readonly arm: FakeArmServer;
  readonly aad: FakeAadServer;
  readonly compute: FakeCompute;
  readonly catalog: FakeIdentityCatalog;
  readonly dir: string;
  readonly kubeconfigPath: string;
  readonly azureJsonPath: string;
  readonly scaleSet: ComputeTarget;
  readonly vms: readonly ComputeTarget[];
  /** Node names: scale-set instances first, then VMs. */
  readonly nodes: readonly string[];
  /** The kubelet ("cluster") identity: attached to the scale set, named in azure.json. */
  readonly clusterIdentity: CreatedIdentity;
  readonly #runtimes = new Set<MicRuntime>();

  private constructor(fields: {
    kube: FakeKubeApiServer;
    arm: FakeArmServer;
    aad: FakeAadServer;
    compute: FakeCompute;
    catalog: FakeIdentityCatalog;
    dir: string;
    scaleSet: ComputeTarget;
    vms: ComputeTarget[];
    nodes: string[];
    clusterIdentity: CreatedIdentity;
  }) {
    this.kube = fields.kube;
    this.arm = fields.arm;
    this.aad = fields.aad;
    this.compute = fields.compute;
    this.catalog = fields.catalog;
    this.dir = fields.dir;
    this.kubeconfigPath = join(fields.dir, "kubeconfig");
    this.azureJsonPath = join(fields.dir, "azure.json");
    this.scaleSet = fields.scaleSet;
    this.vms = fields.vms;
    this.nodes = fields.nodes;
    this.clusterIdentity = fields.clusterIdentity;
  }

  /** Starts the fakes, registers MIC's service principal and writes kubeconfig and azure.json. */
  static async start(options: SystemWorldOptions = {}): Promise<SystemWorld> {
    const dir = mkdtempSync(join(tmpdir(), "podid-system-"));
    const compute = new FakeCompute({
      clock: systemClock,
      patchLatencyMs: options.patchLatencyMs ?? 150,
      getLatencyMs: options.getLatencyMs ?? 5,
      oneOperationAtATimePerTarget: true,
      busyPolicy: "conflict",
    });
    const catalog = new FakeIdentityCatalog();
    const kube = await FakeKubeApiServer.start({ bookmarkIntervalMs: 200 });
    const aad = await FakeAadServer.start();
    const arm = await FakeArmServer.start({ compute, catalog, auth: { audiences: ARM_AUDIENCES } });
    aad.registerApplication({ tenantId: TENANT, clientId: MIC_CLIENT_ID, secret: MIC_SECRET });
    kube.applyManifests(readFileSync(CRDS_PATH, "utf8"));

    const kubelet = catalog.register(identityResourceId("kubelet-identity"));
    const clusterIdentity: CreatedIdentity = { name: "kubelet-identity", namespace: "default", resourceID: kubelet.id, clientID: kubelet.clientId };
    const scaleSet = compute.addVmss(
      { subscriptionId: SUBSCRIPTION, resourceGroup: NODE_RESOURCE_GROUP, name: SCALE_SET },
      { systemAssigned: options.systemAssigned ?? true, userAssigned: [kubelet.id, ...(options.preAttached ?? [])] },
    );
    const nodes: string[] = [];
    const scaleSetNodes = options.scaleSetNodes ?? 3;
    for (let i = 0; i < scaleSetNodes; i++) {
      const name = `aks-pool0-12345678-vmss00000${i}`;
      nodes.push(name);
      kube.store.upsert({
        apiVersion: "v1",
        kind: "Node",
        metadata: { name, labels: { "kubernetes.io/hostname": name } },
        spec: { providerID: `azure:///subscriptions/${SUBSCRIPTION}/resourceGroups/${NODE_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/${SCALE_SET}/virtualMachines/${i}` },
      });
    }
    const vms: ComputeTarget[] = [];
    for (let i = 0; i < (options.vmNodes ?? 0); i++) {
      const name = `aks-vm-${i}`;
      vms.push(compute.addVm({ subscriptionId: SUBSCRIPTION, resourceGroup: NODE_RESOURCE_GROUP, name }, { systemAssigned: true }));
      nodes.push(name);
      kube.store.upsert({
        apiVersion: "v1",
        kind: "Node",
        metadata: { name },
        spec: { providerID: `azure:///subscriptions/${SUBSCRIPTION}/resourceGroups/${NODE_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachines/${name}` },
      });
    }
    const world = new SystemWorld({ kube, arm, aad, compute, catalog, dir, scaleSet, vms, nodes, clusterIdentity });
    await kube.writeKubeconfig(world.kubeconfigPath);
    world.writeAzureJson(MIC_SECRET);
    return world;
  }

  /** Writes azure.json: service principal `MIC_CLIENT_ID` with `secret`, ARM and AAD on the fakes, the kubelet identity. */
  writeAzureJson(secret: string): void {
    writeFileSync(
      this.azureJsonPath,
      JSON.stringify({
        cloud: "AzurePublicCloud",
        tenantId: TENANT,
        aadClientId: MIC_CLIENT_ID,
        aadClientSecret: secret,
        subscriptionId: SUBSCRIPTION,
        resourceGroup: NODE_RESOURCE_GROUP,
        vmType: "vmss",
        useManagedIdentityExtension: false,
        userAssignedIdentityID: this.clusterIdentity.clientID,
        resourceManagerEndpoint: this.arm.url,
        activeDirectoryEndpoint: this.aad.url,
      }),
    );
  }

  /** The command line of a test MIC: the fakes, ephemeral loopback ports, short timings; `extra` last (wins). */
  micArgs(instance: string, extra: readonly string[] = []): string[] {
    return [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--cloudconfig=${this.azureJsonPath}`,
      `--leader-election-instance=${instance}`,
      "--leader-election-duration=1s",
      "--http-probe-port=0",
      "--prometheus-port=0",
      "--listen-address=127.0.0.1",
      "--batch-window=100ms",
      "--arm-poll-interval=50ms",
      "--clientQps=100",
      "--log-level=warn",
      ...extra,
    ];
  }

  /** Parses {@link micArgs} with the real flag parser. */
  micConfig(instance: string, extra: readonly string[] = []): MicConfig {
    const parsed = parseMicFlags(this.micArgs(instance, extra), {});
    if (!parsed.ok) throw new Error(parsed.error.message);
    if (parsed.value.kind !== "run") throw new Error("not a run command");
    return parsed.value.config;
  }

  /** Composes and starts an in-process MIC (stopped by {@link close} unless stopped before). */
  async startMic(instance: string, extra: readonly string[] = [], overrides: MicOverrides = {}): Promise<TestMic> {
    const runtime = composeMic(this.micConfig(instance, extra), {
      pino: quietPino(instance),
      informers: { backoff: { initialMs: 20, maxMs: 200, jitter: 0.5 }, maxReconnectDelayMs: 50 },
      armRetry: { maxRetries: 1, retryDelayInMs: 20, maxRetryDelayInMs: 100 },
      // Short ARM failure backoff (default 5 s doubling) so fault tests converge in seconds.
      controllerOptions: { failureBackoff: { initialMs: 300, maxMs: 2_000 } },
      ...overrides,
    });
    this.#runtimes.add(runtime);
    const addresses = await runtime.start();
    return { runtime, probeUrl: `http://127.0.0.1:${addresses.probe.port}`, metricsUrl: `http://127.0.0.1:${addresses.metrics.port}` };
  }

  // ── Acting as a user ────────────────────────────────────────────────────────────────────────────

  /** Creates (or replaces) an AzureIdentity of type 0 for a catalog identity called `azureName`. */
  identity(name: string, options: { namespace?: string; azureName?: string; legacyFields?: boolean } = {}): CreatedIdentity {
    const namespace = options.namespace ?? "default";
    const record = this.catalog.lookup(identityResourceId(options.azureName ?? name)) ?? this.catalog.register(identityResourceId(options.azureName ?? name));
    const spec = options.legacyFields === true ? { type: 0, ResourceID: record.id, ClientID: record.clientId } : { type: 0, resourceID: record.id, clientID: record.clientId };
    this.kube.store.upsert({ apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentity", metadata: { name, namespace }, spec });
    return { name, namespace, resourceID: record.id, clientID: record.clientId };
  }

  /** Creates (or replaces) an AzureIdentityBinding. */
  binding(name: string, identity: string, selector: string, namespace = "default"): void {
    this.kube.store.upsert({ apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentityBinding", metadata: { name, namespace }, spec: { azureIdentity: identity, selector } });
  }

  /** Creates (or replaces) a running pod labelled `aadpodidbinding: <label>` on `node`. */
  pod(name: string, label: string | undefined, node: string, namespace = "default"): void {
    const existing = this.kube.store.get("pods", name, namespace);
    const ip = `10.244.${(this.kube.store.revision >> 8) & 255}.${this.kube.store.revision & 255}`;
    this.kube.store.upsert({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, labels: label === undefined ? {} : { aadpodidbinding: label }, ...(existing?.metadata["uid"] !== undefined ? { uid: existing.metadata["uid"] } : {}) },
      spec: { nodeName: node, serviceAccountName: "default", containers: [{ name: "app", image: "busybox" }] },
      status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
    });
  }

  /** Deletes a pod (at once, as the fake has no graceful termination). */
  deletePod(name: string, namespace = "default"): void {
    this.kube.store.remove("pods", name, namespace);
  }

  /** Deletes an object of `resource` (`azureidentities`, `azureidentitybindings`, …). */
  delete(resource: string, name: string, namespace = "default"): void {
    this.kube.store.remove(resource, name, namespace);
  }

  // ── Inspecting ─────────────────────────────────────────────────────────────────────────────────

  /** Every AzureAssignedIdentity as stored, parsed by core. */
  assigned(): AzureAssignedIdentity[] {
    return this.kube.store.list("azureassignedidentities").flatMap((raw) => {
      const parsed = parseAzureAssignedIdentity(raw);
      return parsed.ok ? [parsed.value] : [];
    });
  }

  /** AAIs by name → status. */
  statuses(): Record<string, string> {
    return Object.fromEntries(this.assigned().map((a) => [a.metadata.name, a.status]));
  }

  /** Canonical keys of the user-assigned identities attached to `target` (the scale set by default). */
  attached(target: ComputeTarget = this.scaleSet): string[] {
    return [...(this.compute.identitiesOf(target)?.userAssignedKeys ?? [])].sort();
  }

  /** The canonical key of an identity (as `attached` reports it). */
  key(identity: CreatedIdentity | string): string {
    return identityKey(typeof identity === "string" ? identity : identity.resourceID) ?? "";
  }

  /** The Warning/Normal Events stored for the binding `name`. */
  events(name: string, namespace = "default"): KubeObject[] {
    return this.kube.store.list("events", namespace).filter((e) => (e["involvedObject"] as { name?: string } | undefined)?.name === name);
  }

  /** What MIC must reach from the objects in the API server (core's matching: one rule, one place). */
  desired(): readonly DesiredAssignment[] {
    const parse = <T>(resource: string, parser: (raw: unknown) => { ok: true; value: T } | { ok: false }) =>
      this.kube.store.list(resource).flatMap((raw) => {
        const parsed = parser(raw);
        return parsed.ok ? [parsed.value] : [];
      });
    return matchAssignments(
      {
        pods: parse("pods", parsePod),
        bindings: parse("azureidentitybindings", (raw) => parseAzureIdentityBinding(raw)),
        identities: parse("azureidentities", (raw) => parseAzureIdentity(raw)),
      },
      { forceNamespaced: false },
    ).assignments;
  }

  /**
   * The converged state: every desired pair has an `Assigned` AAI and no other AAI exists; every VM/VMSS
   * carries exactly the identities its pods need plus `keep` (identities MIC must leave alone: the kubelet
   * identity, foreign ones, immutable ones). Returns the differences (empty when converged).
   */
  convergenceProblems(keep: ReadonlyMap<string, readonly string[]> = new Map()): string[] {
    const problems: string[] = [];
    const desired = this.desired();
    const stored = new Map(this.assigned().map((a) => [`${a.metadata.namespace}/${a.metadata.name}`, a]));
    const wanted = new Map<string, Set<string>>();
    const targetOfNode = new Map<string, string>();
    for (const node of this.kube.store.list("nodes")) {
      const name = (node.metadata["name"] as string) ?? "";
      const providerId = ((node["spec"] as { providerID?: string } | undefined)?.providerID ?? "").toLowerCase();
      const target = [this.scaleSet, ...this.vms].find((t) => providerId.includes(`/${t.kind === "vm" ? "virtualmachines" : "virtualmachinescalesets"}/${t.name.toLowerCase()}`));
      if (target !== undefined) targetOfNode.set(name, computeTargetKey(target));
    }
    for (const d of desired) {
      const key = `${d.namespace}/${d.name}`;
      const aai = stored.get(key);
      if (aai === undefined) problems.push(`missing AAI ${key}`);
      else if (aai.status !== "Assigned") problems.push(`AAI ${key} is ${aai.status || "(empty)"}`);
      stored.delete(key);
      const target = targetOfNode.get(d.nodeName);
      const id = identityKey(d.identity.spec.resourceID);
      if (target !== undefined && id !== undefined) wanted.set(target, (wanted.get(target) ?? new Set()).add(id));
    }
    for (const key of stored.keys()) problems.push(`extra AAI ${key}`);
    for (const target of [this.scaleSet, ...this.vms]) {
      const key = computeTargetKey(target);
      const expected = new Set([...(wanted.get(key) ?? []), ...(keep.get(key) ?? []).map((id) => identityKey(id) ?? id)]);
      const actual = new Set(this.attached(target));
      for (const id of expected) if (!actual.has(id)) problems.push(`${target.name}: ${id} not attached`);
      for (const id of actual) if (!expected.has(id)) problems.push(`${target.name}: ${id} attached but not needed`);
    }
    return problems;
  }

  /** `keep` for {@link convergenceProblems} holding `ids` on the scale set (the kubelet identity always). */
  keepOnScaleSet(...ids: readonly string[]): Map<string, string[]> {
    return new Map([[computeTargetKey(this.scaleSet), [this.clusterIdentity.resourceID, ...ids]]]);
  }

  /** Waits until {@link convergenceProblems} is empty. */
  async converged(keep: ReadonlyMap<string, readonly string[]> = this.keepOnScaleSet(), timeoutMs = 10_000): Promise<void> {
    let last: string[] = [];
    try {
      await until("convergence", () => (last = this.convergenceProblems(keep)).length === 0, timeoutMs);
    } catch {
      throw new Error(`not converged after ${timeoutMs} ms: ${last.join("; ")}`);
    }
  }

  /** Stops every MIC started here, then the fakes; removes the temporary files. */
  async close(): Promise<void> {
    await Promise.all([...this.#runtimes].map((runtime) => runtime.stop("test finished")));
    await this.kube.close();
    await this.arm.close();
    await this.aad.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A pino logger for in-process MICs that keeps warnings and errors in memory and prints them only when
 * `PODID_TEST_LOGS` is set (so a failing run can be diagnosed without flooding passing runs).
 */
export function quietPino(instance: string): Logger {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      if (lines.length > 500) lines.shift();
      if (process.env["PODID_TEST_LOGS"] !== undefined) process.stderr.write(chunk);
      callback();
    },
  });
  return pino({ level: process.env["PODID_TEST_LOGS"] ?? "warn", base: { component: "mic", instance } }, destination);
}
