import { KubeClient, KubeEventRecorder, KubeInformerReader, kubeConfigSourceFrom, loadKubeConfig } from "@podid/adapter-k8s";
import { AzureTokenSource, metadataEndpoint } from "@podid/adapter-azure";
import { IptablesNetfilter } from "@podid/adapter-iptables";
import { ok, type LoggerPort, type NetfilterPort } from "@podid/core";
import type { NmiAdapters, NmiKubeReader } from "./compose-nmi.js";

/**
 * The adapters of the deployable: adapter-k8s informers scoped to this node (pods by `spec.nodeName`,
 * AzureAssignedIdentities by the `nodename` label when `--enableScaleFeatures`), adapter-azure's token
 * source asking IMDS at `--metadata-ip:--metadata-port` (and AAD for service principals), and
 * adapter-iptables' fail-closed interception (or none, for the demo).
 */
export function productionAdapters(): NmiAdapters {
  return {
    kubeReader: ({ config, logger }): NmiKubeReader => {
      const kubeConfig = loadKubeConfig(kubeConfigSourceFrom(config.kubeconfig === undefined ? {} : { kubeconfigPath: config.kubeconfig }));
      const client = new KubeClient({ kubeConfig, qps: 50, burst: 100, userAgent: "podid-nmi" });
      const reader = new KubeInformerReader({
        client,
        podNodeName: config.nodeName,
        ...(config.enableScaleFeatures ? { assignedIdentityNodeName: config.nodeName } : {}),
        events: new KubeEventRecorder({ client }),
        logger,
      });
      // NMI's start() must resolve only once the caches are synced (the original blocked on informer sync).
      const startInformers = reader.start.bind(reader);
      const stopInformers = reader.stop.bind(reader);
      return Object.assign(reader, {
        start: async () => {
          startInformers();
          await reader.whenSynced();
        },
        stop: () => stopInformers(),
      });
    },
    tokenSource: ({ config }) => new AzureTokenSource({ imds: { endpoint: metadataEndpoint(config.metadataAddress, config.metadataPort) } }),
    netfilter: ({ config, logger }) =>
      config.interception === "none" ? disabledInterception(logger) : new IptablesNetfilter({ flushConntrack: config.enableConntrackDeletion, logger }),
  };
}

/**
 * `--interception=none`: a NetfilterPort that installs nothing and reports itself intact, for the demo and
 * development, where pods call NMI directly (`AZURE_POD_IDENTITY_AUTHORITY_HOST`) and nothing stops them
 * from reaching the metadata address. Never for a node: it says so loudly at start.
 */
function disabledInterception(logger: LoggerPort): NetfilterPort {
  let warned = false;
  const intact = () => ok({ intact: true, drift: [] });
  return {
    ensure: async () => {
      if (!warned) {
        warned = true;
        logger.warn({}, "interception disabled (--interception=none): pods can reach the metadata address directly; demo and development only");
      }
      return intact();
    },
    inspect: async () => intact(),
    release: async () => ok(undefined),
  };
}
