/**
 * `podid-sim up --scenario <file>`: the embedded kube-apiserver plus every Azure fake a scenario file
 * describes, its Nodes created, and the files the real `podid-mic` and `podid-nmi` need written into one
 * directory (kubeconfig, azure.json, the custom-cloud environment file, the CA, an env file, nodes.json).
 * The workflow is described in README.md ("Simulate your own cluster").
 * @packageDocumentation
 */
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { computeTargetKey } from "@podid/core";
import type { KubeObject } from "../kube-apiserver/json.js";
import { describeScenarioProblems, nodeProviderId, type SimScenario } from "../sim-scenario/scenario.js";
import { parseScenarioYaml } from "../sim-scenario/parse-scenario.js";
import {
  envFileText,
  simAzureJson,
  simEnvironment,
  simEnvironmentFile,
  simMicArgs,
  simNodeObject,
  simNodesInfo,
  type SimFiles,
} from "../sim-scenario/scenario-outputs.js";
import { startScenarioCloud, type ScenarioCloud } from "../sim-scenario/start-scenario-cloud.js";
import type { FakeKeyVault } from "../azure/key-vault/fake-key-vault.js";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { startEmbeddedCluster, type EmbeddedCluster } from "./embedded-cluster.js";

/** Options of {@link startScenarioSimulation} (the `up` flags). */
export interface ScenarioUpOptions {
  readonly scenario: string;
  /** Directory for the written files (created; default: a new temporary directory). */
  readonly out?: string;
  /** Kubeconfig path (default `<out>/kubeconfig`). */
  readonly kubeconfig?: string;
  readonly port: number;
  readonly host: string;
  readonly token?: string;
  readonly tls?: boolean;
  /** Manifests applied before the scenario's own (podid's CRDs). */
  readonly crds?: readonly string[];
  readonly namespace?: string;
}

/** A running simulation. */
export interface ScenarioSimulation {
  readonly scenario: SimScenario;
  readonly files: SimFiles;
  readonly cluster: EmbeddedCluster;
  readonly cloud: ScenarioCloud;
  stop(): Promise<void>;
}

/** Thrown for problems the user must fix (bad file, bad scenario): printed without a stack trace. */
export class ScenarioInputError extends Error {}

/** How often new ARM requests are printed. */
const ARM_LOG_INTERVAL_MS = 100;

/** Reads and validates the scenario file. */
export async function loadScenario(path: string): Promise<SimScenario> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ScenarioInputError(`cannot read scenario ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const parsed = parseScenarioYaml(text);
  if (!parsed.ok) throw new ScenarioInputError(describeScenarioProblems(path, parsed.error));
  return parsed.value;
}

/** Starts everything the scenario describes and writes the files; `say` receives progress lines. */
export async function startScenarioSimulation(options: ScenarioUpOptions, say: (line: string) => void): Promise<ScenarioSimulation> {
  const scenario = await loadScenario(options.scenario);
  const out = resolve(options.out ?? (await mkdtemp(join(tmpdir(), "podid-sim-"))));
  await mkdir(join(out, "ca"), { recursive: true });
  const ca = await TestCertificateAuthority.create({ dir: join(out, "ca"), commonName: `podid-sim ${scenario.name} CA` });
  const files: SimFiles = {
    kubeconfig: resolve(options.kubeconfig ?? join(out, "kubeconfig")),
    azureJson: join(out, "azure.json"),
    environmentFile: join(out, "azure-environment.json"),
    caCert: ca.certPath,
    envFile: join(out, "podid-sim.env"),
    nodesJson: join(out, "nodes.json"),
    keyVaultEnvFile: join(out, "keyvault.env"),
  };
  const scenarioDir = dirname(resolve(options.scenario));
  const manifests = [...(options.crds ?? []).map((m) => resolve(m)), ...scenario.manifests.map((m) => resolve(scenarioDir, m))];

  const cluster = await startEmbeddedCluster({
    kubeconfigPath: files.kubeconfig,
    port: options.port,
    host: options.host,
    manifests,
    ...(options.token !== undefined ? { token: options.token } : {}),
    // https with the scenario's CA (not self-signed): its service-account issuer is then one the fake AAD
    // trusts, so federated identities (type 3) can exchange pods' tokens (docs/adr/0021-federated-identities.md).
    ...(options.tls === true || options.token !== undefined
      ? { serverTls: { ...(await ca.issueServerCertificate({ hosts: [options.host, "localhost"] })), ca: ca.certPem } }
      : {}),
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
  });
  let cloud: ScenarioCloud;
  try {
    cloud = await startScenarioCloud(scenario, ca);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  let timer: NodeJS.Timeout | undefined;
  const stop = async (): Promise<void> => {
    if (timer !== undefined) clearInterval(timer);
    await cloud.stop();
    await cluster.stop();
  };
  try {
    for (const node of scenario.nodes) cluster.kubeApiServer.store.upsert(simNodeObject(node, scenario.location) as KubeObject);
    const imdsByNode = new Map(
      scenario.nodes.map((node) => {
        const server = cloud.imds.get(computeTargetKey(node.target));
        return [node.name, { address: scenario.imdsAddress, port: server?.port ?? 0 }] as const;
      }),
    );
    const endpoints = { armUrl: cloud.arm.url, aadUrl: cloud.aad.url, imdsByNode };
    const azureJson = `${JSON.stringify(simAzureJson(scenario), null, 2)}\n`;
    const environment = simEnvironment(files);
    await writeFile(files.azureJson, azureJson, { mode: 0o600 });
    await writeFile(files.environmentFile, `${JSON.stringify(simEnvironmentFile(scenario, endpoints), null, 2)}\n`);
    await writeFile(files.envFile, envFileText(environment));
    const nodesInfo = simNodesInfo(scenario, endpoints, files);
    await writeFile(files.nodesJson, `${JSON.stringify(nodesInfo, null, 2)}\n`);
    const keyVaultEnv = cloud.keyVault?.childEnvironment();
    if (keyVaultEnv !== undefined) await writeFile(files.keyVaultEnvFile, envFileText(keyVaultEnv));

    say(`scenario "${scenario.name}" from ${options.scenario}`);
    for (const component of cluster.components) for (const line of component.describe()) say(line);
    for (const a of cluster.applied) say(`${a.kind.toLowerCase()}/${a.name}${a.namespace !== undefined ? ` (${a.namespace})` : ""} ${a.action}`);
    say(`ARM on ${cloud.arm.url} (PATCH takes ${scenario.arm.patchLatencyMs} ms${scenario.arm.faults.length > 0 ? `; faults: ${scenario.arm.faults.map((f) => `${f.operation} #${f.nth} → ${f.status}`).join(", ")}` : ""}), AAD on ${cloud.aad.url}`);
    for (const target of scenario.targets) {
      const imds = cloud.imds.get(computeTargetKey(target.target));
      say(`${target.target.kind} ${target.target.name} (${target.target.resourceGroup}): IMDS on ${imds?.url ?? "?"}, identities at start: ${target.identities.length === 0 ? "none" : target.identities.map((id) => id.split("/").pop()).join(", ")}`);
    }
    for (const identity of scenario.identities) say(`identity ${identity.name}: clientID ${cloud.catalog.lookup(identity.id)?.clientId ?? "?"}, resourceID ${identity.id}`);
    for (const node of scenario.nodes) say(`node ${node.name} → ${nodeProviderId(node)}`);
    if (cloud.keyVault !== undefined) for (const line of describeKeyVaults(scenario, cloud.keyVault)) say(line);
    say(`wrote ${files.kubeconfig}, ${files.azureJson}, ${files.environmentFile}, ${files.caCert}, ${files.envFile}, ${files.nodesJson}${keyVaultEnv !== undefined ? `, ${files.keyVaultEnvFile}` : ""}`);
    say(`--- ${files.envFile}`);
    for (const line of envFileText(environment).trimEnd().split("\n")) say(line);
    say(`--- ${files.azureJson}`);
    for (const line of azureJson.trimEnd().split("\n")) say(line);
    if (keyVaultEnv !== undefined) {
      say(`--- ${files.keyVaultEnvFile} (for a Node.js program reading the vaults under their real names: set -a; . ${files.keyVaultEnvFile}; set +a)`);
      for (const line of envFileText(keyVaultEnv).trimEnd().split("\n")) say(line);
    }
    say("---");
    say(`run MIC:  set -a; . ${files.envFile}; set +a; npx podid-mic ${simMicArgs(files).join(" ")}`);
    for (const node of nodesInfo) say(`run NMI for ${node.name}:  set -a; . ${files.envFile}; set +a; npx podid-nmi ${node.nmiArgs.join(" ")}`);

    let printed = 0;
    timer = setInterval(() => {
      const log = cloud.arm.requestLog;
      for (; printed < log.length; printed++) {
        const entry = log[printed];
        if (entry === undefined || (entry.method === "GET" && entry.status < 400)) continue;
        say(`ARM ${entry.method} ${entry.path} → ${entry.status}${entry.code !== undefined ? ` ${entry.code}` : ""}`);
      }
    }, ARM_LOG_INTERVAL_MS);
    timer.unref();
    return { scenario, files, cluster, cloud, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One line per vault: its real URL, where the fake serves it, what it holds and who may read it. */
function describeKeyVaults(scenario: SimScenario, kv: FakeKeyVault): string[] {
  return scenario.keyVaults.map((vault) => {
    const names = (list: readonly string[]): string => (list.length === 0 ? "none" : list.join(", "));
    const access = vault.access.map((a) => `${a.identity} (${Object.entries(a.permissions).filter(([, p]) => (p as readonly string[]).length > 0).map(([kind, p]) => `${kind} ${(p as readonly string[]).join("/")}`).join("; ")})`);
    return `Key Vault ${kv.vaultUrl(vault.name)} served on https://${kv.endpoint} (challenge tenant ${scenario.tenantId}): secrets ${names(vault.secrets.map((s) => `${s.name}${s.versions.length > 1 ? ` [${s.versions.length} versions]` : ""}`))}; keys ${names(vault.keys)}; certificates ${names(vault.certificates.map((c) => `${c.name} (${c.format})`))}; access ${names(access)}`;
  });
}
