import { KubeConfig } from "@kubernetes/client-node";

/**
 * Where the Kubernetes connection settings come from.
 * - `file`: a kubeconfig file (MIC/NMI `--kubeconfig`);
 * - `inCluster`: the pod's service account (`KUBERNETES_SERVICE_HOST`/`_PORT`, the mounted token and CA;
 *   the token file is re-read when it expires, so bound-token rotation works);
 * - `yaml`: kubeconfig text (tests, the demo's embedded cluster);
 * - `default`: `KubeConfig.loadFromDefault` — `$KUBECONFIG` (merged list), then `~/.kube/config`, then
 *   in-cluster, then `http://localhost:8080`.
 */
export type KubeConfigSource =
  | { readonly kind: "file"; readonly path: string; readonly context?: string }
  | { readonly kind: "inCluster" }
  | { readonly kind: "yaml"; readonly yaml: string; readonly context?: string }
  | { readonly kind: "default"; readonly context?: string };

/**
 * The source a MIC/NMI command line implies, like the original (`--kubeconfig` given → that file; else
 * in-cluster when running in a pod; else the `KUBECONFIG`/home default).
 */
export function kubeConfigSourceFrom(options: { readonly kubeconfigPath?: string; readonly inCluster?: boolean }): KubeConfigSource {
  if (options.kubeconfigPath !== undefined && options.kubeconfigPath !== "") return { kind: "file", path: options.kubeconfigPath };
  if (options.inCluster === true) return { kind: "inCluster" };
  return { kind: "default" };
}

/**
 * Loads a client-node `KubeConfig` from `source`. Throws what client-node throws for unreadable or
 * malformed files (start-up errors the CLI reports and exits on), and `Error` when a requested context
 * does not exist or the configuration names no current cluster.
 */
export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const kc = new KubeConfig();
  switch (source.kind) {
    case "file":
      kc.loadFromFile(source.path);
      break;
    case "inCluster":
      kc.loadFromCluster();
      break;
    case "yaml":
      kc.loadFromString(source.yaml);
      break;
    case "default":
      kc.loadFromDefault();
      break;
  }
  if (source.kind !== "inCluster" && source.context !== undefined) {
    if (kc.getContextObject(source.context) === null) throw new Error(`kubeconfig has no context named ${JSON.stringify(source.context)}`);
    kc.setCurrentContext(source.context);
  }
  if (kc.getCurrentCluster() === null) throw new Error("kubeconfig has no current cluster");
  return kc;
}
