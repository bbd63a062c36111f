import { KubeConfig } from "@kubernetes/client-node";
import type { KubeConfigSource } from "../client/kube-config.js";

/**
 * Loads client-node's own `KubeConfig` from `source` (`default` is `KubeConfig.loadFromDefault`), for
 * the typed client of tools. Throws what client-node throws for unreadable or
 * malformed files (start-up errors the CLI reports and exits on), and `Error` when a requested context
 * does not exist or the configuration names no current cluster.
 */
export function loadTypedKubeConfig(source: KubeConfigSource): KubeConfig {
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
