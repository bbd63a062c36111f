/**
 * What `podid-sim up --scenario` hands to the real daemons, as pure functions of the scenario and the
 * endpoints the fakes got: the `azure.json` MIC reads, the go-autorest environment file that describes
 * the simulated cloud, the env file, and each daemon's command line. The fields follow the custom-cloud
 * support described in README.md ("Custom clouds").
 * @packageDocumentation
 */
import { nodeProviderId, type ScenarioNode, type SimScenario } from "./scenario.js";

/** Where the running fakes and the written files are. */
export interface SimEndpoints {
  /** Fake ARM's base URL (https). */
  readonly armUrl: string;
  /** Fake AAD's authority host (https). */
  readonly aadUrl: string;
  /** IMDS of each node's VM or scale set. */
  readonly imdsByNode: ReadonlyMap<string, { readonly address: string; readonly port: number }>;
}

/** Paths of the files `podid-sim up --scenario` writes into its out directory. */
export interface SimFiles {
  readonly kubeconfig: string;
  readonly azureJson: string;
  readonly environmentFile: string;
  readonly caCert: string;
  readonly envFile: string;
  readonly nodesJson: string;
  /**
   * Environment for programs that read the scenario's key vaults (`NODE_OPTIONS` with the loopback-hosts
   * preload, `PODID_TESTKIT_HOSTS`, `NODE_EXTRA_CA_CERTS`); written only when the scenario lists key vaults.
   */
  readonly keyVaultEnvFile: string;
}

/**
 * The cloud name written to `azure.json`: any name that is not a built-in cloud makes MIC read the
 * endpoints from `AZURE_ENVIRONMENT_FILEPATH`, exactly as for Azure Stack.
 */
export const SIM_CLOUD_NAME = "AzureStackCloud";

/** `azure.json` for MIC: the service principal, the first subscription and group, the custom cloud. */
export function simAzureJson(scenario: SimScenario): Record<string, string | boolean> {
  const first = scenario.targets[0]?.target;
  return {
    cloud: SIM_CLOUD_NAME,
    tenantId: scenario.tenantId,
    aadClientId: scenario.servicePrincipal.clientId,
    aadClientSecret: scenario.servicePrincipal.secret,
    subscriptionId: first?.subscriptionId ?? "",
    resourceGroup: first?.resourceGroup ?? "",
    location: scenario.location,
    vmType: scenario.targets.some((t) => t.target.kind === "vmss") ? "vmss" : "standard",
    useManagedIdentityExtension: false,
  };
}

/** The go-autorest environment file (JSON) naming the fakes as the cloud's ARM and AAD. */
export function simEnvironmentFile(scenario: SimScenario, endpoints: Pick<SimEndpoints, "armUrl" | "aadUrl">): Record<string, string> {
  const arm = `${endpoints.armUrl.replace(/\/+$/, "")}/`;
  return {
    name: `podid-sim ${scenario.name}`,
    resourceManagerEndpoint: arm,
    activeDirectoryEndpoint: `${endpoints.aadUrl.replace(/\/+$/, "")}/`,
    // The audience ARM tokens are requested for; the fake ARM accepts any, a real Azure Stack its own.
    tokenAudience: arm,
    serviceManagementEndpoint: arm,
  };
}

/** The environment both daemons need: where the kubeconfig, the cloud description and the CA are. */
export function simEnvironment(files: SimFiles): Record<string, string> {
  return {
    KUBECONFIG: files.kubeconfig,
    AZURE_ENVIRONMENT_FILEPATH: files.environmentFile,
    // Node.js adds these certificates to its trust store at start-up (the fakes' per-run CA).
    NODE_EXTRA_CA_CERTS: files.caCert,
  };
}

/** `KEY=value` lines that both `set -a; . file` in a shell and `docker --env-file` read. */
export function envFileText(variables: Readonly<Record<string, string>>): string {
  return Object.entries(variables)
    .map(([key, value]) => {
      if (/[\n\r]/.test(value)) throw new Error(`environment value of ${key} spans lines`);
      return `${key}=${value}`;
    })
    .join("\n")
    .concat("\n");
}

/** MIC's command line against the simulation (short batch window and lease so changes show quickly). */
export function simMicArgs(files: Pick<SimFiles, "kubeconfig" | "azureJson">): string[] {
  return [
    `--kubeconfig=${files.kubeconfig}`,
    `--cloudconfig=${files.azureJson}`,
    "--leader-election-namespace=default",
    "--leader-election-duration=2s",
    "--batch-window=200ms",
    "--arm-poll-interval=200ms",
    "--listen-address=127.0.0.1",
  ];
}

/**
 * NMI's command line for the `index`th node: no interception (pods call NMI's port directly; there is no
 * node network to redirect), the node's fake IMDS as the metadata endpoint, and ports shifted by `index`
 * so that one NMI per node fits on one machine. The simulated node has no kubelet file to check for kubenet.
 */
export function simNmiArgs(node: string, index: number, imds: { readonly address: string; readonly port: number }, files: Pick<SimFiles, "kubeconfig">): string[] {
  return [
    `--node=${node}`,
    `--kubeconfig=${files.kubeconfig}`,
    "--interception=none",
    `--metadata-ip=${imds.address}`,
    `--metadata-port=${imds.port}`,
    "--nmi-listen-address=127.0.0.1",
    `--nmi-port=${2579 + index}`,
    "--probe-listen-address=127.0.0.1",
    `--http-probe-port=${8085 + index}`,
    `--prometheus-port=${9090 + index}`,
    "--allow-network-plugin-kubenet",
  ];
}

/** The Node object the simulation creates for `node`. */
export function simNodeObject(node: ScenarioNode, location: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: node.name,
      labels: { "kubernetes.io/os": "linux", "kubernetes.io/hostname": node.name, "topology.kubernetes.io/region": location, ...node.labels },
    },
    spec: { providerID: nodeProviderId(node) },
    status: { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "simulated by podid-sim" }] },
  };
}

/** One entry of `nodes.json`: a node, its providerID, its IMDS and the NMI command line for it. */
export interface SimNodeInfo {
  readonly name: string;
  readonly providerID: string;
  readonly imds: { readonly address: string; readonly port: number };
  readonly nmiArgs: readonly string[];
}

/** `nodes.json`'s content. */
export function simNodesInfo(scenario: SimScenario, endpoints: SimEndpoints, files: Pick<SimFiles, "kubeconfig">): SimNodeInfo[] {
  return scenario.nodes.map((node, index) => {
    const imds = endpoints.imdsByNode.get(node.name) ?? { address: scenario.imdsAddress, port: 0 };
    return { name: node.name, providerID: nodeProviderId(node), imds, nmiArgs: simNmiArgs(node.name, index, imds, files) };
  });
}
