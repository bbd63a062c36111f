import type { DeployableCommand, FlagEnvironment, InvalidFlags, LoggerPort, Result } from "@podid/core";

/**
 * `runDaemon`: the main loop both daemons share. Parse the flags → print help or the version (exit 0) or
 * refuse invalid flags (exit 2) → compose → install the SIGTERM/SIGINT handlers → start → on the first
 * signal stop gracefully within a time limit (exit 0; 1 when the stop fails or hangs) → a second signal
 * exits at once (1). Start-up failures exit 1 after the runtime is stopped. Unhandled promise rejections
 * are logged instead of killing the process.
 *
 * The handlers go in before `start()` because start-up takes seconds (servers, the cloud configuration,
 * the interception) and kubelet may stop a pod at any time: without a handler, Node's default for SIGTERM
 * kills the process at once, leaving a Lease held or iptables rules half-installed. A signal that arrives
 * during start-up waits for `start()` to settle and then stops what it started.
 *
 * This module imports types only, so a test can run it in a child process straight from source.
 * @packageDocumentation
 */

/** The signals that stop a daemon (kubelet sends SIGTERM; SIGINT is Ctrl-C). */
export type DaemonSignal = "SIGTERM" | "SIGINT";

/** A composed daemon. */
export interface DaemonRuntime {
  /** The daemon's logger (signals, notices, timeouts and unhandled rejections are logged here). */
  readonly logger: LoggerPort;
  /** Starts the daemon; rejects when start-up fails. */
  start(): Promise<unknown>;
  /**
   * Stops gracefully. Must be safe to call more than once, after a failed `start()`, and without any
   * `start()` (a signal may arrive before start-up begins).
   */
  stop(reason: string): Promise<void>;
}

/** The process facilities {@link runDaemon} uses (tests pass their own). */
export interface DaemonProcessIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Calls `handler` on each delivery of `signal`; returns a function that removes it. */
  readonly onSignal: (signal: DaemonSignal, handler: () => void) => () => void;
  /** Calls `handler` with the reason of each unhandled promise rejection; returns a function that removes it. */
  readonly onUnhandledRejection: (handler: (reason: unknown) => void) => () => void;
}

/** The real process: stdout, stderr, `process.on(signal)` and `process.on("unhandledRejection")`. */
export const processIo: DaemonProcessIo = {
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: (text) => {
    process.stderr.write(text);
  },
  onSignal: (signal, handler) => {
    process.on(signal, handler);
    return () => {
      process.off(signal, handler);
    };
  },
  onUnhandledRejection: (handler) => {
    process.on("unhandledRejection", handler);
    return () => {
      process.off("unhandledRejection", handler);
    };
  },
};

/**
 * Thrown by `compose` to end the process with `code` and `message` on stderr (e.g. a configuration the
 * daemon refuses after parsing, or a missing platform dependency) instead of the generic start-up failure.
 */
export class DaemonExit extends Error {
  /** The process exit code. */
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.name = "DaemonExit";
    this.code = code;
  }
}

/** The longest graceful stop before the process exits anyway (kubelet's default grace period is 30 s). */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;

/** Options of {@link runDaemon}. */
export interface RunDaemonOptions<Config, Runtime extends DaemonRuntime> {
  /** The program name that prefixes messages on stderr (`podid-mic`). */
  readonly program: string;
  /** The arguments after the script (`process.argv.slice(2)`). */
  readonly argv: readonly string[];
  /** The environment the flags' defaults read (`process.env`). */
  readonly env: FlagEnvironment;
  /** The daemon's flag parser (see `parseDaemonFlags`). */
  readonly parse: (argv: readonly string[], env: FlagEnvironment) => Result<DeployableCommand<Config>, InvalidFlags>;
  /** Builds the runtime from the configuration; nothing may listen or connect before `start()`. Throw {@link DaemonExit} for a specific exit code. */
  readonly compose: (config: Config) => Runtime | Promise<Runtime>;
  /** Longest graceful stop (default {@link DEFAULT_SHUTDOWN_TIMEOUT_MS}); a function reads it from the configuration. */
  readonly shutdownTimeoutMs?: number | ((config: Config) => number);
  /** Called once `start()` resolved, with its value (tests: the addresses). */
  readonly onStarted?: (runtime: Runtime, started: unknown) => void;
  /** Default {@link processIo}. */
  readonly io?: DaemonProcessIo;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs a daemon until it ends and returns the process exit code: 0 after help, the version or a graceful
 * stop; 2 for invalid flags; 1 when composing or starting fails, the stop fails or takes longer than the
 * shutdown timeout, or a second signal arrives. The caller exits with it (`process.exit`), so sockets
 * still open after the stop cannot keep the process alive.
 */
export async function runDaemon<Config, Runtime extends DaemonRuntime>(options: RunDaemonOptions<Config, Runtime>): Promise<number> {
  const io = options.io ?? processIo;
  const { program } = options;
  const parsed = options.parse(options.argv, options.env);
  if (!parsed.ok) {
    io.stderr(`${program}: ${parsed.error.message}\n(run ${program} --help for the flags)\n`);
    return 2;
  }
  const command = parsed.value;
  if (command.kind !== "run") {
    io.stdout(command.text.endsWith("\n") ? command.text : `${command.text}\n`);
    return 0;
  }
  const { config } = command;
  const timeoutMs = typeof options.shutdownTimeoutMs === "function" ? options.shutdownTimeoutMs(config) : (options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS);

  let runtime: Runtime | undefined;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  let finished = false;
  const end = (code: number): void => {
    if (finished) return;
    finished = true;
    finish(code);
  };
  const log = (): LoggerPort | undefined => runtime?.logger;

  // Counted from the first signal (or the start-up failure), even while start-up is still settling: a hung
  // start-up must not hold the process past kubelet's grace period either. Cleared on every ending path.
  let shutdownTimer: ReturnType<typeof setTimeout> | undefined;
  const armShutdownTimer = (): void => {
    shutdownTimer ??= setTimeout(() => {
      log()?.error({ timeoutMs }, "graceful shutdown timed out");
      end(1);
    }, timeoutMs);
  };

  /** Stops the runtime within the shutdown timeout, then ends with `code` (1 when the stop fails or hangs). */
  const stopThenEnd = (reason: string, code: number): void => {
    armShutdownTimer();
    const stopping = runtime === undefined ? Promise.resolve() : runtime.stop(reason);
    stopping.then(
      () => end(code),
      (error: unknown) => {
        log()?.error({ err: describe(error) }, "shutdown failed");
        end(1);
      },
    );
  };

  // Installed before anything starts: see the module comment.
  let signalled: DaemonSignal | undefined;
  let startOutcome: Promise<boolean> | undefined;
  const onSignal = (signal: DaemonSignal) => (): void => {
    if (signalled !== undefined) {
      log()?.warn({ signal }, "second signal: exiting at once");
      end(1);
      return;
    }
    signalled = signal;
    log()?.info({ signal }, "signal received: stopping");
    armShutdownTimer();
    const outcome = startOutcome;
    if (outcome === undefined) return; // Composing: the sequence below sees `signalled` and does not start.
    // Let start-up settle first: stopping halfway would race the steps still to come. A failed start-up is
    // ended by its own path (exit 1).
    void outcome.then((started) => {
      if (started) stopThenEnd(`received ${signal}`, 0);
    });
  };
  const removers = [
    io.onSignal("SIGTERM", onSignal("SIGTERM")),
    io.onSignal("SIGINT", onSignal("SIGINT")),
    io.onUnhandledRejection((reason) => {
      const err = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
      const logger = log();
      if (logger === undefined) io.stderr(`${program}: unhandled promise rejection: ${err}\n`);
      else logger.error({ err }, "unhandled promise rejection");
    }),
  ];

  try {
    try {
      runtime = await options.compose(config);
    } catch (error) {
      if (error instanceof DaemonExit) {
        io.stderr(`${program}: ${error.message}\n`);
        return error.code;
      }
      io.stderr(`${program}: start-up failed: ${describe(error)}\n`);
      return 1;
    }
    for (const notice of command.notices) runtime.logger.warn({}, notice);
    if (signalled !== undefined) {
      stopThenEnd(`received ${signalled} before start-up`, 0);
      return await done;
    }

    const starting = runtime.start();
    startOutcome = starting.then(
      () => true,
      () => false,
    );
    starting.then(
      (started) => {
        if (runtime !== undefined) options.onStarted?.(runtime, started);
      },
      (error: unknown) => {
        io.stderr(`${program}: start-up failed: ${describe(error)}\n`);
        stopThenEnd("start-up failed", 1);
      },
    );
    return await done;
  } finally {
    clearTimeout(shutdownTimer);
    for (const remove of removers) remove();
  }
}
