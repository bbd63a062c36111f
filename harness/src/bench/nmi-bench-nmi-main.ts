/**
 * The "every request decided" NMI of `npm run bench:nmi`: the deployable's own composition
 * (`composeNmi` with `productionAdapters`: informers against the benchmark's fake kube-apiserver, the IMDS
 * token source, production logging and metrics) from the same flags as `podid-nmi`, with one difference —
 * `memoiseDecisions: false`, so core decides every token request from scratch (attribution, exceptions,
 * identity choice) while the token cache, the per-pod limit and the audit record run as shipped. NMI has no
 * flag for that switch on purpose: it exists for this benchmark and the differential tests
 * (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md). Exits 0 on SIGTERM.
 * @packageDocumentation
 */
import { composeNmi, defineNmiConfig, parseNmiFlags, productionAdapters } from "@podid/nmi-server";

async function main(): Promise<void> {
  const parsed = parseNmiFlags(process.argv.slice(2), process.env);
  if (!parsed.ok || parsed.value.kind !== "run") {
    process.stderr.write(`nmi-bench-nmi-main: ${parsed.ok ? parsed.value.kind : parsed.error.message}\n`);
    process.exit(2);
  }
  const runtime = composeNmi(defineNmiConfig({ ...parsed.value.config, memoiseDecisions: false }), productionAdapters());
  process.once("SIGTERM", () => void runtime.stop("SIGTERM").then(() => process.exit(0)));
  await runtime.start();
}

main().catch((error: unknown) => {
  process.stderr.write(`nmi-bench-nmi-main: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
