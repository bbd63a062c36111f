import { DEFAULT_INTERCEPTION_SPEC, type NetfilterError } from "@podid/core";
import { FakeNetfilter, RecordingLogger, VirtualClock, type NetfilterTamper } from "@podid/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DriftRepairLoop, type DriftRepairEvent } from "./drift-repair-loop.js";

const spec = DEFAULT_INTERCEPTION_SPEC;
const tampers: readonly NetfilterTamper[] = ["flushChain", "deleteChain", "removeJump", "jumpNotFirst", "wrongTarget", "extraRule", "flushTable"];

function setup(intervalMs = 60_000) {
  const clock = new VirtualClock();
  const netfilter = new FakeNetfilter();
  const logger = new RecordingLogger();
  const repairs: DriftRepairEvent[] = [];
  const errors: NetfilterError[] = [];
  const loop = new DriftRepairLoop({ netfilter, spec, clock, intervalMs, logger, onRepair: (e) => repairs.push(e), onError: (e) => errors.push(e) });
  return { clock, netfilter, logger, repairs, errors, loop };
}

describe("DriftRepairLoop", () => {
  it("installs on start and then only inspects while nothing drifts", async () => {
    const { clock, netfilter, loop, repairs } = setup();
    const first = await loop.start();
    expect(first).toMatchObject({ ok: true, value: { intact: true } });
    await clock.advanceAsync(5 * 60_000);
    expect(netfilter.counts()).toMatchObject({ ensures: 1, inspects: 5 });
    expect(repairs).toEqual([]);
    expect(loop.stats()).toEqual({ checks: 5, repairs: 0, errors: 0 });
    await loop.stop();
  });

  it("repairs any drift at the next interval, never earlier, and reports what drifted", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(...tampers), fc.integer({ min: 1, max: 59_999 })), { minLength: 1, maxLength: 4 }), async (steps) => {
        const { clock, netfilter, loop, repairs, logger } = setup();
        await loop.start();
        for (const [kind, offset] of steps) {
          await clock.advanceAsync(offset);
          netfilter.tamper(spec, kind);
          const before = repairs.length;
          await clock.advanceAsync(60_000 - offset - 1);
          expect(repairs.length).toBe(before);
          await clock.advanceAsync(1);
          expect(repairs.length, kind).toBe(before + 1);
          expect(repairs.at(-1)?.drift.length).toBeGreaterThan(0);
          expect(repairs.at(-1)?.state.intact).toBe(true);
          expect(netfilter.verdict(spec)).toBe("intercepted");
        }
        expect(logger.lines.filter((l) => l.message.includes("drifted"))).toHaveLength(steps.length);
        await loop.stop();
      }),
      { numRuns: 40 },
    );
  });

  it("keeps going after errors (the original exited) and retries a failed first install", async () => {
    const { clock, netfilter, loop, errors, repairs } = setup(1_000);
    netfilter.failNext(1, { kind: "lockTimeout", message: "held by kube-proxy" }, ["ensure"]);
    const first = await loop.start();
    expect(first).toEqual({ ok: false, error: { kind: "lockTimeout", message: "held by kube-proxy" } });
    expect(netfilter.verdict(spec)).toBe("direct");
    netfilter.failNext(2, { kind: "commandFailed", exitCode: 1, stderr: "boom" }, ["inspect"]);
    await clock.advanceAsync(2_000);
    expect(errors.map((e) => e.kind)).toEqual(["lockTimeout", "commandFailed", "commandFailed"]);
    await clock.advanceAsync(1_000);
    expect(repairs).toHaveLength(1);
    expect(netfilter.verdict(spec)).toBe("intercepted");
    expect(loop.stats()).toEqual({ checks: 3, repairs: 1, errors: 3 });
    await loop.stop();
  });

  it("never overlaps checks and stops cleanly", async () => {
    const { clock, netfilter, loop } = setup(100);
    let inFlight = 0;
    let maxInFlight = 0;
    netfilter.injectFault(() => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      queueMicrotask(() => (inFlight -= 1));
      return undefined;
    });
    await loop.start();
    await clock.advanceAsync(1_000);
    expect(maxInFlight).toBe(1);
    await loop.stop();
    expect(loop.running).toBe(false);
    const checks = loop.stats().checks;
    await clock.advanceAsync(1_000);
    expect(loop.stats().checks).toBe(checks);
    expect(clock.pendingTimers()).toHaveLength(0);
  });

  it("refuses a non-positive interval", () => {
    expect(() => new DriftRepairLoop({ netfilter: new FakeNetfilter(), spec, clock: new VirtualClock(), intervalMs: 0 })).toThrow(RangeError);
  });
});
