#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { FlagEnvironment } from "@podid/core";
import { DaemonExit, runDaemon, type DaemonProcessIo } from "@podid/daemon-shell";
import { composeNmi, type ComposeNmiOptions, type NmiAdapters, type NmiAddresses, type NmiRuntime } from "./compose-nmi.js";
import { guardKubenet } from "./config/kubenet-guard.js";
import type { NmiConfig } from "./config/nmi-config.js";
import { parseNmiFlags } from "./config/parse-nmi-flags.js";
import { productionAdapters } from "./production-adapters.js";

/**
 * `podid-nmi`: the process entry point. daemon-shell's `runDaemon` parses the flags (`parseNmiFlags`),
 * composes NMI — after the kubenet guard — with `composeNmi`, starts it, and drains on SIGTERM.
 * @packageDocumentation
 */

/**
 * Time the whole stop may take beyond `--graceful-shutdown-timeout-sec` (which bounds the token server's
 * drain): releasing the interception and closing the probe servers afterwards take well under a second,
 * and 25 s + 5 s stays within kubelet's default 30 s grace period.
 */
const RELEASE_ALLOWANCE_MS = 5_000;

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
 * SIGTERM/SIGINT (see `NmiRuntime.stop`).
 */
export function runNmi(argv: readonly string[], env: FlagEnvironment, adapters: NmiAdapters | undefined, options: RunNmiOptions = {}): Promise<number> {
  const { io, onStarted, ...composeOptions } = options;
  return runDaemon<NmiConfig, NmiRuntime>({
    program: "podid-nmi",
    argv,
    env,
    parse: parseNmiFlags,
    compose: async (config) => {
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

/** True when this module is the process's main script (also through npm's bin symlink). */
function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  // The deployable's adapters: adapter-k8s, adapter-azure and adapter-iptables.
  void runNmi(process.argv.slice(2), process.env, productionAdapters()).then((code) => process.exit(code));
}
