/**
 * A cluster for `podid explain` tests: the fake kube-apiserver on loopback with `deploy/crds.yaml` applied,
 * a fixed clock (so timestamps in golden output never move), a written kubeconfig, and helpers that create
 * objects the way users and MIC do — AzureAssignedIdentities built with core's `matchAssignments` +
 * `buildAssignedIdentity`, with statuses and `binding …` Events as MIC records them.
 * @packageDocumentation
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildAssignedIdentity,
  GROUP_VERSION,
  matchAssignments,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parsePod,
  serialiseAzureAssignedIdentity,
  type AssignedIdentityWireStatus,
} from "@podid/core";
import { FakeKubeApiServer, type KubeObject } from "@podid/testkit";
import { REPO_ROOT, runCli, type CliRun, type RunCliOptions } from "./run-cli.js";

/** When the fake API server stamps objects (one minute before the CLI's fixed "now"). */
export const SERVER_NOW = new Date("2024-05-01T11:59:00Z");

/** Subscription, node resource group and scale set of the demo (as `npm run demo` creates them). */
export const SUBSCRIPTION = "00000000-0000-4000-8000-00000000d3e0";
/** The demo's node resource group. */
export const NODE_RESOURCE_GROUP = "MC_demo_podid_westeurope";
/** The demo's scale set. */
export const SCALE_SET = "aks-demo-12345678-vmss";

/** The providerID of instance `i` of the demo scale set. */
export function scaleSetProviderId(i: number): string {
  return `azure:///subscriptions/${SUBSCRIPTION}/resourceGroups/${NODE_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/${SCALE_SET}/virtualMachines/${i}`;
}

/** The ARM id of a user-assigned identity called `name` in `rg-identities`. */
export function identityId(name: string): string {
  return `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

/** The fake API server plus helpers. Always `close()` it. */
export class ExplainWorld {
  readonly server: FakeKubeApiServer;
  readonly dir: string;
  readonly kubeconfig: string;
  #events = 0;

  private constructor(server: FakeKubeApiServer, dir: string) {
    this.server = server;
    this.dir = dir;
    this.kubeconfig = join(dir, "kubeconfig");
  }

  /** Starts the server; `crds: false` leaves the podid CRDs out. */
  static async start(options: { crds?: boolean } = {}): Promise<ExplainWorld> {
    const server = await FakeKubeApiServer.start({ now: () => SERVER_NOW, namespaces: ["default", "team-a", "kube-system", "podid-system"] });
    const world = new ExplainWorld(server, mkdtempSync(join(tmpdir(), "podid-explain-")));
    if (options.crds !== false) server.applyManifests(readFileSync(join(REPO_ROOT, "deploy/crds.yaml"), "utf8"));
    await server.writeKubeconfig(world.kubeconfig);
    return world;
  }

  /** Applies a file of the repository (e.g. `examples/demo/identity.yaml`) through the API semantics. */
  applyFile(path: string): void {
    this.server.applyManifests(readFileSync(join(REPO_ROOT, path), "utf8"));
  }

  /** Stores an object as given (`uid`, `creationTimestamp` filled in). */
  put(object: KubeObject): KubeObject {
    return this.server.store.upsert(object);
  }

  /** A node of the demo scale set (instance `i`). */
  node(i: number): string {
    const name = `${SCALE_SET}00000${i}`;
    this.put({ apiVersion: "v1", kind: "Node", metadata: { name }, spec: { providerID: scaleSetProviderId(i) } });
    return name;
  }

  /** A type-0 AzureIdentity (camelCase fields). */
  identity(namespace: string, name: string, options: { resourceID?: string; clientID?: string; annotations?: Record<string, string> } = {}): void {
    this.put({
      apiVersion: GROUP_VERSION,
      kind: "AzureIdentity",
      metadata: { name, namespace, ...(options.annotations === undefined ? {} : { annotations: options.annotations }) },
      spec: { type: 0, resourceID: options.resourceID ?? identityId(name), clientID: options.clientID ?? "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11" },
    });
  }

  /** An AzureIdentityBinding. */
  binding(namespace: string, name: string, azureIdentity: string, selector: string): void {
    this.put({ apiVersion: GROUP_VERSION, kind: "AzureIdentityBinding", metadata: { name, namespace }, spec: { azureIdentity, selector } });
  }

  /** A running pod on `node` with `labels`. */
  pod(namespace: string, name: string, labels: Record<string, string>, node: string | undefined, ip = "10.244.1.7", extraMeta: Record<string, unknown> = {}): void {
    this.put({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace, labels, ...extraMeta },
      spec: { ...(node === undefined ? {} : { nodeName: node }), containers: [{ name: "app", image: "mcr.microsoft.com/azure-cli" }] },
      status: node === undefined ? { phase: "Pending" } : { phase: "Running", podIP: ip, podIPs: [{ ip }] },
    });
  }

  /**
   * The AzureAssignedIdentity MIC writes for pod `ns/pod` and identity `identityNs/identity` (through the
   * first binding that selects the pod), stored with `status`. Built by core exactly as MIC builds it.
   */
  assigned(podNamespace: string, pod: string, identityNamespace: string, identity: string, status: AssignedIdentityWireStatus): string {
    const parsedPod = parsePod(this.server.store.get("pods", pod, podNamespace));
    const parsedIdentity = parseAzureIdentity(this.server.store.get("azureidentities", identity, identityNamespace));
    if (!parsedPod.ok || !parsedIdentity.ok) throw new Error("assigned(): pod or identity missing or invalid");
    const bindings = this.server.store.list("azureidentitybindings").flatMap((raw) => {
      const parsed = parseAzureIdentityBinding(raw);
      return parsed.ok ? [parsed.value] : [];
    });
    const match = matchAssignments({ pods: [parsedPod.value], bindings, identities: [parsedIdentity.value] }, { forceNamespaced: false });
    const assignment = match.assignments[0];
    if (assignment === undefined) throw new Error("assigned(): no binding selects the pod for that identity");
    const stored = this.put(serialiseAzureAssignedIdentity(buildAssignedIdentity(assignment, status)) as unknown as KubeObject);
    return `${assignment.namespace}/${String((stored.metadata as { name?: string }).name)}`;
  }

  /** A core/v1 Event as MIC's recorder writes it (source `aadpodidentity.k8s.io`). */
  event(involved: { kind: string; namespace: string; name: string }, type: "Normal" | "Warning", reason: string, message: string, at: string, count = 1): void {
    this.#events++;
    this.put({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${involved.name}.${String(this.#events).padStart(4, "0")}`, namespace: involved.namespace },
      involvedObject: { kind: involved.kind, namespace: involved.namespace, name: involved.name, apiVersion: involved.kind === "Pod" ? "v1" : GROUP_VERSION },
      reason,
      message,
      type,
      count,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: "aadpodidentity.k8s.io" },
    });
  }

  /** Runs `podid <args…> --kubeconfig <this cluster>`. */
  run(args: readonly string[], options: RunCliOptions = {}): Promise<CliRun> {
    return runCli([...args, "--kubeconfig", this.kubeconfig], options);
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
