/**
 * The embedded cluster `podid-sim` runs: a list of components started in order and stopped in reverse.
 * Today it holds the fake kube-apiserver; the Azure fakes (ARM, IMDS, AAD) and MIC/NMI become further
 * components implementing {@link ClusterComponent}, each reporting the endpoints it serves.
 * @packageDocumentation
 */
import { readFile } from "node:fs/promises";
import { FakeKubeApiServer, type AppliedObject } from "../kube-apiserver/fake-kube-apiserver.js";
import { generateSelfSignedTls, type ServerTls } from "../kube-apiserver/self-signed-tls.js";

/** One running part of the embedded cluster. */
export interface ClusterComponent {
  /** Short name for logs (`kube-apiserver`). */
  readonly name: string;
  /** Human-readable lines describing what it serves. */
  describe(): readonly string[];
  /** Stops it; must be idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startEmbeddedCluster}. */
export interface EmbeddedClusterOptions {
  /** Where to write the kubeconfig for kubectl and clients. */
  readonly kubeconfigPath: string;
  /** kube-apiserver port (default 0: ephemeral). */
  readonly port?: number;
  /** Bind address (default 127.0.0.1). */
  readonly host?: string;
  /** Bearer token the kube-apiserver requires (implies `tls`, since kubectl sends tokens only over https). */
  readonly token?: string;
  /** Serve the kube-apiserver over https with a self-signed certificate (trusted by the written kubeconfig). */
  readonly tls?: boolean;
  /**
   * Serve https with this certificate instead (e.g. one from the run's CA, so that processes trusting that CA —
   * the fake AAD fetching the service-account issuer's discovery document — accept it); its `ca` goes into the
   * kubeconfig. Wins over `tls`.
   */
  readonly serverTls?: ServerTls;
  /** Manifest files applied at start (e.g. `deploy/crds.yaml`), in order. */
  readonly manifests?: readonly string[];
  /** Default namespace of the kubeconfig context. */
  readonly namespace?: string;
}

/** A started embedded cluster. */
export interface EmbeddedCluster {
  readonly kubeApiServer: FakeKubeApiServer;
  readonly components: readonly ClusterComponent[];
  /** What the start-up manifests did. */
  readonly applied: readonly AppliedObject[];
  /** Stops every component, last started first. */
  stop(): Promise<void>;
}

/** Starts the embedded cluster and writes its kubeconfig. Stops what it started if a later step fails. */
export async function startEmbeddedCluster(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
  const components: ClusterComponent[] = [];
  const stop = async (): Promise<void> => {
    for (const component of [...components].reverse()) await component.stop();
  };
  try {
    const useTls = options.tls === true || options.token !== undefined;
    const kubeApiServer = await FakeKubeApiServer.start({
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.serverTls !== undefined ? { tls: options.serverTls } : useTls ? { tls: await generateSelfSignedTls([options.host ?? "127.0.0.1", "localhost"]) } : {}),
    });
    components.push({
      name: "kube-apiserver",
      describe: () => [
        `kube-apiserver listening on ${kubeApiServer.url}${options.token !== undefined ? " (bearer token required)" : ""}`,
      ],
      stop: () => kubeApiServer.close(),
    });
    const applied: AppliedObject[] = [];
    for (const path of options.manifests ?? []) applied.push(...kubeApiServer.applyManifests(await readFile(path, "utf8")));
    await kubeApiServer.writeKubeconfig(options.kubeconfigPath, options.namespace !== undefined ? { namespace: options.namespace } : {});
    return { kubeApiServer, components, applied, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
