/**
 * How `npm run bench:nmi` starts each server process: which entry and arguments, with which node flags and
 * `ENV`. The bare server runs with Node's defaults but V8's memory reducer off; both NMIs with the image's settings (read from its
 * Dockerfile, `nmi-footprint-image.ts`); the candidate with the image's settings or its own node flags — or,
 * as the A/A control of its slot, exactly as the bare server.
 * @packageDocumentation
 */
import type { ImageLaunch } from "./nmi-footprint-image.js";

/** The servers of one benchmark run. */
export type Variant = "bare" | "shipped" | "decided" | "candidate";

/** `BENCH_CANDIDATE_MAIN`'s value that puts the bare server in the candidate's slot (the A/A control). */
export const BARE_CANDIDATE = "bare";

/** What `BENCH_CANDIDATE_MAIN` and `BENCH_CANDIDATE_NODE_FLAGS` ask for (both unset: no candidate). */
export interface CandidateRequest {
  readonly main: string | undefined;
  readonly nodeFlags: string | undefined;
}

/**
 * The bare server's launch: Node's defaults, no `ENV` of its own, and V8's memory reducer off. With the reducer,
 * a collection in one of its pauses (the paced rounds, the other servers' slices) put the bare server into the V8
 * slow state that makes a process 1.2–1.5 times dearer per request (`v8-slow-path.ts`), and a dearer baseline
 * flatters NMI's ratios. The baseline is Node's HTTP stack alone, as NMI now runs (the image has the same flag).
 */
export const BARE_LAUNCH: ImageLaunch = { nodeFlags: ["--no-memory-reducer"], env: {} };

/** True when the candidate slot runs the bare server itself. */
export function isBareCandidate(candidate: CandidateRequest): boolean {
  return candidate.main === BARE_CANDIDATE;
}

/**
 * `launch` with its node flags replaced by `flags` (space-separated; empty for none), or as it is when `flags` is
 * undefined — how `BENCH_NMI_NODE_FLAGS` and `BENCH_CANDIDATE_NODE_FLAGS` apply.
 */
export function overrideNodeFlags(launch: ImageLaunch, flags: string | undefined): ImageLaunch {
  return flags === undefined ? launch : { ...launch, nodeFlags: flags.split(/\s+/).filter((f) => f !== "") };
}

/** The node flags and `ENV` the process of `variant` starts with. */
export function launchOf(variant: Variant, image: ImageLaunch, candidate: CandidateRequest): ImageLaunch {
  if (variant === "bare") return BARE_LAUNCH;
  if (variant !== "candidate") return image;
  return isBareCandidate(candidate) ? BARE_LAUNCH : overrideNodeFlags(image, candidate.nodeFlags);
}

/**
 * The candidate's entry and arguments: the bare server's own (`bareArgv`, with the candidate's port) for the A/A
 * control, else the candidate entry with NMI's flags.
 */
export function candidateArgv(candidate: CandidateRequest, bareArgv: readonly string[], nmiArgv: readonly string[]): string[] {
  if (candidate.main === undefined) throw new Error("candidateArgv: no candidate was asked for");
  return isBareCandidate(candidate) ? [...bareArgv] : [candidate.main, ...nmiArgv];
}
