/**
 * How `podid-sim demo` runs each part: MIC's and NMI's flags (loopback, short timings so the timeline moves
 * quickly) and the pod's token request through @azure/identity.
 * @packageDocumentation
 */
import { Agent } from "node:http";
import { createDefaultHttpClient, type HttpClient } from "@azure/core-rest-pipeline";

/** MIC flags for the demo: short lease and batch window so the timeline moves quickly. */
export function micArgs(o: { kubeconfig: string; cloudconfig: string; probePort: number; metricsPort: number }): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    `--cloudconfig=${o.cloudconfig}`,
    `--http-probe-port=${o.probePort}`,
    `--prometheus-port=${o.metricsPort}`,
    "--leader-election-namespace=default",
    "--leader-election-duration=2s",
    "--batch-window=200ms",
    "--arm-poll-interval=200ms",
    "--listen-address=127.0.0.1",
  ];
}

/** Where a {@link loopbackNmiArgs} NMI listens and what it talks to. */
export interface LoopbackNmiEndpoints {
  readonly node: string;
  readonly kubeconfig: string;
  /** Token server port on 127.0.0.1 (`/host/token` callers and pods that call NMI directly). */
  readonly port: number;
  readonly probePort: number;
  readonly metricsPort: number;
  /** Port of the fake IMDS on 127.0.0.1. */
  readonly imdsPort: number | string;
}

/**
 * `podid-nmi` flags for one node of a cluster simulated on loopback (the demo's, the harness's process tests and
 * benches): everything on 127.0.0.1, no interception (pods call NMI directly; there is no node network to
 * redirect), metadata = the fake IMDS, and no kubelet file to check for kubenet.
 */
export function loopbackNmiArgs(o: LoopbackNmiEndpoints): string[] {
  return [
    `--node=${o.node}`,
    `--kubeconfig=${o.kubeconfig}`,
    "--nmi-listen-address=127.0.0.1",
    `--nmi-port=${o.port}`,
    "--metadata-ip=127.0.0.1",
    `--metadata-port=${String(o.imdsPort)}`,
    `--http-probe-port=${o.probePort}`,
    `--prometheus-port=${o.metricsPort}`,
    "--probe-listen-address=127.0.0.1",
    "--interception=none",
    "--allow-network-plugin-kubenet",
  ];
}

/**
 * Environment of the `podid-kv` driver process on one node: the node's NMI port (the driver calls
 * `127.0.0.1:<port>/host/token/`), the fake Key Vault reachable under its real host name (`vaultEnvironment`,
 * FakeKeyVault's `childEnvironment()`), no tmpfs (the demo runs unprivileged; the secret lands in the demo's
 * temporary directory), and a 1 s token retry instead of the original's 7 s so the timeline moves quickly.
 */
export function kvDriverEnvironment(vaultEnvironment: Readonly<Record<string, string>>, nmiPort: number): Record<string, string> {
  return { ...vaultEnvironment, PODID_NMI_PORT: String(nmiPort), PODID_KV_TMPFS: "false", PODID_KV_TOKEN_RETRY_MS: "1000" };
}

/**
 * What the pod does: @azure/identity's ManagedIdentityCredential pointed at its node's NMI (the
 * `AZURE_POD_IDENTITY_AUTHORITY_HOST` pod-identity endpoint), its connections leaving from the pod's IP.
 */
export async function podGetsToken(nmiUrl: string, podIp: string): Promise<string> {
  const { ManagedIdentityCredential } = await loadPodIdentitySdk(nmiUrl);
  const base = createDefaultHttpClient();
  const agent = new Agent({ localAddress: podIp, keepAlive: false });
  const httpClient: HttpClient = { sendRequest: (request) => base.sendRequest(Object.assign(request, { agent })) };
  const credential = new ManagedIdentityCredential({ httpClient, retryOptions: { maxRetries: 1 } });
  const token = await credential.getToken("https://vault.azure.net/.default");
  return token.token;
}

/**
 * Loads @azure/identity for an app whose pod-identity endpoint is `nmiUrl`, as {@link podGetsToken} uses it (an
 * app that is already running has its SDK loaded when it asks for a token).
 */
export async function loadPodIdentitySdk(nmiUrl: string): Promise<typeof import("@azure/identity")> {
  process.env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = nmiUrl;
  // Imported only now: the SDK reads AZURE_POD_IDENTITY_AUTHORITY_HOST when its module loads.
  return import("@azure/identity");
}
