import { afterEach } from "vitest";
import { SystemWorld, until, type SystemWorldOptions, type TestMic } from "./system-world.js";

/** What {@link worldPerTest} gives a test file. */
export interface WorldPerTest {
  /** Starts a world that is closed after the current test. */
  start(options?: SystemWorldOptions): Promise<SystemWorld>;
  /** {@link start}, then an in-process MIC `mic-0` with `flags`, once it leads. */
  startLed(options?: SystemWorldOptions, flags?: readonly string[]): Promise<{ w: SystemWorld; mic: TestMic }>;
}

/**
 * One {@link SystemWorld} per test: registers an `afterEach` that first runs `beforeClose` (stopping what
 * the test started against the world: child MICs, extra runtimes) and then closes the world.
 */
export function worldPerTest(beforeClose?: () => Promise<unknown>): WorldPerTest {
  let current: SystemWorld | undefined;
  afterEach(async () => {
    await beforeClose?.();
    await current?.close();
    current = undefined;
  });
  const start = async (options: SystemWorldOptions = {}): Promise<SystemWorld> => (current = await SystemWorld.start(options));
  return {
    start,
    async startLed(options = {}, flags = []) {
      const w = await start(options);
      const mic = await w.startMic("mic-0", flags);
      await until("MIC leads", () => mic.runtime.isActive(), 5_000);
      return { w, mic };
    },
  };
}
