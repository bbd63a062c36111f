import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cpuTicks, median, processCpuSeconds, processMemory } from "./proc-stats.js";

describe("proc readings", () => {
  it("reads a busy child's CPU time growing, its memory, and nothing once it is gone", async () => {
    // A child that spins until it has used 300 ms of CPU (however busy the machine), then waits to be killed.
    const spin = "const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; while (used() < 300); setInterval(() => {}, 1000);";
    const child = spawn(process.execPath, ["-e", spin], { stdio: "ignore" });
    try {
      const pid = child.pid ?? 0;
      const deadline = Date.now() + 15_000;
      let cpu = processCpuSeconds(pid);
      while (cpu.user + cpu.system < 0.2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        cpu = processCpuSeconds(pid);
      }
      expect(cpu.user + cpu.system).toBeGreaterThanOrEqual(0.2);
      // Node's own startup is CPU too, but nowhere near seconds.
      expect(cpu.user + cpu.system).toBeLessThan(5);
      const memory = processMemory(pid);
      expect(memory?.rss).toBeGreaterThan(10 * 1024 * 1024);
      expect(memory?.hwm).toBeGreaterThanOrEqual(memory?.rss ?? Number.POSITIVE_INFINITY);
      expect((memory?.anon ?? 0) + (memory?.file ?? 0)).toBeLessThanOrEqual((memory?.rss ?? 0) + 1024 * 1024);
    } finally {
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
    }
    expect(processMemory(child.pid ?? 0)).toBeUndefined();
  }, 20_000);

  it("reads CPU 0's ticks, busy never above total", () => {
    const ticks = cpuTicks("0");
    expect(ticks.total).toBeGreaterThan(0);
    expect(ticks.busy).toBeLessThanOrEqual(ticks.total);
  });

  it("takes the median (the upper middle of an even count)", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(median([])).toBeNaN();
  });
});
