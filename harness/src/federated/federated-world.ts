import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { FEDERATED_TOKEN_AUDIENCE } from "@podid/core";
import {
  freePort,
  loopbackNmiArgs,
  pollUntil,
  SimulatedKubelet,
  startAzureCloud,
  startChildProcess,
  startEmbeddedCluster,
  TestCertificateAuthority,
  type AzureCloud,
  type ChildProcessComponent,
  type EmbeddedCluster,
  type KubeletEvent,
} from "@podid/testkit";
import { MIC_MAIN } from "../mic-system/test-support/child-mic.js";
import { NMI_MAIN } from "../nmi-e2e/e2e-node.js";

/**
 * A cluster on loopback for federated identities (docs/adr/0021-federated-identities.md) with the shipped
 * `podid-mic` and `podid-nmi` as real processes: the fake kube-apiserver over https with the run's CA (its
 * service-account issuer is https, so the fake AAD fetches its discovery document and keys like Entra ID), fake
 * ARM with federated identity credentials (a write latency, so overlapping writes would show) and a scale set,
 * fake AAD exchanging service-account tokens, MIC with `--service-account-issuer`, one NMI with
 * `--kubelet-pods-dir` = the node's simulated kubelet's pods directory, and that kubelet projecting pods' tokens
 * through TokenRequest. Pods are told apart by loopback source addresses (NMI runs `--interception=none`).
 * @packageDocumentation
 */

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CRDS = join(ROOT, "deploy/crds.yaml");

export const TENANT = "72f988bf-0000-4000-8000-00000000fed3";
const SUBSCRIPTION = "00000000-0000-4000-8000-00000000fed3";
export const SCALE_SET = { kind: "vmss" as const, subscriptionId: SUBSCRIPTION, resourceGroup: "mc_fed_rg", name: "aks-fed-12345678-vmss" };
export const NODE = "aks-fed-12345678-vmss000000";
const SERVICE_PRINCIPAL = { tenantId: TENANT, clientId: "5d2c1f3e-0000-4000-8000-00000000fed3", secret: "not-a-real-secret" };
/** Entra ID's audience for service-account tokens it exchanges (core's constant). */
export const EXCHANGE_AUDIENCE = FEDERATED_TOKEN_AUDIENCE;

/** The ARM id and client id of user-assigned identity `name`. */
export function userAssignedIdentity(name: string, index: number): { readonly id: string; readonly clientId: string } {
  return {
    id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
    clientId: `6b4c2a10-0000-4000-8000-${(0xfed000 + index).toString(16).padStart(12, "0")}`,
  };
}

/** A spawned deployable with its JSON log lines. */
export interface RunningProcess extends ChildProcessComponent {
  /** Its JSON log lines so far, parsed. */
  logLines(): Record<string, unknown>[];
}

/**
 * `script` as its own process with only `PATH` and `env` from here, once `healthUrl` answers (60 s at most);
 * testkit's {@link startChildProcess} spawns, waits and stops it.
 */
async function spawnDeployable(name: string, script: string, args: readonly string[], env: Record<string, string>, healthUrl: string): Promise<RunningProcess> {
  const lines: Record<string, unknown>[] = [];
  const child = await startChildProcess({ name, script, args, env, inheritEnvironment: false, healthUrl, startTimeoutMs: 60_000, onLog: (line) => lines.push(line) });
  return { ...child, logLines: () => [...lines] };
}

/** Options of {@link startFederatedWorld}. */
export interface FederatedWorldOptions {
  /** The user-assigned identities in the subscription. */
  readonly identities: readonly { readonly id: string; readonly clientId: string }[];
  /** Federated identity credential write latency and propagation delay at the fakes (ms). */
  readonly ficWriteLatencyMs: number;
  readonly ficPropagationMs: number;
}

/** The running world. */
export interface FederatedWorld {
  readonly cluster: EmbeddedCluster;
  readonly azure: AzureCloud;
  readonly core: CoreV1Api;
  readonly kubeconfig: string;
  readonly mic: RunningProcess;
  readonly nmi: RunningProcess;
  /** NMI's token port on 127.0.0.1. */
  readonly nmiPort: number;
  readonly kubelet: SimulatedKubelet;
  /** What the kubelet did, with when (ms since the epoch). */
  readonly kubeletEvents: readonly (KubeletEvent & { readonly atMs: number })[];
  /** Calls `listener` for every later kubelet event. */
  onKubeletEvent(listener: (event: KubeletEvent & { readonly atMs: number }) => void): void;
  /** The loopback source address of pod `name` (127.0.0.x, stable per name). */
  podIp(name: string): string;
  stop(): Promise<void>;
}

/** Starts the world; stops what it started when a step fails. */
export async function startFederatedWorld(options: FederatedWorldOptions): Promise<FederatedWorld> {
  const dir = await mkdtemp(join(tmpdir(), "podid-federated-"));
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ca = TestCertificateAuthority.fromEnvironment();
    const kubeconfig = join(dir, "kubeconfig");
    const cluster = await startEmbeddedCluster({ kubeconfigPath: kubeconfig, manifests: [CRDS], serverTls: { ...(await ca.issueServerCertificate()), ca: ca.certPem } });
    stops.push(() => cluster.stop());
    const azure = await startAzureCloud({
      ca,
      scaleSet: SCALE_SET,
      identities: options.identities,
      servicePrincipal: SERVICE_PRINCIPAL,
      patchLatencyMs: 200,
      federated: { writeLatencyMs: options.ficWriteLatencyMs, propagationDelayMs: options.ficPropagationMs },
    });
    stops.push(() => azure.stop());
    const azureJson = join(dir, "azure.json");
    await azure.writeAzureJson(azureJson);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNode({
      body: {
        metadata: { name: NODE, labels: { "kubernetes.io/os": "linux" } },
        spec: { providerID: `azure:///subscriptions/${SUBSCRIPTION}/resourceGroups/${SCALE_SET.resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${SCALE_SET.name}/virtualMachines/0` },
      },
    });

    const env = { ...ca.childEnvironment(), KUBECONFIG: kubeconfig };
    const micProbe = await freePort();
    const mic = await spawnDeployable(
      "podid-mic",
      MIC_MAIN,
      [
        `--kubeconfig=${kubeconfig}`,
        `--cloudconfig=${azureJson}`,
        `--http-probe-port=${micProbe}`,
        `--prometheus-port=${await freePort()}`,
        "--leader-election-namespace=default",
        "--leader-election-duration=2s",
        "--batch-window=200ms",
        "--arm-poll-interval=200ms",
        "--listen-address=127.0.0.1",
        `--service-account-issuer=${cluster.kubeApiServer.serviceAccountIssuer}`,
      ],
      env,
      `http://127.0.0.1:${micProbe}/healthz`,
    );
    stops.push(() => mic.stop());
    const kubeletRoot = join(dir, "kubelet");
    const nmiPort = await freePort();
    const nmiProbe = await freePort();
    const nmi = await spawnDeployable(
      "podid-nmi",
      NMI_MAIN,
      [
        ...loopbackNmiArgs({ node: NODE, kubeconfig, port: nmiPort, probePort: nmiProbe, metricsPort: await freePort(), imdsPort: new URL(azure.imds.url).port }),
        `--kubelet-pods-dir=${join(kubeletRoot, "pods")}`,
      ],
      env,
      `http://127.0.0.1:${nmiProbe}/readyz`,
    );
    stops.push(() => nmi.stop());

    const ips = new Map<string, string>();
    const podIp = (name: string): string => {
      let ip = ips.get(name);
      if (ip === undefined) {
        ip = `127.0.${Math.floor((ips.size + 20) / 250)}.${((ips.size + 20) % 250) + 2}`;
        ips.set(name, ip);
      }
      return ip;
    };
    const kubeletEvents: (KubeletEvent & { readonly atMs: number })[] = [];
    const listeners: ((event: KubeletEvent & { readonly atMs: number }) => void)[] = [];
    const kubelet = await SimulatedKubelet.start({
      nodeName: NODE,
      core,
      rootDir: kubeletRoot,
      flexVolumeDrivers: {},
      podIp: (pod: V1Pod) => podIp(pod.metadata?.name ?? ""),
      pollIntervalMs: 50,
      onEvent: (event) => {
        const stamped = { ...event, atMs: Date.now() };
        kubeletEvents.push(stamped);
        for (const listener of listeners) listener(stamped);
      },
    });
    stops.push(() => kubelet.stop());
    return { cluster, azure, core, kubeconfig, mic, nmi, nmiPort, kubelet, kubeletEvents, onKubeletEvent: (l) => listeners.push(l), podIp, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Polls `check` every 50 ms until it holds, or throws naming `what` after `timeoutMs` (this world's steps take up to 30 s). */
export function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  return pollUntil(what, check, { timeoutMs });
}
