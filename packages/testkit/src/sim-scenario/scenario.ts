/**
 * The model of a `podid-sim` scenario file: the simulated Azure estate (subscriptions, scale sets with
 * instances, VMs, user-assigned identities and what is attached today), the Kubernetes nodes that run on it,
 * ARM latency and faults, and where the fake IMDS servers listen. The YAML format is documented in
 * packages/testkit/README.md ("Scenario files"); `parseScenario` turns raw YAML into this model.
 * @packageDocumentation
 */
import type { ComputeTarget } from "@podid/core";

/** A user-assigned managed identity that exists in a subscription. */
export interface ScenarioIdentity {
  /** Short name, as scale sets and VMs refer to it in the file. */
  readonly name: string;
  /** Its ARM id. */
  readonly id: string;
  /** Its client id; `undefined` lets the fakes derive a stable one from the id. */
  readonly clientId: string | undefined;
}

/** A scale set or a standalone VM, with what it holds when the simulation starts. */
export interface ScenarioTarget {
  readonly target: ComputeTarget;
  readonly systemAssigned: boolean;
  /** ARM ids of the user-assigned identities attached at start. */
  readonly identities: readonly string[];
  /** Instance ids of a scale set (empty for a VM). */
  readonly instances: readonly string[];
  /** Port of this target's fake IMDS (0: any free port). */
  readonly imdsPort: number;
}

/** A Kubernetes node and the VM or scale-set instance it runs on. */
export interface ScenarioNode {
  readonly name: string;
  readonly target: ComputeTarget;
  /** The scale-set instance id; `undefined` for a standalone VM. */
  readonly instance: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

/** ARM operations a fault can be injected into (the fake ARM's names). */
export const SCENARIO_FAULT_OPERATIONS = ["vmssPatch", "vmPatch", "vmssGet", "vmGet", "identityGet"] as const;

/** One of {@link SCENARIO_FAULT_OPERATIONS}. */
export type ScenarioFaultOperation = (typeof SCENARIO_FAULT_OPERATIONS)[number];

/** An error ARM answers for the `nth` request of `operation` (counted over the whole run, from 1). */
export interface ScenarioArmFault {
  readonly operation: ScenarioFaultOperation;
  readonly nth: number;
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** `Retry-After` in seconds (`undefined`: no header). */
  readonly retryAfterSeconds: number | undefined;
}

/** The service principal MIC signs in with; the fake AAD knows it. */
export interface ScenarioServicePrincipal {
  readonly clientId: string;
  readonly secret: string;
}

/** Permissions of a Key Vault access policy entry, per object kind (those the FakeKeyVault serves). */
export interface ScenarioKeyVaultPermissions {
  readonly secrets: readonly ("get" | "list" | "set")[];
  readonly keys: readonly ("get" | "list")[];
  readonly certificates: readonly ("get" | "list")[];
}

/** A secret with its versions, oldest first (the last is the one a versionless read returns). */
export interface ScenarioKeyVaultSecret {
  readonly name: string;
  readonly versions: readonly string[];
  readonly contentType: string | undefined;
}

/** A self-signed certificate; its secret holds the private part as PKCS#12 (`pfx`) or PEM. */
export interface ScenarioKeyVaultCertificate {
  readonly name: string;
  readonly format: "pfx" | "pem";
}

/** An access policy entry for one of the scenario's identities. */
export interface ScenarioKeyVaultAccess {
  /** The identity's name in the file. */
  readonly identity: string;
  /** Its ARM id (the client id is looked up in the running catalogue). */
  readonly identityId: string;
  readonly permissions: ScenarioKeyVaultPermissions;
}

/** A vault the FakeKeyVault serves at `https://<name>.vault.azure.net`. */
export interface ScenarioKeyVault {
  readonly name: string;
  readonly secrets: readonly ScenarioKeyVaultSecret[];
  /** RSA-2048 keys by name. */
  readonly keys: readonly string[];
  readonly certificates: readonly ScenarioKeyVaultCertificate[];
  readonly access: readonly ScenarioKeyVaultAccess[];
}

/** A validated scenario. */
export interface SimScenario {
  readonly name: string;
  readonly tenantId: string;
  readonly location: string;
  readonly servicePrincipal: ScenarioServicePrincipal;
  readonly identities: readonly ScenarioIdentity[];
  readonly targets: readonly ScenarioTarget[];
  readonly nodes: readonly ScenarioNode[];
  readonly arm: {
    /** How long a scale-set or VM PATCH runs before ARM reports it done (real ms). */
    readonly patchLatencyMs: number;
    /** Latency of a GET (real ms). */
    readonly getLatencyMs: number;
    readonly faults: readonly ScenarioArmFault[];
  };
  /** Address every fake IMDS binds. */
  readonly imdsAddress: string;
  /** Key vaults the FakeKeyVault serves (none: no FakeKeyVault is started). */
  readonly keyVaults: readonly ScenarioKeyVault[];
  /** Manifests applied to the apiserver at start, as written (relative to the scenario file). */
  readonly manifests: readonly string[];
}

/** One thing wrong with a scenario file: where (`subscriptions[0].scaleSets[1].name`) and what. */
export interface ScenarioProblem {
  readonly path: string;
  readonly message: string;
}

/** The `providerID` the kubelet's Azure cloud provider writes for a node on `node.target`. */
export function nodeProviderId(node: Pick<ScenarioNode, "target" | "instance">): string {
  const { subscriptionId, resourceGroup, name, kind } = node.target;
  const base = `azure:///subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute`;
  return kind === "vmss" ? `${base}/virtualMachineScaleSets/${name}/virtualMachines/${node.instance ?? ""}` : `${base}/virtualMachines/${name}`;
}

/** One line per problem, for a terminal. */
export function describeScenarioProblems(source: string, problems: readonly ScenarioProblem[]): string {
  return [`${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`, ...problems.map((p) => `  ${p.path === "" ? "(file)" : p.path}: ${p.message}`)].join("\n");
}
