/**
 * `npm run demo`: the whole product on one machine — the embedded cluster, the Azure fakes, the real
 * `podid-mic` and one real `podid-nmi` per node as child processes — through one pod's identity lifecycle.
 * Lives in the private harness because it starts the built deployables by path, which no published
 * package may depend on.
 * @packageDocumentation
 */
import { Command, InvalidArgumentError } from "commander";
import { fileURLToPath } from "node:url";
import { runDemo } from "./demo.js";

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number of milliseconds");
  return n;
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => resolve(signal);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

const program = new Command("demo")
  .description("Embedded cluster + real MIC + NMI per node: one pod gets its identity, a token, then loses it.")
  .option("--kubeconfig <path>", "where to write the kubeconfig", "/tmp/podid-demo.kubeconfig")
  .option("--keep", "leave everything running after the token step (until SIGINT/SIGTERM)")
  .option("--patch-latency-ms <ms>", "how long the scale-set PATCH takes", milliseconds, 3_000)
  .action(async (options: { kubeconfig: string; keep?: boolean; patchLatencyMs: number }) => {
    await runDemo({
      repoRoot: fileURLToPath(new URL("../../../", import.meta.url)),
      kubeconfigPath: options.kubeconfig,
      keep: options.keep === true,
      patchLatencyMs: options.patchLatencyMs,
      out: (line) => process.stdout.write(`${line}\n`),
      untilStopped: async () => {
        await untilSignal();
      },
    });
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
