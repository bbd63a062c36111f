/**
 * The `podid-sim` command line (commander). `podid-sim up` starts the embedded cluster, writes a kubeconfig
 * and runs until SIGINT or SIGTERM, then stops everything and exits 0. `podid-sim demo` runs the whole
 * product (the installed MIC, an NMI per node, the Azure fakes) through one pod's identity lifecycle.
 * @packageDocumentation
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import { startEmbeddedCluster, type EmbeddedCluster } from "./embedded-cluster.js";
import { ScenarioInputError, startScenarioSimulation, type ScenarioSimulation } from "./scenario-up.js";
import { describeMissingDeployables, findDeployableBins } from "../demo/deployable-bins.js";

/** Where the CLI writes and which signals it waits for (replaceable in tests). */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Resolves with the signal name when the process should stop. */
  readonly untilSignal: () => Promise<string>;
  /** Where `demo` looks for the installed MIC, NMI and Key Vault driver packages (default: this package's own location). */
  readonly deployablesFrom?: string | URL;
}

/** Resolves on the first SIGINT or SIGTERM of this process. */
export function untilProcessSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/** podid's CRDs as this package ships them: a copy of the repository's deploy/crds.yaml (a test keeps them equal). */
const PACKAGED_CRDS = fileURLToPath(new URL("../../crds.yaml", import.meta.url));

/** This package's copies of the repository's examples/demo manifests (a test keeps them equal). */
const PACKAGED_DEMO_MANIFESTS = fileURLToPath(new URL("../../examples/demo", import.meta.url));

/** This package's copies of the repository's examples/demo-federated manifests (a test keeps them equal). */
const PACKAGED_FEDERATED_DEMO_MANIFESTS = fileURLToPath(new URL("../../examples/demo-federated", import.meta.url));

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("must be a port number (0-65535)");
  return n;
}

interface UpOptions {
  readonly kubeconfig?: string;
  readonly scenario?: string;
  readonly out?: string;
  readonly port: number;
  readonly host: string;
  readonly token?: string;
  readonly tls?: boolean;
  /** Absent: the CRDs this package ships; `false`: none (`--no-crds`). */
  readonly crds?: string[] | false;
  readonly namespace?: string;
}

async function upScenario(options: Omit<UpOptions, "crds"> & { readonly scenario: string; readonly crds: readonly string[] }, io: CliIo): Promise<void> {
  let simulation: ScenarioSimulation;
  try {
    simulation = await startScenarioSimulation(options, (line) => io.out(`podid-sim: ${line}`));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(error instanceof ScenarioInputError ? `podid-sim: ${message}` : `podid-sim: failed to start: ${message}`);
    process.exitCode = error instanceof ScenarioInputError ? 2 : 1;
    return;
  }
  io.out(`podid-sim: ready; try: kubectl --kubeconfig ${simulation.files.kubeconfig} get nodes`);
  const signal = await io.untilSignal();
  io.out(`podid-sim: ${signal} received, stopping`);
  await simulation.stop();
  io.out("podid-sim: stopped");
}

async function up(options: UpOptions, io: CliIo): Promise<void> {
  if (options.scenario !== undefined) {
    const { crds, ...rest } = options;
    return upScenario({ ...rest, scenario: options.scenario, crds: crds === false ? [] : (crds ?? [PACKAGED_CRDS]) }, io);
  }
  if (options.out !== undefined) {
    io.err("podid-sim: --out needs --scenario");
    process.exitCode = 2;
    return;
  }
  if (options.kubeconfig === undefined) {
    io.err("podid-sim: --kubeconfig <path> is required (or --scenario <file>)");
    process.exitCode = 2;
    return;
  }
  const kubeconfig = options.kubeconfig;
  let cluster: EmbeddedCluster;
  try {
    cluster = await startEmbeddedCluster({
      kubeconfigPath: kubeconfig,
      port: options.port,
      host: options.host,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.tls === true ? { tls: true } : {}),
      manifests: options.crds === false ? [] : (options.crds ?? [PACKAGED_CRDS]),
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    });
  } catch (error) {
    io.err(`podid-sim: failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    return;
  }
  for (const component of cluster.components) for (const line of component.describe()) io.out(`podid-sim: ${line}`);
  for (const a of cluster.applied) {
    io.out(`podid-sim: ${a.kind.toLowerCase()}/${a.name}${a.namespace !== undefined ? ` (${a.namespace})` : ""} ${a.action}`);
  }
  io.out(`podid-sim: kubeconfig written to ${kubeconfig}`);
  io.out(`podid-sim: ready; try: kubectl --kubeconfig ${kubeconfig} get azureidentities -A`);
  const signal = await io.untilSignal();
  io.out(`podid-sim: ${signal} received, stopping`);
  await cluster.stop();
  io.out("podid-sim: stopped");
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a whole number of milliseconds");
  return n;
}

interface DemoOptions {
  readonly kubeconfig: string;
  readonly keep?: boolean;
  readonly patchLatencyMs: number;
  readonly federated?: boolean;
  readonly ficPropagationMs: number;
  readonly ficWriteLatencyMs: number;
}

async function demo(options: DemoOptions, io: CliIo): Promise<void> {
  const bins = findDeployableBins(io.deployablesFrom ?? import.meta.url);
  if (!bins.ok) {
    io.err(describeMissingDeployables(bins.error));
    process.exitCode = 2;
    return;
  }
  try {
    const common = {
      bins: bins.value,
      crdsPath: PACKAGED_CRDS,
      kubeconfigPath: options.kubeconfig,
      keep: options.keep === true,
      patchLatencyMs: options.patchLatencyMs,
      out: io.out,
      untilStopped: async () => {
        await io.untilSignal();
      },
    };
    // Loaded only for `demo`: it pulls in @kubernetes/client-node and @azure/identity, which `up` never needs.
    if (options.federated === true) {
      const { runFederatedDemo } = await import("../demo/federated-demo.js");
      await runFederatedDemo({ ...common, manifestsDir: PACKAGED_FEDERATED_DEMO_MANIFESTS, ficPropagationMs: options.ficPropagationMs, ficWriteLatencyMs: options.ficWriteLatencyMs });
    } else {
      const { runDemo } = await import("../demo/demo.js");
      await runDemo({ ...common, manifestsDir: PACKAGED_DEMO_MANIFESTS });
    }
  } catch (error) {
    io.err(`podid-sim demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

/** Builds the `podid-sim` program. */
export function buildProgram(io: CliIo): Command {
  const program = new Command("podid-sim").description("Run podid's embedded simulation cluster on loopback.");
  program
    .command("up")
    .description(
      "Start the embedded cluster (fake kube-apiserver; with --scenario also fake ARM, AAD and IMDS and the scenario's nodes), write a kubeconfig, run until SIGINT/SIGTERM.",
    )
    .option("--kubeconfig <path>", "where to write the kubeconfig (required without --scenario; default <out>/kubeconfig)")
    .option("--scenario <file>", "scenario YAML: subscriptions, scale sets, VMs, identities, nodes, ARM latency and faults (see examples/scenarios/seed.yaml)")
    .option("--out <dir>", "with --scenario: directory for kubeconfig, azure.json, azure-environment.json, CA, podid-sim.env, nodes.json (default: a new temporary directory)")
    .option("--port <n>", "kube-apiserver port (0 = pick a free one)", port, 0)
    .option("--host <address>", "address to bind (keep it on loopback)", "127.0.0.1")
    .option("--token <token>", "require this bearer token (implies --tls: kubectl sends tokens only over https)")
    .option("--tls", "serve https with a self-signed certificate trusted by the written kubeconfig")
    .option("--crds <file...>", "manifest(s) to apply at start (default: podid's CRDs, shipped with this package)")
    .option("--no-crds", "apply no manifests at start")
    .option("--namespace <ns>", "default namespace of the kubeconfig context", "default")
    .action((options: UpOptions) => up(options, io));
  program
    .command("demo")
    .description(
      "The whole product on loopback: embedded cluster, Azure and Key Vault fakes, the installed podid-mic, a podid-nmi and a kubelet running the podid-kv FlexVolume driver per node; the tutorial's pod gets its identity, mounts its Key Vault secret at /secret1/appsecret1, gets a token, then loses it; the last line is a JSON summary. Needs @podid/mic-runner, @podid/nmi-server and @podid/kv-flexvolume installed.",
    )
    .option("--kubeconfig <path>", "where to write the kubeconfig", join(tmpdir(), "podid-demo.kubeconfig"))
    .option("--keep", "leave everything running after the token step (until SIGINT/SIGTERM)")
    .option("--patch-latency-ms <ms>", "how long the scale-set PATCH takes", milliseconds, 3_000)
    .option("--federated", "the same story with a federated identity (type 3, examples/demo-federated): a federated identity credential instead of a PATCH, NMI exchanging the pod's own service-account token")
    .option("--fic-propagation-ms <ms>", "with --federated: how long the fake AAD answers AADSTS70021 after a credential is written", milliseconds, 1_500)
    .option("--fic-write-latency-ms <ms>", "with --federated: how long a federated identity credential write takes", milliseconds, 300)
    .action((options: DemoOptions) => demo(options, io));
  return program;
}

/** Runs the CLI with `argv` (as in `process.argv`). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<void> {
  await buildProgram(io).parseAsync([...argv]);
}
