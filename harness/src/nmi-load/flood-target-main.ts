import { composeNmi, defineNmiConfig } from "@podid/nmi-server";
import { bindPod, FakeCluster, FakeNetfilter, FakeTokenSource, TEST_NODE } from "@podid/testkit";

/**
 * The NMI process of the connection-flood test (`connection-flood.test.ts`): the whole daemon composition
 * (`composeNmi`: token server, probe server) on testkit's in-memory cluster, token source and netfilter, in
 * its own process so that it has its own descriptor limit. Pods: `flooder` at 127.0.0.2 and `victim` at
 * 127.0.0.3, each bound to its own identity. Prints one JSON line with the bound ports, then runs until
 * stdin closes or SIGTERM (bounded by a 120 s safety timer).
 * @packageDocumentation
 */

async function main(): Promise<void> {
  const cluster = new FakeCluster();
  const tokens = new FakeTokenSource({ latencyMs: 20 });
  bindPod({ cluster, tokens }, { pod: "flooder", ip: "127.0.0.2", identity: "flooder-identity" });
  bindPod({ cluster, tokens }, { pod: "victim", ip: "127.0.0.3", identity: "victim-identity" });
  const overrides = JSON.parse(process.argv[2] ?? "{}") as Record<string, unknown>;
  const config = defineNmiConfig({
    nodeName: TEST_NODE,
    listenAddress: "127.0.0.1",
    port: 0,
    probePort: 0,
    prometheusPort: 0,
    probeListenAddress: "127.0.0.1",
    interception: "none",
    logLevel: "error",
    ...overrides,
  });
  const runtime = composeNmi(config, { kubeReader: () => cluster, tokenSource: () => tokens, netfilter: () => new FakeNetfilter() });
  const addresses = await runtime.start();
  process.stdout.write(`${JSON.stringify({ ready: true, nmiPort: addresses.nmi.port, probePort: addresses.probe.port })}\n`);
  const safety = setTimeout(() => void stop(), 120_000);
  const stop = async (): Promise<void> => {
    clearTimeout(safety);
    await runtime.stop("test over");
    process.exit(0);
  };
  process.stdin.on("end", () => void stop()).resume();
  process.once("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`flood target failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
