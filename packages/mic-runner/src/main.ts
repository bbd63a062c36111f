#!/usr/bin/env node
/**
 * `podid-mic`: the MIC process. Parses the original's flags, composes MIC from the production adapters,
 * starts it, and shuts down gracefully on SIGTERM/SIGINT (controller stopped, Lease released so the
 * standby takes over at once, servers closed last). Exit codes: 0 after a graceful stop or
 * `--version`/`--help`, 2 for invalid flags, 1 when start-up fails or the shutdown hangs.
 * @packageDocumentation
 */
import { hostname } from "node:os";
import { parseMicFlags } from "./config/parse-mic-flags.js";
import { composeMic } from "./composition/compose-mic.js";

/** Longest graceful shutdown before the process exits anyway (kubelet's grace period is 30 s). */
const SHUTDOWN_TIMEOUT_MS = 20_000;

async function main(): Promise<number> {
  const parsed = parseMicFlags(process.argv.slice(2), process.env, { hostname: process.env["HOSTNAME"] ?? hostname() });
  if (!parsed.ok) {
    process.stderr.write(`podid-mic: ${parsed.error.message}\n(run podid-mic --help for the flags)\n`);
    return 2;
  }
  const command = parsed.value;
  if (command.kind !== "run") {
    process.stdout.write(command.text.endsWith("\n") ? command.text : `${command.text}\n`);
    return 0;
  }
  const runtime = composeMic(command.config);
  for (const notice of command.notices) runtime.logger.warn({}, notice);

  let signalled = false;
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        runtime.logger.warn({ signal }, "second signal: exiting at once");
        resolve(1);
        return;
      }
      signalled = true;
      const timer = setTimeout(() => {
        runtime.logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, "graceful shutdown timed out");
        resolve(1);
      }, SHUTDOWN_TIMEOUT_MS);
      timer.unref();
      runtime.stop(`received ${signal}`).then(
        () => resolve(0),
        (error: unknown) => {
          runtime.logger.error({ err: String(error) }, "shutdown failed");
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
  process.on("unhandledRejection", (reason) => runtime.logger.error({ err: reason instanceof Error ? reason.stack : String(reason) }, "unhandled promise rejection"));

  try {
    await runtime.start();
  } catch (error) {
    process.stderr.write(`podid-mic: start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  return done;
}

process.exitCode = await main();
// Timers of the adapters are unref'd, but open sockets (keep-alive, watches being torn down) must not keep a
// stopped MIC alive.
process.exit();
