import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CPU_LATENCY_DEVICE, holdIdlePolling, idleStateUsage } from "./idle-poll.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Entries into every state but `POLL` across all CPUs (the states in which an idle CPU halts). */
function haltEntries(): number {
  let total = 0;
  for (let cpu = 0; cpu < cpus().length; cpu++) {
    for (const [name, count] of idleStateUsage(cpu)) if (name !== "POLL") total += count;
  }
  return total;
}

const canHold = process.getuid?.() === 0 && idleStateUsage(0).has("POLL");

describe("holdIdlePolling", () => {
  it.runIf(canHold)("keeps every idle CPU polling while held, and lets them halt again once released", async () => {
    const hold = holdIdlePolling();
    expect(hold.active).toBe(true);
    try {
      const before = haltEntries();
      await sleep(300); // this process idles; so does whatever CPU has nothing else to run
      expect(haltEntries() - before).toBe(0);
    } finally {
      hold.release();
    }
    hold.release(); // twice is harmless
    // Released: idle CPUs halt again (polled for at most 5 s, so a busy machine only delays it).
    const released = haltEntries();
    const deadline = Date.now() + 5_000;
    while (haltEntries() === released && Date.now() < deadline) await sleep(50);
    expect(haltEntries()).toBeGreaterThan(released);
  });

  it("says why when the device cannot be held, and holds nothing", async () => {
    // A CPU directory with a polling state, so that only the device is missing.
    const cpuRoot = await mkdtemp(join(tmpdir(), "podid-cpuidle-"));
    await mkdir(join(cpuRoot, "cpu0/cpuidle/state0"), { recursive: true });
    await writeFile(join(cpuRoot, "cpu0/cpuidle/state0/name"), "POLL\n");
    await writeFile(join(cpuRoot, "cpu0/cpuidle/state0/usage"), "7\n");
    const hold = holdIdlePolling("/nonexistent/cpu_dma_latency", cpuRoot);
    await rm(cpuRoot, { recursive: true, force: true });
    expect(hold.active).toBe(false);
    expect(hold.description).toContain("/nonexistent/cpu_dma_latency not held");
    hold.release();
    expect(CPU_LATENCY_DEVICE).toBe("/dev/cpu_dma_latency");
  });

  it("claims no polling where the kernel has no cpuidle polling state (idle CPUs halt whatever is asked)", () => {
    const hold = holdIdlePolling(CPU_LATENCY_DEVICE, "/nonexistent");
    expect(hold.active).toBe(false);
    expect(hold.description).toContain("idle CPUs halt as usual");
    expect(hold.description).toContain("no cpuidle polling state");
    hold.release();
  });

  it("reads no states for a CPU without cpuidle", () => {
    expect(idleStateUsage(0, "/nonexistent").size).toBe(0);
  });
});
