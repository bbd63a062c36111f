import { Registry } from "prom-client";
import type { FlagEnvironment } from "@podid/core";
import { systemClock } from "@podid/adapter-k8s";
import { DaemonExit, pinoLoggerPort, PromMetrics, runDaemon, type DaemonProcessIo } from "@podid/daemon-shell";
import { composeNmi, type ComposeNmiOptions, type NmiAdapters, type NmiAddresses, type NmiRuntime } from "./compose-nmi.js";
import { guardKubenet } from "./config/kubenet-guard.js";
import { defineNmiConfig, interceptionSpecFrom, NMI_CONFIG_DEFAULTS, type NmiConfig } from "./config/nmi-config.js";
import { parseNmiFlags } from "./config/parse-nmi-flags.js";
import { createNmiPino } from "./nmi-logging.js";
import { NMI_METRIC_DEFINITIONS } from "./nmi-metrics.js";

/**
 * `runNmi`: NMI as a process, with the adapters given. daemon-shell's `runDaemon` parses the flags
 * (`parseNmiFlags`), installs the metadata guard, composes NMI — after the kubenet guard — with `composeNmi`,
 * starts it, and drains on SIGTERM. `main.ts` runs it with the production adapters; tests with fakes.
 * @packageDocumentation
 */

/**
 * Time the whole stop may take beyond `--graceful-shutdown-timeout-sec` (which bounds the token server's
 * drain): releasing the interception and closing the probe servers afterwards take well under a second,
 * and 25 s + 5 s stays within kubelet's default 30 s grace period.
 */
const RELEASE_ALLOWANCE_MS = 5_000;

/**
 * Installs the metadata guard (the filter-table chain refusing pod traffic to the metadata address) before
 * anything that can fail — the kubelet configuration, the API connection, the adapters — so that a NMI
 * that cannot start leaves pods blocked, never open: before this, a misconfigured NMI crash-looped with no
 * rule at all and pods reached IMDS directly. The guard stays when start-up fails, whatever
 * `--interception-release` says: pods never reach IMDS before a healthy NMI has existed. The guard's
 * target port does not matter (it matches only the metadata address and port); with `--nmi-port=0` the
 * default port stands in for the not yet bound one. A guard that cannot be installed is logged and start-up
 * goes on (it would fail at the interception anyway). With `--interception=none` the netfilter installs nothing.
 */
async function installStartupGuard(config: NmiConfig, adapters: NmiAdapters | undefined, options: ComposeNmiOptions): Promise<void> {
  if (adapters === undefined) return;
  const logger = pinoLoggerPort(options.pino ?? createNmiPino({ level: config.logLevel, base: { node: config.nodeName } }));
  const metrics = new PromMetrics(NMI_METRIC_DEFINITIONS, new Registry());
  const netfilter = adapters.netfilter({ config, logger, clock: adapters.clock ?? systemClock, metrics });
  const spec = interceptionSpecFrom({ ...config, port: config.port === 0 ? NMI_CONFIG_DEFAULTS.port : config.port });
  try {
    const guarded = await netfilter.guard(spec);
    if (!guarded.ok) logger.error({ error: guarded.error }, "cannot install the metadata guard before start-up");
  } catch (error) {
    logger.error({ err: error instanceof Error ? error.message : String(error) }, "cannot install the metadata guard before start-up");
  }
}

/** Options of {@link runNmi} (tests replace the process and the logger). */
export interface RunNmiOptions extends ComposeNmiOptions {
  /** Default: the real process. */
  readonly io?: DaemonProcessIo;
  /** Called once NMI has started, with where it listens. */
  readonly onStarted?: (runtime: NmiRuntime, addresses: NmiAddresses) => void;
}

/**
 * Runs NMI until it ends and returns the exit code: 2 for bad flags, 1 when the kubenet guard refuses or
 * start-up fails, 3 when no adapters are available, 0 for `--version`/`--help` and after a drained
 * SIGTERM/SIGINT (see `NmiRuntime.stop`). The metadata guard goes in first (`installStartupGuard`): with
 * the configuration's address and port, or the default ones when the flags are invalid (not for `--help`
 * and `--version`, which start nothing). daemon-shell's signal handlers are in place before `compose`.
 */
export async function runNmi(argv: readonly string[], env: FlagEnvironment, adapters: NmiAdapters | undefined, options: RunNmiOptions = {}): Promise<number> {
  const { io, onStarted, ...composeOptions } = options;
  const parsed = parseNmiFlags(argv, env);
  if (!parsed.ok) await installStartupGuard(defineNmiConfig({ nodeName: "" }), adapters, composeOptions);
  return runDaemon<NmiConfig, NmiRuntime>({
    program: "podid-nmi",
    argv,
    env,
    parse: () => parsed,
    compose: async (config) => {
      await installStartupGuard(config, adapters, composeOptions);
      const guard = await guardKubenet(config.kubeletConfigPath, config.allowNetworkPluginKubenet);
      if (!guard.ok) throw new DaemonExit(1, guard.error.message);
      if (adapters === undefined) throw new DaemonExit(3, "no adapters given; compose NMI with composeNmi(config, adapters)");
      return composeNmi(config, adapters, composeOptions);
    },
    shutdownTimeoutMs: (config) => config.shutdownTimeoutSec * 1000 + RELEASE_ALLOWANCE_MS,
    ...(onStarted !== undefined ? { onStarted: (runtime: NmiRuntime, started: unknown) => onStarted(runtime, started as NmiAddresses) } : {}),
    ...(io !== undefined ? { io } : {}),
  });
}
