import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  computeTargetId,
  serialiseAzureAssignedIdentity,
  serialiseAzureIdentity,
  serialiseAzureIdentityBinding,
  serialiseAzurePodIdentityException,
  serialiseNode,
  serialisePod,
  type AzureIdentity,
  type AzureIdentityBinding,
  type ComputeTarget,
  type PodView,
} from "@podid/core";
import { createNetnsTopology, type NetnsTopology, type PodNetns } from "@podid/testkit";
import { identityArmId, identityClientId, makeAssigned, makeBinding, makeException, makeIdentity, makePod, TEST_NODE } from "@podid/testkit";
import { NodeFakes } from "./node-fakes.js";
import { NmiProcess } from "./nmi-process.js";
import { curlMetadata, tokenTarget } from "./pod-clients.js";

/**
 * One e2e "node" in real network namespaces: the node namespace runs the fakes process (fake
 * kube-apiserver on its 127.0.0.1, fake IMDS on 169.254.169.254:80 on its `lo`) and the real `podid-nmi`
 * with its production adapters (informers, IMDS token source, fail-closed iptables); pod namespaces hang
 * off the node's bridge with their own addresses. Nothing listens outside these namespaces and no traffic
 * leaves them: the fake apiserver is reachable only from the node namespace, which is where NMI runs.
 * @packageDocumentation
 */

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The compiled `podid-nmi` entry point (what the image runs). */
export const NMI_MAIN = join(ROOT, "packages/nmi-server/dist/main.js");
/** The compiled fakes process. */
export const NODE_FAKES_MAIN = join(ROOT, "harness/dist/nmi-e2e/node-fakes-main.js");
const CRDS = join(ROOT, "deploy/crds.yaml");
const BUILT_FROM = [
  ...["core", "adapter-k8s", "adapter-azure", "adapter-iptables", "daemon-shell", "testkit", "nmi-server"].map((p) => join(ROOT, "packages", p)),
  join(ROOT, "harness"),
];

/** The node every e2e pod runs on (the fixtures' node name). */
export const NODE_NAME = TEST_NODE;
/** The node's scale set: its system-assigned identity is the node identity exceptions get. */
export const SCALE_SET: ComputeTarget = {
  kind: "vmss",
  subscriptionId: "00000000-0000-4000-8000-0000000e2e00",
  resourceGroup: "MC_podid-e2e_aks_westeurope",
  name: "aks-nodepool1-12345678-vmss",
};
/** The audience every test asks for. */
export const VAULT = "https://vault.azure.net";

/** The newest mtime of the files under `dir` accepted by `include` (0 when none or missing). */
function newestMs(dir: string, include: (name: string) => boolean): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMs(path, include));
    else if (include(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when every package NMI is built from has a `dist` at least as new as its sources. */
function isBuilt(): boolean {
  if (!existsSync(NMI_MAIN) || !existsSync(NODE_FAKES_MAIN)) return false;
  return BUILT_FROM.every((pkg) => {
    const sources = newestMs(join(pkg, "src"), (n) => n.endsWith(".ts") && !n.endsWith(".test.ts"));
    return newestMs(join(pkg, "dist"), (n) => n.endsWith(".js") || n.endsWith(".tsbuildinfo")) >= sources;
  });
}

/**
 * Makes sure `dist/` holds NMI and the fakes process built from the current sources. `npm test` runs
 * `tsc -b` first, so this is normally a no-op; when a file is run alone after an edit it runs
 * `tsc -b harness` (bounded; it builds packages/nmi-server first), serialised across vitest workers by a lock directory.
 */
export function ensureBuilt(): void {
  if (isBuilt()) return;
  const lock = join(tmpdir(), "podid-nmi-e2e-build.lock");
  const deadline = Date.now() + 200_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another worker builds; a lock older than 5 minutes is left over from a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error("timed out waiting for another worker's build of the harness");
      spawnSync("sleep", ["0.2"]);
    }
  }
  try {
    if (isBuilt()) return;
    const tsc = join(ROOT, "node_modules/.bin/tsc");
    const result = spawnSync(tsc, ["-b", join(ROOT, "harness/tsconfig.json")], { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
    if (!existsSync(NMI_MAIN) || !existsSync(NODE_FAKES_MAIN)) throw new Error(`the harness is not built and tsc -b failed:\n${result.stdout}${result.stderr}`);
    if (result.status !== 0) process.stderr.write(`tsc -b harness reported errors (running the emitted build anyway):\n${result.stdout}\n`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** An identity of the scenario: the AzureIdentity and the ids tokens must carry. */
export interface E2eIdentity {
  readonly identity: AzureIdentity;
  readonly armId: string;
  readonly clientId: string;
}

/** A type 0 AzureIdentity `name` in `namespace` (ARM id and client id as the fake IMDS knows them). */
export function e2eIdentity(name: string, namespace: string): E2eIdentity {
  return { identity: makeIdentity({ name, namespace }), armId: identityArmId(name), clientId: identityClientId(name) };
}

/** A pod placed in a pod namespace: its cluster object follows the namespace's address. */
export interface E2ePod {
  readonly netns: PodNetns;
  readonly pod: PodView;
}

/** Options of {@link E2eNode.create}. */
export interface E2eNodeOptions {
  /** Pod namespaces to create. */
  readonly pods: number;
  /** User-assigned identities attached to the scale set from the start. */
  readonly attached: readonly E2eIdentity[];
  /** NMI flags added to the base ones (node, kubeconfig, kubelet config, short waits). */
  readonly nmiFlags?: readonly string[];
  /** How pods attach to the node (default `bridged`; see testkit's `NetnsTopologyOptions.mode`). */
  readonly topology?: "bridged" | "routed";
  /**
   * The iptables backend of this node (default: env `PODID_E2E_IPTABLES_BACKEND`, else `nft`, what plain
   * `iptables` is on Debian): the helpers' commands use its tools, and with `seedKubeRules` kube-proxy-like
   * rules are written with it before NMI starts, so NMI's `--iptables-backend=auto` (its default) must pick
   * it. `PODID_E2E_IPTABLES_BACKEND=legacy npx vitest run harness/src/nmi-e2e` runs every e2e file on legacy.
   */
  readonly backend?: "nft" | "legacy";
  /**
   * Write kube-proxy-like rules (KUBE-SERVICES and friends) with {@link E2eNodeOptions.backend}'s tools at
   * creation (default: for `legacy` only — on an empty node auto-detection goes to nft).
   */
  readonly seedKubeRules?: boolean;
  /**
   * `HOST_IP` in NMI's environment, as the DaemonSet sets it from `status.hostIP` (default: the node's bridge
   * address, so NMI listens there and DNATs to it); `false` leaves it unset (NMI falls back to 127.0.0.1).
   */
  readonly hostIp?: string | false;
}

/** `PODID_E2E_IPTABLES_BACKEND` (`nft` or `legacy`; anything else is an error, never silently nft). */
function e2eBackendFromEnv(): "nft" | "legacy" {
  const value = process.env["PODID_E2E_IPTABLES_BACKEND"];
  if (value === undefined || value === "" || value === "nft") return "nft";
  if (value === "legacy") return "legacy";
  throw new Error(`PODID_E2E_IPTABLES_BACKEND must be nft or legacy, got ${JSON.stringify(value)}`);
}

/** kube-proxy-like rules (iptables mode) for {@link E2eNodeOptions.seedKubeRules}: foreign chains podid must leave alone. */
const KUBE_PROXY_RULES = [
  "*nat",
  ":KUBE-SERVICES - [0:0]",
  ":KUBE-POSTROUTING - [0:0]",
  "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
  "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
  "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING",
  "-A KUBE-SERVICES -d 10.0.0.1/32 -p tcp -m comment --comment \"default/kubernetes:https cluster IP\" -m tcp --dport 443 -j DNAT --to-destination 10.0.0.2:6443",
  "COMMIT",
  "",
].join("\n");

/** The topology, the fakes and NMI. Call {@link E2eNode.destroy} (idempotent) in `afterAll`. */
export class E2eNode {
  readonly topology: NetnsTopology;
  readonly fakes: NodeFakes;
  readonly #dir: string;
  readonly #flags: readonly string[];
  readonly #env: Readonly<Record<string, string>>;
  /** The iptables backend of this node (see {@link E2eNodeOptions.backend}). */
  readonly backend: "nft" | "legacy";
  #nmi: NmiProcess | undefined;
  #barriers = 0;

  private constructor(topology: NetnsTopology, fakes: NodeFakes, dir: string, flags: readonly string[], env: Readonly<Record<string, string>>, backend: "nft" | "legacy") {
    this.topology = topology;
    this.fakes = fakes;
    this.#dir = dir;
    this.#flags = flags;
    this.#env = env;
    this.backend = backend;
  }

  /** Builds the namespaces and starts the fakes (NMI is started by {@link startNmi}, after seeding). */
  static async create(options: E2eNodeOptions): Promise<E2eNode> {
    ensureBuilt();
    const dir = await mkdtemp(join(tmpdir(), "podid-nmi-e2e-"));
    let topology: NetnsTopology | undefined;
    try {
      topology = await createNetnsTopology({ pods: options.pods, ...(options.topology !== undefined ? { mode: options.topology } : {}) });
      const backend = options.backend ?? e2eBackendFromEnv();
      if (options.seedKubeRules ?? backend === "legacy") await topology.node.execOrThrow([`iptables-${backend}-restore`, "--noflush", "-w", "5"], { input: KUBE_PROXY_RULES });
      // A kubelet configuration of a CNI node, so the kubenet guard runs and passes (CVE-2021-1677).
      await writeFile(join(dir, "kubelet"), 'KUBELET_FLAGS="--network-plugin=cni --node-labels=kubernetes.azure.com/mode=user"\n');
      const fakes = await NodeFakes.start(topology.node, NODE_FAKES_MAIN, {
        crdsPath: CRDS,
        kubeconfigPath: join(dir, "kubeconfig"),
        target: SCALE_SET,
        systemAssigned: true,
        attached: options.attached.map((i) => i.armId),
        imdsHost: "169.254.169.254",
        imdsPort: 80,
      });
      const flags = [
        `--node=${NODE_NAME}`,
        `--kubeconfig=${join(dir, "kubeconfig")}`,
        `--kubelet-config=${join(dir, "kubelet")}`,
        // Keep "no identity" answers short: one 1 s wait instead of the original's 80 s.
        "--retry-attempts-for-created=1",
        "--retry-attempts-for-assigned=1",
        "--find-identity-retry-interval=1",
        "--graceful-shutdown-timeout-sec=5",
        // Exceptions count only in listed namespaces: the defaults plus the pod-cache barrier's own.
        `--exception-namespaces=podid-system,kube-system,${BARRIER_EXCEPTION.namespace}`,
        ...(options.nmiFlags ?? []),
      ];
      const hostIp = options.hostIp ?? topology.nodeAddress;
      const node = new E2eNode(topology, fakes, dir, flags, hostIp === false ? {} : { HOST_IP: hostIp }, backend);
      await node.upsert(serialiseNode({ kind: "Node", metadata: { name: NODE_NAME, namespace: "", labels: {}, annotations: {}, finalizers: [] }, providerID: `azure://${computeTargetId(SCALE_SET)}/virtualMachines/0` }));
      return node;
    } catch (error) {
      await topology?.destroy();
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The running NMI (throws when none is running). */
  get nmi(): NmiProcess {
    if (this.#nmi === undefined) throw new Error("NMI is not running");
    return this.#nmi;
  }

  /** NMI's command line (flags after the entry point). */
  get nmiFlags(): readonly string[] {
    return this.#flags;
  }

  /** NMI's environment beyond `PATH` (`HOST_IP` unless disabled). */
  get nmiEnv(): Readonly<Record<string, string>> {
    return this.#env;
  }

  /** Starts `podid-nmi` in the node namespace (flags: the node's, then `extraFlags`) and waits until its rules are installed. */
  async startNmi(extraFlags: readonly string[] = []): Promise<NmiProcess> {
    if (this.#nmi !== undefined && this.#nmi.exit === undefined) throw new Error("NMI is already running");
    this.#nmi = await NmiProcess.start(this.topology.node, NMI_MAIN, [...this.#flags, ...extraFlags], { env: this.#env });
    return this.#nmi;
  }

  /** Runs `iptables-<backend> -w 5 <args>` in the node namespace (throws unless it succeeds); returns its stdout. */
  async iptables(...args: string[]): Promise<string> {
    return (await this.topology.node.execOrThrow([`iptables-${this.backend}`, "-w", "5", ...args])).stdout;
  }

  /** Writes an object into the fake kube-apiserver. */
  upsert(object: object): Promise<Record<string, unknown>> {
    return this.fakes.upsert(object as Readonly<Record<string, unknown>>);
  }

  /**
   * Registers a Running pod of this node at `netns`'s address (uid random unless given) and returns it.
   * With `selector` it carries the `aadpodidbinding` label.
   */
  async addPod(netns: PodNetns, o: { readonly name: string; readonly namespace: string; readonly selector?: string; readonly labels?: Readonly<Record<string, string>>; readonly uid?: string }): Promise<E2ePod> {
    const pod = makePod({
      name: o.name,
      namespace: o.namespace,
      ip: netns.ip,
      node: NODE_NAME,
      uid: o.uid ?? randomUUID(),
      ...(o.selector !== undefined ? { selector: o.selector } : {}),
      ...(o.labels !== undefined ? { labels: o.labels } : {}),
    });
    await this.upsert(serialisePod(pod));
    return { netns, pod };
  }

  /** Removes a pod object at once (as after its grace period). */
  async removePod(pod: PodView): Promise<void> {
    await this.fakes.remove("pods", pod.metadata.name, pod.metadata.namespace);
  }

  /** Writes an AzureIdentity and an AzureIdentityBinding for `selector`; returns the binding. */
  async addIdentityAndBinding(identity: E2eIdentity, selector: string): Promise<AzureIdentityBinding> {
    const binding = makeBinding(identity.identity, selector);
    await this.upsert(serialiseAzureIdentity(identity.identity));
    await this.upsert(serialiseAzureIdentityBinding(binding));
    return binding;
  }

  /** Writes the AzureAssignedIdentity MIC would write once it attached `identity` for `pod` (status Assigned). */
  async assign(pod: PodView, identity: E2eIdentity, binding: AzureIdentityBinding): Promise<void> {
    await this.upsert(serialiseAzureAssignedIdentity(makeAssigned(pod, identity.identity, binding, "Assigned")));
  }

  /** Writes an AzurePodIdentityException for pods with `podLabels` in `namespace`. */
  async addException(name: string, namespace: string, podLabels: Readonly<Record<string, string>>): Promise<void> {
    await this.upsert(serialiseAzurePodIdentityException(makeException(name, namespace, podLabels)));
  }

  /**
   * Waits until NMI's pod cache has caught up with every pod write made so far. A fresh "barrier" pod is
   * registered at `sentinel`'s address (an exception pod, so NMI answers it with a node-identity token
   * without waiting); pod events reach NMI in order on one watch, so once the barrier answers 200, all
   * earlier pod writes are visible. The barrier is then removed and its disappearance awaited the same way
   * (unknown caller → 500). Requires {@link BARRIER_EXCEPTION} to be registered. Bounded.
   */
  async podCacheBarrier(sentinel: PodNetns, timeoutMs = 10_000): Promise<void> {
    const name = `barrier-${String(++this.#barriers)}`;
    const { pod } = await this.addPod(sentinel, { name, namespace: BARRIER_EXCEPTION.namespace, labels: BARRIER_EXCEPTION.podLabels });
    await this.#pollSentinel(sentinel, 200, timeoutMs);
    await this.removePod(pod);
    await this.#pollSentinel(sentinel, 500, timeoutMs);
  }

  async #pollSentinel(sentinel: PodNetns, status: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      const outcome = await curlMetadata(sentinel, tokenTarget(VAULT), { maxTimeSeconds: 3 });
      if (outcome.status === status) return;
      last = `${String(outcome.status ?? outcome.exitCode)} ${outcome.body}`;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`the pod-cache barrier did not answer ${String(status)} within ${String(timeoutMs)} ms (last: ${last})`);
  }

  /** Kills NMI and the fakes, deletes the namespaces and the work directory (idempotent, never rejects). */
  async destroy(): Promise<void> {
    await this.#nmi?.stop("SIGKILL").catch(() => undefined);
    await this.fakes.stop().catch(() => undefined);
    await this.topology.destroy();
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** The exception that makes barrier pods (see {@link E2eNode.podCacheBarrier}) node-identity callers. */
export const BARRIER_EXCEPTION = { name: "e2e-barrier", namespace: "podid-e2e-barrier", podLabels: { "podid.e2e/barrier": "true" } } as const;
