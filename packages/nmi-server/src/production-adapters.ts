import {
  KubeClient,
  KubeEventRecorder,
  KubeInformerReader,
  KubeletServiceAccountTokenReader,
  KubeSecretProviderClassReader,
  kubeConfigSourceFrom,
  loadKubeConfig,
} from "@podid/adapter-k8s";
import { AzureTokenSource, metadataEndpoint } from "@podid/adapter-azure/token-source";
import { IptablesNetfilter, NftAntiSpoofing } from "@podid/adapter-iptables";
import { ok, type LoggerPort, type NetfilterPort } from "@podid/core";
import type { NmiAdapterContext, NmiAdapters, NmiKubeReader } from "./compose-nmi.js";
import { nmiWatchScope, ScopedKubeReader } from "./nmi-watch-scope.js";

/**
 * The adapters of the deployable: adapter-k8s informers limited to what NMI reads (`nmiWatchScope`: this
 * node's pods and AzureAssignedIdentities, identities and bindings, exceptions of the exception namespaces; no
 * Nodes; SecretProviderClasses read on demand for the scoped `/host/token`), adapter-azure's token source asking IMDS at `--metadata-ip:--metadata-port` (and AAD for service
 * principals and federated identities), kubelet's pods directory (`--kubelet-pods-dir`) for the calling pod's
 * projected service-account token, and adapter-iptables' fail-closed interception (or none, for the demo).
 */
export function productionAdapters(): NmiAdapters {
  // One API client and one Event recorder per process, shared by the informers and the token path.
  let shared: { client: KubeClient; events: KubeEventRecorder } | undefined;
  const kube = (config: NmiAdapterContext["config"]) => {
    if (shared !== undefined) return shared;
    const kubeConfig = loadKubeConfig(kubeConfigSourceFrom(config.kubeconfig === undefined ? {} : { kubeconfigPath: config.kubeconfig }));
    const client = new KubeClient({ kubeConfig, qps: 50, burst: 100, userAgent: "podid-nmi" });
    return (shared = { client, events: new KubeEventRecorder({ client }) });
  };
  return {
    kubeReader: ({ config, logger }): NmiKubeReader => {
      const { client, events } = kube(config);
      const scope = nmiWatchScope(config);
      const node = new KubeInformerReader({
        client,
        resources: scope.resources,
        podNodeName: scope.podNodeName,
        // The scoped /host/token needs each pod's Key Vault volumes (docs/adr/0019-scoped-host-token.md).
        podKeyVaultVolumes: config.hostToken === "scoped",
        // Federated identities read the calling pod's projected token volume (docs/adr/0021-federated-identities.md).
        podFederatedTokenVolume: true,
        ...(scope.assignedIdentityNodeName !== undefined ? { assignedIdentityNodeName: scope.assignedIdentityNodeName } : {}),
        events,
        logger,
      });
      const exceptions = new Map(
        scope.exceptionNamespaces.map((namespace) => [
          namespace,
          new KubeInformerReader({ client, resources: ["azurepodidentityexceptions"], namespace, events, logger: logger.child({ namespace }) }),
        ]),
      );
      // NMI's start() resolves only once every cache is synced (the original blocked on informer sync).
      return new ScopedKubeReader(node, exceptions);
    },
    events: ({ config }) => kube(config).events,
    secretProviderClasses: ({ config, logger }) => new KubeSecretProviderClassReader({ client: kube(config).client, logger }),
    // The calling pod's own projected token, from kubelet's pods directory (a read-only hostPath), never TokenRequest.
    serviceAccountTokens: ({ config, clock }) => new KubeletServiceAccountTokenReader({ podsDir: config.kubeletPodsDir, now: () => clock.now() }),
    tokenSource: ({ config }) => new AzureTokenSource({ imds: { endpoint: metadataEndpoint(config.metadataAddress, config.metadataPort) } }),
    // Anti-spoofing (docs/adr/0010-anti-spoofing.md): pod IP → interface from the node, nftables drop rules.
    antiSpoofing: ({ config, logger }) => new NftAntiSpoofing({ metadataAddress: config.metadataAddress, logger }),
    netfilter: ({ config, logger }) =>
      config.interception === "none" ? disabledInterception(logger) : new IptablesNetfilter({ flushConntrack: config.enableConntrackDeletion, backend: config.iptablesBackend, logger }),
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
    guard: async () => ok(undefined),
    inspect: async () => intact(),
    release: async () => ok(undefined),
  };
}
