/**
 * How `npm run bench:nmi` starts each server process: which entry and arguments, with which node flags and
 * `ENV`. The bare server — the baseline every ratio divides by — and both NMIs start as the image starts NMI (its
 * Dockerfile's flags and `ENV`, `nmi-footprint-image.ts`), so a ratio compares the work per request and not two
 * heap configurations; a second bare server with Node's own heap settings shows what the image's settings cost
 * any server. The candidate starts with the image's settings or its own node flags — or, as the A/A control of
 * its slot, exactly as the bare server; the control with node flags of its own (`BENCH_CANDIDATE_NODE_FLAGS`) shows
 * what those flags do for a server that does nothing but HTTP, beside what they do for NMI.
 * @packageDocumentation
 */
import type { ImageLaunch } from "./nmi-footprint-image.js";

/** The servers of one benchmark run. */
export type Variant = "bare" | "shipped" | "decided" | "bareDefaults" | "candidate";

/** `BENCH_CANDIDATE_MAIN`'s value that puts the bare server in the candidate's slot (the A/A control). */
export const BARE_CANDIDATE = "bare";

/** What `BENCH_CANDIDATE_MAIN` and `BENCH_CANDIDATE_NODE_FLAGS` ask for (both unset: no candidate). */
export interface CandidateRequest {
  readonly main: string | undefined;
  readonly nodeFlags: string | undefined;
}

/**
 * The second bare server's launch: Node's own heap settings (young generation up to 16 MB semi-spaces, glibc's
 * malloc defaults) and no `ENV` — but V8's memory reducer off, as in the image: with the reducer, a collection in
 * one of its pauses (the paced rounds, the other servers' slices) put a server into the V8 slow state that makes
 * a process 1.2–1.5 times dearer per request (`v8-slow-path.ts`). Its ratio to the bare server is what the image's
 * young-generation cap costs a server that does nothing but HTTP (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md,
 * sixth addendum).
 */
export const NODE_DEFAULTS_LAUNCH: ImageLaunch = { nodeFlags: ["--no-memory-reducer"], env: {} };

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

/**
 * The node flags and `ENV` the process of `variant` starts with: `image` is the Dockerfile's launch, `nmi` the one
 * both NMIs start with (the image's unless `BENCH_NMI_NODE_FLAGS` replaced its flags — never the bare server's).
 */
export function launchOf(variant: Variant, image: ImageLaunch, candidate: CandidateRequest, nmi: ImageLaunch = image): ImageLaunch {
  switch (variant) {
    case "bare":
      return image;
    case "bareDefaults":
      return NODE_DEFAULTS_LAUNCH;
    case "shipped":
    case "decided":
      return nmi;
    case "candidate":
      return overrideNodeFlags(image, candidate.nodeFlags);
  }
}

/**
 * The candidate's entry and arguments: the bare server's own (`bareArgv`, with the candidate's port) for the A/A
 * control, else the candidate entry with NMI's flags.
 */
export function candidateArgv(candidate: CandidateRequest, bareArgv: readonly string[], nmiArgv: readonly string[]): string[] {
  if (candidate.main === undefined) throw new Error("candidateArgv: no candidate was asked for");
  return isBareCandidate(candidate) ? [...bareArgv] : [candidate.main, ...nmiArgv];
}
