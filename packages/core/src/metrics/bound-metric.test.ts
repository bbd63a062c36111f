import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MetricLabels, MetricsPort } from "../ports/metrics.port.js";
import { bindMetric, boundByName } from "./bound-metric.js";

/** A sink that writes down every call. */
function recorder(calls: unknown[][]): MetricsPort {
  return {
    increment: (name, labels, value) => calls.push(["increment", name, { ...labels }, value]),
    observe: (name, labels, value) => calls.push(["observe", name, { ...labels }, value]),
    setGauge: (name, labels, value) => calls.push(["setGauge", name, { ...labels }, value]),
  };
}

const labels = fc.dictionary(fc.constantFrom("a", "b", "result"), fc.string({ maxLength: 5 }));
const record = fc.array(fc.record({ kind: fc.constantFrom("increment" as const, "observe" as const), value: fc.option(fc.double({ noNaN: true }), { nil: undefined }) }), { maxLength: 10 });

describe("bound metrics", () => {
  it("a series bound by name records exactly the calls made by name, with the labels as they were when bound", () => {
    fc.assert(
      fc.property(labels, record, (given, steps) => {
        const viaBound: unknown[][] = [];
        const direct: unknown[][] = [];
        const own: Record<string, string> = { ...given };
        const bound = boundByName(recorder(viaBound), "m", own);
        for (const k of Object.keys(own)) own[k] = "changed";
        const sink = recorder(direct);
        for (const s of steps) {
          if (s.kind === "increment") {
            bound.increment(s.value);
            sink.increment("m", given, s.value);
          } else {
            bound.observe(s.value ?? 0);
            sink.observe("m", given, s.value ?? 0);
          }
        }
        expect(viaBound).toEqual(direct);
      }),
    );
  });

  it("uses the sink's own binding when it has one", () => {
    const own = { increment: () => undefined, observe: () => undefined };
    const calls: unknown[][] = [];
    const sink: MetricsPort = { ...recorder(calls), bind: (name: string, l: MetricLabels) => (calls.push(["bind", name, l]), own) };
    expect(bindMetric(sink, "m", { a: "1" })).toBe(own);
    expect(calls).toEqual([["bind", "m", { a: "1" }]]);
    const plain = recorder(calls);
    bindMetric(plain, "n", { b: "2" }).increment(3);
    expect(calls.at(-1)).toEqual(["increment", "n", { b: "2" }, 3]);
  });
});
