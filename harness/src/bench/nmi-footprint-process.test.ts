import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { residentByMapping } from "./nmi-footprint-process.js";

/**
 * The footprint bench's "by mapping" figures (docs/adr/0017-nmi-as-shipped-footprint.md, addendum): read from this
 * very process, the categories add up to its resident memory and each known mapping lands in its own category.
 */
describe("residentByMapping", () => {
  it("splits a process's resident memory into the node binary, other files, malloc's main arena and the rest", async () => {
    const byMapping = await residentByMapping(process.pid);
    const vmRssMb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1]) / 1024;
    const total = byMapping.nodeBinaryMb + byMapping.otherFilesMb + byMapping.brkHeapMb + byMapping.otherAnonMb;
    // Two readings moments apart: a few MB of allocation in between at most.
    expect(Math.abs(total - vmRssMb)).toBeLessThan(5);
    expect(byMapping.nodeBinaryMb).toBeGreaterThan(10);
    expect(byMapping.otherFilesMb).toBeGreaterThan(0);
    expect(byMapping.brkHeapMb).toBeGreaterThan(0);
    expect(byMapping.otherAnonMb).toBeGreaterThan(byMapping.brkHeapMb);
  });
});
