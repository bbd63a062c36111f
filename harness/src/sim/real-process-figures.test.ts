import { describe, expect, it } from "vitest";
import { BURST_CURVE_POINTS, SCENARIOS } from "../bench/mic-real.bench.js";
import { arrivalOffsetsMs } from "./burst-arrivals.js";
import { REAL_PROCESS_FIGURES } from "./real-process-figures.js";

describe("the real-process runs sim:scale replays", () => {
  for (const scenario of ["2k", "10k"] as const) {
    it(`${scenario}: a whole bench:mic-real run of the shape sim:scale simulates, copied intact`, () => {
      const run = REAL_PROCESS_FIGURES.runs[scenario];
      const shape = SCENARIOS[scenario];
      expect(run).toMatchObject({ scenario, pods: shape.pods, nodes: shape.nodes, identities: shape.identities });
      expect(run.allAssignedS).not.toBeNull();
      expect(Object.values(run.kubeWritesByResource).reduce((a, b) => a + b, 0)).toBe(run.kubeWrites);
      // The creation curve is the run's own: one point per 5 % of the pods, ending when the burst ended.
      expect(run.burstCurveS).toHaveLength(BURST_CURVE_POINTS);
      expect(Math.abs((run.burstCurveS?.at(-1) ?? Number.NaN) - run.burstS)).toBeLessThanOrEqual(0.05);
      expect(() => arrivalOffsetsMs(run.pods, run.burstCurveS ?? [])).not.toThrow();
    });
  }
});
