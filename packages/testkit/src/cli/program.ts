/**
 * The `podid-sim` command line (commander). `podid-sim up` starts the embedded cluster, writes a kubeconfig
 * and runs until SIGINT or SIGTERM, then stops everything and exits 0. The whole product's demo
 * (MIC, NMI per node, Azure fakes) is `npm run demo` in the repository's private harness.
 * @packageDocumentation
 */
import { Command, InvalidArgumentError } from "commander";
import { startEmbeddedCluster, type EmbeddedCluster } from "./embedded-cluster.js";

/** Where the CLI writes and which signals it waits for (replaceable in tests). */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Resolves with the signal name when the process should stop. */
  readonly untilSignal: () => Promise<string>;
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

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("must be a port number (0-65535)");
  return n;
}

interface UpOptions {
  readonly kubeconfig: string;
  readonly port: number;
  readonly host: string;
  readonly token?: string;
  readonly tls?: boolean;
  readonly crds?: string[];
  readonly namespace?: string;
}

async function up(options: UpOptions, io: CliIo): Promise<void> {
  let cluster: EmbeddedCluster;
  try {
    cluster = await startEmbeddedCluster({
      kubeconfigPath: options.kubeconfig,
      port: options.port,
      host: options.host,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.tls === true ? { tls: true } : {}),
      ...(options.crds !== undefined ? { manifests: options.crds } : {}),
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
  io.out(`podid-sim: kubeconfig written to ${options.kubeconfig}`);
  io.out(`podid-sim: ready; try: kubectl --kubeconfig ${options.kubeconfig} get azureidentities -A`);
  const signal = await io.untilSignal();
  io.out(`podid-sim: ${signal} received, stopping`);
  await cluster.stop();
  io.out("podid-sim: stopped");
}

/** Builds the `podid-sim` program. */
export function buildProgram(io: CliIo): Command {
  const program = new Command("podid-sim").description("Run podid's embedded simulation cluster on loopback.");
  program
    .command("up")
    .description("Start the embedded cluster (fake kube-apiserver), write a kubeconfig, run until SIGINT/SIGTERM.")
    .requiredOption("--kubeconfig <path>", "where to write the kubeconfig")
    .option("--port <n>", "kube-apiserver port (0 = pick a free one)", port, 0)
    .option("--host <address>", "address to bind (keep it on loopback)", "127.0.0.1")
    .option("--token <token>", "require this bearer token (implies --tls: kubectl sends tokens only over https)")
    .option("--tls", "serve https with a self-signed certificate trusted by the written kubeconfig")
    .option("--crds <file...>", "manifest(s) to apply at start, e.g. deploy/crds.yaml")
    .option("--namespace <ns>", "default namespace of the kubeconfig context", "default")
    .action((options: UpOptions) => up(options, io));
  return program;
}

/** Runs the CLI with `argv` (as in `process.argv`). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<void> {
  await buildProgram(io).parseAsync([...argv]);
}
