import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { InterceptionSpec } from "@podid/core";
import { FakeNetfilter, type NetfilterTamper } from "./fake-netfilter.js";

const SPEC: InterceptionSpec = {
  chain: "aad-metadata",
  metadataAddress: "169.254.169.254",
  metadataPort: 80,
  targetAddress: "127.0.0.1",
  targetPort: 2579,
};

const TAMPERS: readonly NetfilterTamper[] = ["flushChain", "deleteChain", "removeJump", "jumpNotFirst", "wrongTarget", "extraRule", "flushTable"];

describe("FakeNetfilter", () => {
  it("starts empty (traffic direct), installs the original's rules, and is idempotent", async () => {
    const nf = new FakeNetfilter();
    const before = await nf.inspect(SPEC);
    expect(before.ok && before.value.intact).toBe(false);
    expect(before.ok && before.value.drift.length).toBeGreaterThan(0);
    expect(nf.verdict(SPEC)).toBe("direct");

    const installed = await nf.ensure(SPEC);
    expect(installed.ok && installed.value).toEqual({ intact: true, drift: [] });
    expect(nf.verdict(SPEC)).toBe("intercepted");
    expect(nf.rules().nat.get("aad-metadata")).toEqual([
      "-A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:2579",
      "-A aad-metadata -j RETURN",
    ]);
    expect(nf.rules().nat.get("PREROUTING")).toEqual(["-A PREROUTING -j aad-metadata"]);

    await nf.ensure(SPEC);
    expect(nf.counts()).toMatchObject({ ensures: 2, repairs: 1, inspects: 1 });
  });

  it.each(TAMPERS)("reports drift after %s and ensure repairs it", async (kind) => {
    const nf = new FakeNetfilter();
    await nf.ensure(SPEC);
    nf.tamper(SPEC, kind);
    const drifted = await nf.inspect(SPEC);
    expect(drifted.ok && drifted.value.intact).toBe(false);
    expect(drifted.ok && drifted.value.drift.length).toBeGreaterThan(0);
    const repaired = await nf.ensure(SPEC);
    expect(repaired.ok && repaired.value.intact).toBe(true);
    expect(nf.verdict(SPEC)).toBe("intercepted");
    expect(nf.counts().repairs).toBe(2);
  });

  it("tampering changes what traffic meets", async () => {
    const nf = new FakeNetfilter();
    await nf.ensure(SPEC);
    nf.tamper(SPEC, "wrongTarget");
    expect(nf.verdict(SPEC)).toBe("misrouted");
    await nf.ensure(SPEC);
    nf.tamper(SPEC, "removeJump");
    expect(nf.verdict(SPEC)).toBe("direct");
    await nf.ensure(SPEC);
    nf.tamper(SPEC, "jumpNotFirst");
    expect(nf.verdict(SPEC)).toBe("intercepted"); // still works, but drift is reported
  });

  it("failClosed leaves a block rule; remove leaves nothing; ensure lifts the block", async () => {
    const nf = new FakeNetfilter();
    await nf.ensure(SPEC);
    expect((await nf.release(SPEC, "failClosed")).ok).toBe(true);
    expect(nf.verdict(SPEC)).toBe("blocked");
    expect(nf.rules().filter.get("FORWARD")).toEqual([
      "-A FORWARD -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset",
    ]);
    expect(nf.rules().nat.has("aad-metadata")).toBe(false);
    await nf.ensure(SPEC);
    expect(nf.verdict(SPEC)).toBe("intercepted");
    expect(nf.rules().filter.get("FORWARD")).toEqual([]);
    await nf.release(SPEC, "remove");
    expect(nf.verdict(SPEC)).toBe("direct");
    expect(nf.rules().nat.get("PREROUTING")).toEqual([]);
  });

  it("injects failures per operation and counts them", async () => {
    const nf = new FakeNetfilter();
    nf.failNext(1, { kind: "lockTimeout", message: "xtables lock" }, ["ensure"]);
    const stop = nf.injectFault((op) => (op === "inspect" ? { kind: "commandFailed", exitCode: 4, stderr: "boom" } : undefined));
    const inspect = await nf.inspect(SPEC);
    const ensure1 = await nf.ensure(SPEC);
    const ensure2 = await nf.ensure(SPEC);
    stop();
    expect([inspect, ensure1, ensure2].map((r) => (r.ok ? "ok" : r.error.kind))).toEqual(["commandFailed", "lockTimeout", "ok"]);
    expect(nf.counts().failures).toBe(2);
  });

  it("property: after any sequence of tampers and releases, one ensure restores interception", async () => {
    const step = fc.oneof(
      fc.constantFrom(...TAMPERS).map((t) => ({ tamper: t }) as const),
      fc.constantFrom("failClosed", "remove").map((m) => ({ release: m as "failClosed" | "remove" }) as const),
    );
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(step, { maxLength: 12 }), async (installFirst, steps) => {
        const nf = new FakeNetfilter();
        if (installFirst) await nf.ensure(SPEC);
        for (const s of steps) {
          if ("tamper" in s) nf.tamper(SPEC, s.tamper);
          else await nf.release(SPEC, s.release);
          const state = await nf.inspect(SPEC);
          // drift is reported exactly when the state is not intact
          expect(state.ok && state.value.intact === (state.value.drift.length === 0)).toBe(true);
        }
        const ensured = await nf.ensure(SPEC);
        expect(ensured.ok && ensured.value.intact).toBe(true);
        expect(nf.verdict(SPEC)).toBe("intercepted");
      }),
      { numRuns: 150 },
    );
  });
});
