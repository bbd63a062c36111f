#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { FlagEnvironment } from "@podid/core";
import { composeNmi, type ComposeNmiOptions, type NmiRuntime } from "./composition/compose-nmi.js";
import { productionAdapters } from "./composition/production-adapters.js";
import type { NmiAdapters } from "./composition/nmi-adapters.js";
import { guardKubenet } from "./config/kubenet-guard.js";
import { parseNmiFlags } from "./config/parse-nmi-flags.js";
import { createNmiLogging } from "./observability/pino-logger.js";

/**
 * `podid-nmi`: the process entry point. Parses the original NMI's flags, applies the kubenet guard,
 * composes NMI with `composeNmi` from the adapter factories it is given, starts it, and drains on SIGTERM.
 * @packageDocumentation
 */

export { composeNmi } from "./composition/compose-nmi.js";
export type { NmiAdapters } from "./composition/nmi-adapters.js";

/** The process facilities `runNmi` uses (replaced in tests). */
export interface NmiProcessIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly onSignal: (signal: "SIGTERM" | "SIGINT", handler: () => void) => void;
  readonly exit: (code: number) => void;
}

const processIo: NmiProcessIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  onSignal: (signal, handler) => process.once(signal, handler),
  exit: (code) => process.exit(code),
};

/** What `runNmi` ended with: an exit code, or the running daemon (it exits on SIGTERM). */
export type NmiRunResult = { readonly kind: "exited"; readonly code: number } | { readonly kind: "running"; readonly runtime: NmiRuntime };

/**
 * Runs NMI: exit code 2 for bad flags, 1 when the kubenet guard refuses or start-up fails, 3 when no
 * adapters are available, 0 for `--version`/`--help`; otherwise the daemon runs until SIGTERM/SIGINT,
 * then drains (see `NmiRuntime.stop`) and exits 0.
 */
export async function runNmi(
  argv: readonly string[],
  env: FlagEnvironment,
  adapters: NmiAdapters | undefined,
  io: NmiProcessIo = processIo,
  options: ComposeNmiOptions = {},
): Promise<NmiRunResult> {
  const parsed = parseNmiFlags(argv, env);
  if (!parsed.ok) {
    io.stderr(`podid-nmi: ${parsed.error.message}\n`);
    return { kind: "exited", code: 2 };
  }
  const command = parsed.value;
  if (command.kind !== "run") {
    io.stdout(command.text.endsWith("\n") ? command.text : `${command.text}\n`);
    return { kind: "exited", code: 0 };
  }
  const { config } = command;
  const guard = await guardKubenet(config.kubeletConfigPath, config.allowNetworkPluginKubenet);
  if (!guard.ok) {
    io.stderr(`podid-nmi: ${guard.error.message}\n`);
    return { kind: "exited", code: 1 };
  }
  if (adapters === undefined) {
    io.stderr(
      "podid-nmi: no adapters are linked into this entry point yet; compose NMI with composeNmi(config, adapters) " +
        "passing the adapter-k8s, adapter-azure and adapter-iptables factories\n",
    );
    return { kind: "exited", code: 3 };
  }
  const { pino, audit } =
    options.pino !== undefined ? { pino: options.pino, audit: options.audit } : createNmiLogging({ level: config.logLevel, base: { node: config.nodeName } });
  for (const notice of command.notices) pino.warn({}, notice);
  const runtime = composeNmi(config, adapters, { ...options, pino, ...(audit !== undefined ? { audit } : {}) });
  try {
    await runtime.start();
  } catch (error) {
    pino.error({ err: error }, "start-up failed");
    await runtime.stop("start-up failed");
    return { kind: "exited", code: 1 };
  }
  const onSignal = (signal: "SIGTERM" | "SIGINT") => () => {
    void runtime.stop(signal).then(
      () => io.exit(0),
      (error: unknown) => {
        pino.error({ err: error }, "shutdown failed");
        io.exit(1);
      },
    );
  };
  io.onSignal("SIGTERM", onSignal("SIGTERM"));
  io.onSignal("SIGINT", onSignal("SIGINT"));
  return { kind: "running", runtime };
}

/** The adapters of the deployable image: adapter-k8s, adapter-azure and adapter-iptables. */
const PRODUCTION_ADAPTERS: NmiAdapters | undefined = productionAdapters();

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
  void runNmi(process.argv.slice(2), process.env, PRODUCTION_ADAPTERS).then((result) => {
    if (result.kind === "exited") process.exit(result.code);
  });
}
