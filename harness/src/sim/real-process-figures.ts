/**
 * The real-process runs `sim:scale` replays and compares with, kept here (and only here) with the command and
 * date that produced them. Each is the JSON of one scenario as `npm run bench:mic-real -- --scenario 2k|10k`
 * prints it and writes it to its result file; refresh them by running that command and copying the scenario's
 * object, or compare with a fresh run without copying: `npm run sim:scale -- --real <result file>`.
 * Wall-clock figures from a shared 2-CPU machine: other work slows the burst's creation and MIC alike.
 * @packageDocumentation
 */
import type { MicRealResult } from "../bench/mic-real.bench.js";

/** Real-process runs of both burst shapes and where they came from. */
export interface RealProcessFigures {
  /** Where the figures were read from. */
  readonly source: string;
  readonly command: string;
  /** When and on what they were measured. */
  readonly measured: string;
  readonly runs: Readonly<Record<"2k" | "10k", MicRealResult>>;
}

/** The runs stored in the repository. */
export const REAL_PROCESS_FIGURES: RealProcessFigures = {
  source: "harness/src/sim/real-process-figures.ts",
  command: "npm run bench:mic-real -- --scenario 2k, then -- --scenario 10k",
  measured: "2026-12-06, 2k started 09:22 UTC, 10k 09:25 UTC, commit 06a471e with other work in progress in the tree, on a shared 2-CPU machine running other tests (and, for the 10k run, another bench:mic-real)",
  runs: {
    "2k": {
      scenario: "2k", pods: 2000, nodes: 30, scaleSets: 1, identities: 100, patchLatencyS: 5, clientQps: 50,
      burstS: 5.3, burstCurveS: [0.19, 0.38, 0.51, 0.73, 0.83, 1.11, 1.52, 1.62, 1.73, 1.8, 2.02, 2.34, 3.06, 3.51, 3.75, 4.2, 4.6, 4.82, 5.06, 5.3],
      firstAssignedS: 8.9, allAssignedS: 119.8, allAssignedTargetS: 95, allAssignedTargetWithEventsS: 135, peakRssMb: 152, steadyRssMb: 127,
      kubeWrites: 6012, kubeWritesByResource: { leases: 32, azureassignedidentities: 4000, events: 1980 }, kubeReads: 42, armPatches: 1, armGets: 2, micCpuS: 10.2,
    },
    "10k": {
      scenario: "10k", pods: 10000, nodes: 500, scaleSets: 10, identities: 200, patchLatencyS: 5, clientQps: 50,
      burstS: 10.1, burstCurveS: [0.97, 2.11, 3.16, 4.22, 5.36, 6.18, 6.79, 7.14, 7.44, 7.8, 8.09, 8.31, 8.45, 8.61, 8.75, 9.01, 9.31, 9.63, 9.83, 10.14],
      firstAssignedS: 8, allAssignedS: 505.2, allAssignedTargetS: 415, allAssignedTargetWithEventsS: 615, peakRssMb: 219, steadyRssMb: 218,
      kubeWrites: 25333, kubeWritesByResource: { leases: 133, azureassignedidentities: 20000, events: 5200 }, kubeReads: 147, armPatches: 20, armGets: 46, micCpuS: 33.8,
    },
  },
};
