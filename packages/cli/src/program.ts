/**
 * The `podid` command line (commander), shared by the `podid` and `kubectl-podid` entry points:
 *
 * - `podid explain pod <name>` / `podid explain identity <name>` against a live cluster;
 * - `podid plan -f <files|dirs|->…` offline.
 *
 * Everything the program touches from the outside (output, working directory, stdin, clock, environment,
 * the ARM client) comes in through {@link PodidDeps}, so tests run it in-process.
 * @packageDocumentation
 */
import { ArmComputeAdapter, armClientSettings, createArmCredential, describeAzureConfigError, loadAzureConfig } from "@podid/adapter-azure";
import type { ComputePort } from "@podid/core";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CliError, EXIT_CODE, formatCliError, type CliIo, type ExitCode } from "./cli-io.js";
import { readIdentityReadout, readPodReadout } from "./explain/cluster-reader.js";
import { explainIdentity } from "./explain/explain-identity.js";
import { explainPod, type ExplainOptions } from "./explain/explain-pod.js";
import { openKubeAccess, type KubeAccess } from "./explain/kube-access.js";
import { renderIdentityExplanation, renderPodExplanation } from "./explain/render-explanation.js";
import { loadManifests } from "./manifests/load-manifests.js";
import { readManifestObjects } from "./manifests/manifest-objects.js";
import { explanationHasProblems, VERDICT_SEVERITY } from "./explain/verdict-severity.js";
import { buildOfflinePlan, planHasFindings } from "./plan/offline-plan.js";
import { renderPlan } from "./plan/render-plan.js";
import { PODID_CLI_VERSION } from "./version.js";

/** The verdict kinds `explain` exits 0 with, for `--help`. */
const NOT_PROBLEMS = Object.entries(VERDICT_SEVERITY).filter(([, severity]) => severity !== "problem").map(([kind]) => kind);

/** What the program needs from its surroundings. */
export interface PodidDeps {
  readonly io: CliIo;
  /** Directory relative `-f` paths are resolved against. */
  readonly cwd: string;
  /** Reads all of standard input (`-f -`). */
  readonly readStdin: () => Promise<string>;
  /** Milliseconds since the epoch (ages of AzureAssignedIdentities, quarantine periods). */
  readonly now: () => number;
  /** Environment (for `AZURE_ENVIRONMENT_FILEPATH` next to `--cloudconfig`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Builds the ARM compute reader for `--cloudconfig <azure.json>` (default: adapter-azure's ARM client). */
  readonly openCompute?: (cloudconfigPath: string) => Promise<ComputePort>;
}

/** The production ARM reader: `azure.json` → credential → `ArmComputeAdapter` (reads only). */
export async function openArmCompute(cloudconfigPath: string, env: Readonly<Record<string, string | undefined>>): Promise<ComputePort> {
  const loaded = await loadAzureConfig({ path: cloudconfigPath, env });
  if (!loaded.ok) throw new CliError(`cannot use --cloudconfig ${cloudconfigPath}: ${describeAzureConfigError(loaded.error)}`, { hint: "pass the cluster's azure.json (as MIC's --cloudconfig)" });
  const config = loaded.value;
  return new ArmComputeAdapter({ ...armClientSettings(config, { maxRetries: 1 }), credential: createArmCredential(config), userAgentPrefix: "podid-cli", operationTimeoutMs: 60_000 });
}

interface ClusterFlags {
  readonly namespace?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly output: "text" | "json";
  readonly cloudconfig?: string;
  readonly forceNamespaced?: boolean;
  readonly mode: "standard" | "managed";
  readonly micNamespace: string;
}

interface PlanFlags {
  readonly filename: string[];
  readonly namespace: string;
  readonly output: "text" | "json";
  readonly forceNamespaced?: boolean;
  readonly immutable: string[];
  readonly clusterIdentity?: string;
  readonly quarantined: string[];
  readonly assumeNode?: string;
}

function outputFormat(value: string): "text" | "json" {
  if (value === "json" || value === "text") return value;
  throw new InvalidArgumentError("must be text or json");
}

function operationMode(value: string): "standard" | "managed" {
  if (value === "standard" || value === "managed") return value;
  throw new InvalidArgumentError("must be standard or managed");
}

/** Comma-separated and repeatable list options (`--immutable a,b --immutable c`). */
function collectList(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(",").map((v) => v.trim()).filter((v) => v !== "")];
}

function clusterOptions(command: Command): Command {
  return command
    .option("-n, --namespace <namespace>", "namespace (default: the kubeconfig context's, else default)")
    .option("--kubeconfig <file>", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    .option("--context <name>", "kubeconfig context to use")
    .option("-o, --output <format>", "text or json", outputFormat, "text")
    .option("--cloudconfig <azure.json>", "read the VM/VMSS identities from ARM with this cloud config (as MIC's --cloudconfig)")
    .option("--force-namespaced", "MIC/NMI run with --forceNamespaced (pod, binding and identity must share a namespace)")
    .addOption(new Option("--forceNamespaced", "alias of --force-namespaced (the original's flag spelling)").hideHelp())
    .option("--mode <mode>", "NMI operation mode: standard or managed", operationMode, "standard")
    .option("--mic-namespace <namespace>", "namespace podid's MIC runs in (for hints)", "podid-system");
}

/** Builds the program. `name` is `podid` or, for the kubectl plugin, `kubectl podid`. */
export function buildPodidProgram(deps: PodidDeps, name: string, setExit: (code: ExitCode) => void): Command {
  const { io } = deps;
  const program = new Command(name)
    .description("Explain podid's identity decisions for a live cluster, and preview MIC's changes offline.")
    .version(`podid ${PODID_CLI_VERSION}`, "--version", "print podid's version")
    .addHelpText(
      "after",
      "\nExit codes: 0 success (explain: no verdict is a problem); 1 usage, input or cluster-access error;\n" +
        `2 explain: a verdict is a problem (any kind but ${NOT_PROBLEMS.join(", ")});\n` +
        "plan: invalid objects or quarantined identities.",
    )
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError("(add --help for usage)");

  const cluster = async (flags: ClusterFlags): Promise<{ access: KubeAccess; namespace: string; options: ExplainOptions; compute: ComputePort | undefined }> => {
    const access = openKubeAccess({
      ...(flags.kubeconfig === undefined ? {} : { kubeconfig: flags.kubeconfig }),
      ...(flags.context === undefined ? {} : { context: flags.context }),
    });
    const contextNamespace = access.client.kubeConfig.getContextObject(access.context)?.namespace;
    const namespace = flags.namespace ?? (contextNamespace !== undefined && contextNamespace !== "" ? contextNamespace : "default");
    const compute =
      flags.cloudconfig === undefined ? undefined : await (deps.openCompute ?? ((path: string) => openArmCompute(path, deps.env)))(flags.cloudconfig);
    return {
      access,
      namespace,
      compute,
      options: { forceNamespaced: flags.forceNamespaced === true, mode: flags.mode, nowMs: deps.now(), micNamespace: flags.micNamespace },
    };
  };

  const explain = program.command("explain").description("Why does a pod (not) get an identity? Who uses an identity?");
  clusterOptions(
    explain
      .command("pod")
      .argument("<name>", "pod name")
      .description("Explain which identities a pod gets, which it nearly gets, and the fix for each one that it does not. Exit code 2 when a verdict is a problem."),
  ).action(async (podName: string, flags: ClusterFlags) => {
    const { access, namespace, options, compute } = await cluster(flags);
    const readout = await readPodReadout(access, namespace, podName, compute);
    const explanation = explainPod(readout, options);
    io.out(flags.output === "json" ? `${JSON.stringify(explanation, null, 2)}\n` : renderPodExplanation(explanation));
    setExit(explanationHasProblems(explanation) ? EXIT_CODE.findings : EXIT_CODE.ok);
  });
  clusterOptions(
    explain
      .command("identity")
      .argument("<name>", "AzureIdentity name")
      .description("Explain which pods use an AzureIdentity, on which nodes and VMs/VMSS, and in which state. Exit code 2 when a verdict is a problem."),
  ).action(async (identityName: string, flags: ClusterFlags) => {
    const { access, namespace, options, compute } = await cluster(flags);
    const readout = await readIdentityReadout(access, namespace, identityName, compute);
    const explanation = explainIdentity(readout, options);
    io.out(flags.output === "json" ? `${JSON.stringify(explanation, null, 2)}\n` : renderIdentityExplanation(explanation));
    setExit(explanationHasProblems(explanation) ? EXIT_CODE.findings : EXIT_CODE.ok);
  });

  program
    .command("plan")
    .description(
      "Offline: print the AzureAssignedIdentities MIC would create/update/delete and the exact ARM PATCH bodies per VM/VMSS " +
        "for the given manifests. Exit code 2 when the plan has invalid objects or quarantined identities.",
    )
    .requiredOption("-f, --filename <path...>", "manifest files or directories (*.yaml, *.yml, *.json), or - for stdin")
    .option("-n, --namespace <namespace>", "namespace of objects that name none", "default")
    .option("-o, --output <format>", "text or json", outputFormat, "text")
    .option("--force-namespaced", "plan as MIC with --forceNamespaced")
    .addOption(new Option("--forceNamespaced", "alias of --force-namespaced (the original's flag spelling)").hideHelp())
    .option("--immutable <ids>", "identities never detached (MIC's --immutable-user-msis: client ids or resource ids; comma-separated, repeatable)", collectList, [])
    .option("--cluster-identity <id>", "the cluster (kubelet) identity from azure.json, implicitly immutable")
    .option("--quarantined <ids>", "identity resource ids to treat as refused by ARM (held back; exit code 2)", collectList, [])
    .option("--assume-node <node>", "plan pods that have no spec.nodeName as if scheduled on this node")
    .action(async (flags: PlanFlags) => {
      const entries = await loadManifests(flags.filename, { cwd: deps.cwd, readStdin: deps.readStdin });
      const objects = readManifestObjects(entries, { defaultNamespace: flags.namespace });
      const plan = buildOfflinePlan(objects, {
        forceNamespaced: flags.forceNamespaced === true,
        immutableIdentities: flags.immutable,
        ...(flags.clusterIdentity === undefined ? {} : { clusterIdentity: flags.clusterIdentity }),
        quarantined: flags.quarantined,
        ...(flags.assumeNode === undefined ? {} : { assumeNode: flags.assumeNode }),
        nowMs: deps.now(),
      });
      io.out(flags.output === "json" ? `${JSON.stringify(plan, null, 2)}\n` : renderPlan(plan));
      setExit(planHasFindings(plan) ? EXIT_CODE.findings : EXIT_CODE.ok);
    });
  return program;
}

/**
 * Runs the program on `argv` (the arguments after the executable) and returns the exit code: 0, 1 for
 * usage/IO/cluster errors (printed as `podid: <message>` plus a `→ <hint>` line), 2 for plans with findings
 * and for explanations with a problem verdict.
 */
export async function runPodid(argv: readonly string[], deps: PodidDeps, name = "podid"): Promise<ExitCode> {
  let code: ExitCode = EXIT_CODE.ok;
  const program = buildPodidProgram(deps, name, (c) => (code = c));
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_CODE.ok : EXIT_CODE.error;
    if (error instanceof CliError) {
      deps.io.err(formatCliError(name, error));
      return error.exitCode;
    }
    deps.io.err(`${name}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_CODE.error;
  }
}
