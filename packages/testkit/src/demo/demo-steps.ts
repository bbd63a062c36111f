/**
 * The steps both demos' stories (`podid-sim demo` and `podid-sim demo --federated`) take the same way: the run's
 * timeline and teardown, scheduling the pod, watching its AzureAssignedIdentity and phase, reading the mounted
 * Key Vault secret, printing the app's token claims and staying up with `--keep`. Each story keeps what differs.
 * @packageDocumentation
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import type { ClusterComponent, EmbeddedCluster } from "../cli/embedded-cluster.js";
import type { FakeTokenClaims } from "../fakes/fake-jwt.js";
import type { SimulatedKubelet } from "../kubelet/simulated-kubelet.js";
import type { PodKeyVaultOptions } from "./demo-summary.js";
import { DEMO_POD_NODE, DEMO_SECRET_VALUE, NODES, SECRET_FILE } from "./demo-world.js";

/** A pod by name and namespace (what the kube client's pod calls take). */
export interface PodRef {
  readonly name: string;
  readonly namespace: string;
}

/** One demo run: its timeline printer, the parts it started and its scratch directory. */
export interface DemoRun {
  /** Prints a timeline line: seconds since the run began, a symbol, the text. */
  readonly say: (symbol: string, text: string) => void;
  /** Every started part (stopped in reverse by {@link DemoRun.stopAll}). */
  readonly components: ClusterComponent[];
  readonly workDir: string;
  /** Stops every component, newest first (ignoring failures), and removes the scratch directory. */
  readonly stopAll: () => Promise<void>;
}

/** Begins a run: its clock, an empty component list and a fresh scratch directory. */
export async function startDemoRun(out: (line: string) => void): Promise<DemoRun> {
  const started = Date.now();
  const say = (symbol: string, text: string) => out(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${symbol} ${text}`);
  const components: ClusterComponent[] = [];
  const workDir = await mkdtemp(join(tmpdir(), "podid-demo-"));
  const stopAll = async () => {
    for (const component of [...components].reverse()) await component.stop().catch(() => undefined);
    await rm(workDir, { recursive: true, force: true });
  };
  return { say, components, workDir, stopAll };
}

/** The node the demo runs its pod on. */
export type DemoNode = (typeof NODES)[number];

/** Binds `pod` to the demo's node (the demo is this cluster's scheduler; the node's kubelet does the rest). */
export async function scheduleDemoPod(core: CoreV1Api, pod: PodRef): Promise<DemoNode> {
  const podNode = NODES[DEMO_POD_NODE] ?? NODES[0];
  if (podNode === undefined) throw new Error("no nodes");
  const current = await core.readNamespacedPod(pod);
  current.spec = { ...(current.spec ?? { containers: [] }), nodeName: podNode.name };
  await core.replaceNamespacedPod({ ...pod, body: current });
  return podNode;
}

/** The `status.status` of AzureAssignedIdentity `name` (`""` when unset), or `undefined` while there is none. */
export function assignedIdentityStatus(cluster: EmbeddedCluster, name: string, namespace: string): string | undefined {
  const object = cluster.kubeApiServer.store.get("azureassignedidentities", name, namespace);
  return object === undefined ? undefined : String(((object["status"] as Record<string, unknown> | undefined) ?? {})["status"] ?? "");
}

/** The pod once its phase is Running, else `undefined`. */
export async function runningPod(core: CoreV1Api, pod: PodRef): Promise<V1Pod | undefined> {
  const current = await core.readNamespacedPod(pod);
  return current.status?.phase === "Running" ? current : undefined;
}

/** What {@link readPodSecret} reads through and prints to. */
export interface PodSecretRead {
  readonly run: Pick<DemoRun, "say">;
  readonly out: (line: string) => void;
  readonly kubelets: ReadonlyMap<string, SimulatedKubelet>;
  readonly podNode: DemoNode;
  readonly pod: V1Pod | undefined;
  readonly kvOptions: PodKeyVaultOptions;
}

/**
 * Reads the tutorial's {@link SECRET_FILE} where the pod's kubelet mounted it, prints it beside what Key Vault
 * holds, and returns it; throws when no mounted volume covers the file or the value differs.
 */
export async function readPodSecret({ run, out, kubelets, podNode, pod, kvOptions }: PodSecretRead): Promise<string> {
  const { say } = run;
  const secretPath = pod === undefined ? undefined : kubelets.get(podNode.name)?.hostPath(pod, SECRET_FILE);
  if (secretPath === undefined) throw new Error(`no mounted volume of the pod covers ${SECRET_FILE}`);
  const secretValue = await readFile(secretPath, "utf8");
  say("●", `pod reads ${SECRET_FILE} (on this machine: ${secretPath}):`);
  out(`            ${secretValue}`);
  say(secretValue === DEMO_SECRET_VALUE ? "✓" : "✗", `Key Vault ${kvOptions.vaultName} holds ${kvOptions.objectName} = ${JSON.stringify(DEMO_SECRET_VALUE)}${secretValue === DEMO_SECRET_VALUE ? ": the same value" : ": DIFFERENT"}`);
  if (secretValue !== DEMO_SECRET_VALUE) throw new Error(`${SECRET_FILE} does not hold the Key Vault secret`);
  return secretValue;
}

/** Prints the claims of the app's token that name who it is for and whom it was issued to. */
export function printTokenClaims(out: (line: string) => void, claims: FakeTokenClaims): void {
  for (const claim of ["aud", "appid", "oid", "tid", "xms_mirid"]) out(`            ${claim.padEnd(9)} ${String(claims[claim as keyof typeof claims] ?? "")}`);
}

/** `--keep`: says how to look around, prints the summary line and waits until the user stops the demo. */
export async function keepRunning(
  run: Pick<DemoRun, "say">,
  options: { readonly kubeconfigPath: string; readonly out: (line: string) => void; readonly untilStopped: () => Promise<void> },
  summary: unknown,
): Promise<void> {
  run.say("✓", `running; use kubectl --kubeconfig ${options.kubeconfigPath} get azureassignedidentities -A (Ctrl-C to stop)`);
  options.out(JSON.stringify(summary));
  await options.untilStopped();
}
