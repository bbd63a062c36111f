import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { err, ok, type DeployableCommand, type InvalidFlags, type Result } from "@podid/core";
import { RecordingLogger } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import { DaemonExit, runDaemon, type DaemonProcessIo, type DaemonRuntime, type DaemonSignal, type RunDaemonOptions } from "./run-daemon.js";

interface Config {
  readonly name: string;
}

/** A fake process: captured output, signals delivered by the test. */
function fakeIo(): DaemonProcessIo & { out: string[]; err: string[]; send(signal: DaemonSignal): void; reject(reason: unknown): void; handlerCount(): number } {
  const out: string[] = [];
  const errors: string[] = [];
  const signals = new Map<DaemonSignal, Set<() => void>>();
  const rejections = new Set<(reason: unknown) => void>();
  return {
    out,
    err: errors,
    stdout: (t) => out.push(t),
    stderr: (t) => errors.push(t),
    onSignal: (signal, handler) => {
      const set = signals.get(signal) ?? new Set();
      signals.set(signal, set);
      set.add(handler);
      return () => set.delete(handler);
    },
    onUnhandledRejection: (handler) => {
      rejections.add(handler);
      return () => rejections.delete(handler);
    },
    send: (signal) => {
      for (const h of signals.get(signal) ?? []) h();
    },
    reject: (reason) => {
      for (const h of rejections) h(reason);
    },
    handlerCount: () => [...signals.values()].reduce((n, s) => n + s.size, 0) + rejections.size,
  };
}

/** A runtime whose start and stop resolve when the test says so, recording what happened. */
class FakeRuntime implements DaemonRuntime {
  readonly logger = new RecordingLogger();
  readonly events: string[] = [];
  startResult: Promise<unknown> = Promise.resolve("addresses");
  stopResult: Promise<void> = Promise.resolve();

  start(): Promise<unknown> {
    this.events.push("start");
    return this.startResult.then(
      (v) => {
        this.events.push("started");
        return v;
      },
      (e: unknown) => {
        this.events.push("start failed");
        throw e;
      },
    );
  }

  stop(reason: string): Promise<void> {
    this.events.push(`stop: ${reason}`);
    return this.stopResult.then(() => {
      this.events.push("stopped");
    });
  }
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

function parse(argv: readonly string[]): Result<DeployableCommand<Config>, InvalidFlags> {
  if (argv.includes("--bogus")) return err({ kind: "invalidFlags", message: "unknown option '--bogus'" });
  if (argv.includes("--version")) return ok({ kind: "version", text: "podid-test 1.2.3" });
  if (argv.includes("--help")) return ok({ kind: "help", text: "Usage: podid-test\n" });
  return ok({ kind: "run", config: { name: "x" }, notices: ["--old-flag is ignored"] });
}

function options(runtime: FakeRuntime, io: DaemonProcessIo, more: Partial<RunDaemonOptions<Config, FakeRuntime>> = {}): RunDaemonOptions<Config, FakeRuntime> {
  return { program: "podid-test", argv: [], env: {}, parse, compose: () => runtime, io, ...more };
}

describe("runDaemon", () => {
  it("exit codes without running: 2 for invalid flags, 0 for help and version", async () => {
    const io = fakeIo();
    const runtime = new FakeRuntime();
    expect(await runDaemon(options(runtime, io, { argv: ["--bogus"] }))).toBe(2);
    expect(io.err.join("")).toBe("podid-test: unknown option '--bogus'\n(run podid-test --help for the flags)\n");
    expect(await runDaemon(options(runtime, io, { argv: ["--version"] }))).toBe(0);
    expect(await runDaemon(options(runtime, io, { argv: ["--help"] }))).toBe(0);
    expect(io.out).toEqual(["podid-test 1.2.3\n", "Usage: podid-test\n"]);
    expect(runtime.events).toEqual([]);
    expect(io.handlerCount()).toBe(0);
  });

  it("runs until SIGTERM, then stops gracefully and returns 0; notices are logged; handlers are removed", async () => {
    const io = fakeIo();
    const runtime = new FakeRuntime();
    const started: unknown[] = [];
    const code = runDaemon(options(runtime, io, { onStarted: (_r, value) => started.push(value) }));
    await tick();
    expect(runtime.events).toEqual(["start", "started"]);
    expect(started).toEqual(["addresses"]);
    expect(runtime.logger.find("--old-flag is ignored", "warn")).toBeDefined();
    io.send("SIGTERM");
    expect(await code).toBe(0);
    expect(runtime.events).toEqual(["start", "started", "stop: received SIGTERM", "stopped"]);
    expect(io.handlerCount()).toBe(0);
  });

  it("a SIGTERM during a slow start-up waits for start() to settle, then stops gracefully (exit 0)", async () => {
    const io = fakeIo();
    const runtime = new FakeRuntime();
    const slow = deferred<unknown>();
    runtime.startResult = slow.promise;
    const code = runDaemon(options(runtime, io));
    await tick();
    expect(io.handlerCount()).toBe(3); // SIGTERM, SIGINT, unhandledRejection: in place while starting
    io.send("SIGTERM");
    await tick();
    expect(runtime.events).toEqual(["start"]); // not stopped halfway through start-up
    slow.resolve("addresses");
    expect(await code).toBe(0);
    expect(runtime.events).toEqual(["start", "started", "stop: received SIGTERM", "stopped"]);
  });

  it("a second signal exits at once with 1", async () => {
    const io = fakeIo();
    const runtime = new FakeRuntime();
    runtime.stopResult = new Promise(() => undefined);
    const code = runDaemon(options(runtime, io));
    await tick();
    io.send("SIGINT");
    await tick();
    io.send("SIGTERM");
    expect(await code).toBe(1);
    expect(runtime.logger.find("second signal: exiting at once", "warn")).toBeDefined();
  });

  it("a hung stop ends with 1 after the shutdown timeout, counted from the signal even while start-up hangs", async () => {
    const io = fakeIo();
    const runtime = new FakeRuntime();
    runtime.startResult = new Promise(() => undefined);
    const code = runDaemon(options(runtime, io, { shutdownTimeoutMs: (config) => (config.name === "x" ? 30 : 1_000_000) }));
    await tick();
    io.send("SIGTERM");
    expect(await code).toBe(1);
    expect(runtime.logger.find("graceful shutdown timed out", "error")?.fields).toEqual({ timeoutMs: 30 });
  });

  it("a failing stop ends with 1", async () => {
    const io = fakeIo();
    const runtime = new FakeRuntime();
    runtime.stopResult = Promise.reject(new Error("lease release failed"));
    runtime.stopResult.catch(() => undefined);
    const code = runDaemon(options(runtime, io));
    await tick();
    io.send("SIGTERM");
    expect(await code).toBe(1);
    expect(runtime.logger.find("shutdown failed", "error")?.fields).toEqual({ err: "lease release failed" });
  });

  it("start-up failure: message on stderr, the runtime stopped, exit 1 (also when a signal came during start-up)", async () => {
    for (const signal of [false, true]) {
      const io = fakeIo();
      const runtime = new FakeRuntime();
      const failing = deferred<unknown>();
      runtime.startResult = failing.promise;
      const code = runDaemon(options(runtime, io));
      await tick();
      if (signal) io.send("SIGTERM");
      failing.reject(new Error("azure.json is invalid"));
      expect(await code).toBe(1);
      expect(io.err.join("")).toBe("podid-test: start-up failed: azure.json is invalid\n");
      expect(runtime.events).toEqual(["start", "start failed", "stop: start-up failed", "stopped"]);
    }
  });

  it("compose failures: DaemonExit chooses the code, anything else is 1; nothing starts", async () => {
    const io = fakeIo();
    const runtime = new FakeRuntime();
    const refusing = options(runtime, io, {
      compose: () => {
        throw new DaemonExit(3, "no adapters linked");
      },
    });
    expect(await runDaemon(refusing)).toBe(3);
    const broken = options(runtime, io, {
      compose: () => Promise.reject(new Error("bad kubeconfig")),
    });
    expect(await runDaemon(broken)).toBe(1);
    expect(io.err).toEqual(["podid-test: no adapters linked\n", "podid-test: start-up failed: bad kubeconfig\n"]);
    expect(runtime.events).toEqual([]);
    expect(io.handlerCount()).toBe(0);
  });

  it("a signal while composing: start-up is skipped and the runtime stopped (exit 0)", async () => {
    const io = fakeIo();
    const runtime = new FakeRuntime();
    const composing = deferred<FakeRuntime>();
    const code = runDaemon(options(runtime, io, { compose: () => composing.promise }));
    await tick();
    io.send("SIGTERM");
    composing.resolve(runtime);
    expect(await code).toBe(0);
    expect(runtime.events).toEqual(["stop: received SIGTERM before start-up", "stopped"]);
  });

  it("logs unhandled promise rejections instead of dying", async () => {
    const io = fakeIo();
    const runtime = new FakeRuntime();
    const code = runDaemon(options(runtime, io));
    await tick();
    io.reject(new Error("forgotten promise"));
    expect(runtime.logger.find("unhandled promise rejection", "error")?.fields["err"]).toMatch(/forgotten promise/);
    io.send("SIGTERM");
    expect(await code).toBe(0);
  });
});

/**
 * The same start-up race with a real process and a real SIGTERM: the child runs `runDaemon` from source
 * (Node strips the types; the module imports types only) with a start-up of 1.5 s and is signalled while
 * starting. With the handlers installed after `start()` (nmi-server's old `main.ts` order), Node's default
 * action kills the child by the signal (`code: null, signal: "SIGTERM"`) and this test fails.
 */
describe("runDaemon in a real process", () => {
  it("SIGTERM during a slow start-up leads to a graceful stop and exit 0", { timeout: 20_000 }, async () => {
    const source = new URL("./run-daemon.ts", import.meta.url).href;
    const script = `
      const { runDaemon } = await import(${JSON.stringify(source)});
      const events = [];
      const logger = { debug() {}, info() {}, warn() {}, error() {}, child() { return logger; } };
      const runtime = {
        logger,
        async start() {
          console.log("starting");
          await new Promise((r) => setTimeout(r, 1500));
          events.push("started");
        },
        async stop(reason) {
          events.push("stop: " + reason);
        },
      };
      const code = await runDaemon({
        program: "podid-test",
        argv: [],
        env: {},
        parse: () => ({ ok: true, value: { kind: "run", config: {}, notices: [] } }),
        compose: () => runtime,
      });
      console.log(JSON.stringify(events));
      process.exit(code);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "--no-warnings", "-e", script], {
      cwd: fileURLToPath(new URL(".", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (stdout.startsWith("starting\n") && child.exitCode === null && !child.killed) child.kill("SIGTERM");
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    expect({ ...exit, stderr }).toEqual({ code: 0, signal: null, stderr: "" });
    expect(stdout).toBe(`starting\n${JSON.stringify(["started", "stop: received SIGTERM"])}\n`);
  });
});
