import { describe, expect, it } from "vitest";
import { candidateArgv, launchOf, NODE_DEFAULTS_LAUNCH, overrideNodeFlags, type CandidateRequest } from "./nmi-bench-launch.js";

const IMAGE = { nodeFlags: ["--max-semi-space-size=2"], env: { MALLOC_ARENA_MAX: "1" } };
const NONE: CandidateRequest = { main: undefined, nodeFlags: undefined };
const BARE_ARGV = ["/bench/nmi-bench-bare-main.js", "127.0.0.1", "2581", "/tmp/body.json"];
const NMI_ARGV = ["--node=node-a", "--nmi-port=2581"];

describe("bench:nmi launches", () => {
  it("starts the bare server and both NMIs with the image's settings: the ratios compare work, not heap settings", () => {
    expect(launchOf("bare", IMAGE, NONE)).toBe(IMAGE);
    expect(launchOf("shipped", IMAGE, NONE)).toBe(IMAGE);
    expect(launchOf("decided", IMAGE, NONE)).toBe(IMAGE);
  });

  it("starts the second bare server with Node's heap settings, V8's memory reducer still off", () => {
    // The reducer's idle collections put a process into V8's slow state (ADR 4, fifth addendum): not a baseline.
    expect(launchOf("bareDefaults", IMAGE, NONE)).toEqual({ nodeFlags: ["--no-memory-reducer"], env: {} });
    expect(NODE_DEFAULTS_LAUNCH).toEqual({ nodeFlags: ["--no-memory-reducer"], env: {} });
  });

  it("gives BENCH_NMI_NODE_FLAGS' launch to the two NMIs only, never to a bare server", () => {
    const traced = overrideNodeFlags(IMAGE, "--max-semi-space-size=2 --trace-gc");
    expect(launchOf("shipped", IMAGE, NONE, traced)).toBe(traced);
    expect(launchOf("decided", IMAGE, NONE, traced)).toBe(traced);
    expect(launchOf("bare", IMAGE, NONE, traced)).toBe(IMAGE);
    expect(launchOf("bareDefaults", IMAGE, NONE, traced)).toBe(NODE_DEFAULTS_LAUNCH);
    expect(launchOf("candidate", IMAGE, { main: "/tmp/old/main.js", nodeFlags: undefined }, traced)).toBe(IMAGE);
  });

  it("starts a candidate entry with the image's settings, or its own node flags (empty: none)", () => {
    const candidate = { main: "/tmp/old/main.js", nodeFlags: undefined };
    expect(launchOf("candidate", IMAGE, candidate)).toBe(IMAGE);
    expect(launchOf("candidate", IMAGE, { ...candidate, nodeFlags: "--max-semi-space-size=3  --trace-gc" })).toEqual({
      nodeFlags: ["--max-semi-space-size=3", "--trace-gc"],
      env: IMAGE.env,
    });
    expect(launchOf("candidate", IMAGE, { ...candidate, nodeFlags: "" }).nodeFlags).toEqual([]);
    expect(candidateArgv(candidate, BARE_ARGV, NMI_ARGV)).toEqual(["/tmp/old/main.js", ...NMI_ARGV]);
  });

  it("runs the A/A control exactly as the bare server: its entry, arguments, node flags and ENV", () => {
    const control = { main: "bare", nodeFlags: undefined };
    expect(launchOf("candidate", IMAGE, control)).toBe(launchOf("bare", IMAGE, NONE));
    expect(candidateArgv(control, BARE_ARGV, NMI_ARGV)).toEqual(BARE_ARGV);
  });

  it("gives the A/A control BENCH_CANDIDATE_NODE_FLAGS when set, so a flag is measured on the bare server too", () => {
    const control = { main: "bare", nodeFlags: "--use-largepages=on" };
    expect(launchOf("candidate", IMAGE, control)).toEqual({ nodeFlags: ["--use-largepages=on"], env: IMAGE.env });
    expect(launchOf("bare", IMAGE, control)).toBe(IMAGE);
    expect(candidateArgv(control, BARE_ARGV, NMI_ARGV)).toEqual(BARE_ARGV);
  });

  it("refuses to name a candidate's arguments when none was asked for", () => {
    expect(() => candidateArgv(NONE, BARE_ARGV, NMI_ARGV)).toThrow(/no candidate/);
  });

  it("leaves a launch as it is without flags to override", () => {
    expect(overrideNodeFlags(IMAGE, undefined)).toBe(IMAGE);
  });
});
