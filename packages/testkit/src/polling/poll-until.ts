/** Options of {@link pollUntil}. */
export interface PollUntilOptions {
  /** Longest wait in real ms (default 15 000). */
  readonly timeoutMs?: number;
  /** Pause between checks in real ms (default 50). */
  readonly intervalMs?: number;
}

/**
 * Checks `check` now and then every `intervalMs` until it holds; throws `timed out waiting for <what>` once
 * `timeoutMs` have passed. For tests against real servers and processes (real time; a virtual clock has
 * `VirtualClock.runUntilIdle`). A check that throws ends the wait with its error.
 */
export async function pollUntil(what: string, check: () => boolean | Promise<boolean>, options: PollUntilOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
