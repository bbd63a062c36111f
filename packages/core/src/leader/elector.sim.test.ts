import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { KubeError } from "../ports/kube-errors.js";
import type { LeaseRecord } from "../ports/lease-store.port.js";
import type { Result } from "../result.js";
import { err, ok } from "../result.js";
import type { LeaderElectionConfig } from "./config.js";
import { defaultLeaderElectionConfig } from "./config.js";
import type { ElectionAction, ElectionStep, ElectorState, LeaseObservation } from "./elector.js";
import {
  createElector,
  effectiveLeaseDurationMs,
  isLeader,
  leaseWriteFailed,
  leaseWriteSucceeded,
  observeLease,
  releaseLease,
} from "./elector.js";

const T0 = 1_700_000_000_000;

/** A Lease in memory with the API server's optimistic concurrency: every write bumps resourceVersion. */
class MemoryLease {
  record: LeaseRecord | undefined;
  private version = 0;

  read(): LeaseObservation {
    return this.record === undefined ? { kind: "absent" } : { kind: "present", record: this.record };
  }

  apply(action: WriteAction): Result<LeaseRecord, KubeError> {
    if (action.kind === "create") {
      if (this.record !== undefined) return err({ kind: "conflict", alreadyExists: true, message: "already exists" });
    } else if (this.record?.resourceVersion !== action.record.resourceVersion) {
      return err({ kind: "conflict", alreadyExists: false, message: "the object has been modified" });
    }
    this.version++;
    this.record = { ...action.record, resourceVersion: String(this.version) };
    return ok(this.record);
  }
}

type WriteAction = Extract<ElectionAction, { kind: "create" | "acquire" | "renew" | "release" }>;
const isWrite = (a: ElectionAction): a is WriteAction =>
  a.kind === "create" || a.kind === "acquire" || a.kind === "renew" || a.kind === "release";

/** How a write fares on the way: applied and answered, lost before the server, or applied with the answer lost. */
type WriteFate = "ok" | "failBeforeCommit" | "lostAnswer";

function deliver(state: ElectorState, action: WriteAction, fate: WriteFate, store: MemoryLease, now: number): ElectionStep {
  if (fate === "failBeforeCommit") return leaseWriteFailed(state, action.writeId, { kind: "transient", message: "connection reset" }, now);
  const result = store.apply(action);
  if (fate === "lostAnswer") return leaseWriteFailed(state, action.writeId, { kind: "transient", message: "timeout" }, now);
  return answer(state, action, result, now);
}

function answer(state: ElectorState, action: WriteAction, result: Result<LeaseRecord, KubeError>, now: number): ElectionStep {
  return result.ok ? leaseWriteSucceeded(state, action.writeId, result.value, now) : leaseWriteFailed(state, action.writeId, result.error, now);
}

interface Elector {
  state: ElectorState;
  alive: boolean;
  /** This node's clock minus real time. */
  skewMs: number;
  /** A write sent and not yet answered; `result` is set once the server has applied (or refused) it. */
  inFlight?: { action: WriteAction; result?: Result<LeaseRecord, KubeError> };
}

interface World {
  /** Real time; each elector sees `now + skewMs`. */
  now: number;
  store: MemoryLease;
  electors: Elector[];
}

const localNow = (w: World, e: Elector): number => w.now + e.skewMs;

/**
 * At any real instant at most one elector, stopped ones included (a paused process keeps its state
 * and its clock runs on), leads by its own clock, and the leader is the Lease's holder.
 */
function checkSafety(w: World): void {
  const leaders = w.electors.filter((e) => isLeader(e.state, localNow(w, e)));
  expect(leaders.length).toBeLessThanOrEqual(1);
  for (const l of leaders) expect(w.store.record?.holderIdentity).toBe(l.state.config.identity);
}

/** The model only budgets stops: at least two electors stay alive, so there is always contention. */
interface SimModel {
  stopsLeft: number;
}

type Cmd = fc.Command<SimModel, World>;

class AdvanceCommand implements Cmd {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  check(): boolean {
    return true;
  }
  run(_m: SimModel, w: World): void {
    w.now += this.ms;
    checkSafety(w);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

/**
 * Jumps real time to just around an instant that matters to elector `who`: when the stored Lease
 * expires by its clock, or when its own leadership runs out. Random steps rarely land there.
 */
class AdvanceToBoundaryCommand implements Cmd {
  readonly who: number;
  readonly boundary: "leaseExpiry" | "renewDeadline";
  readonly offsetMs: number;
  constructor(who: number, boundary: "leaseExpiry" | "renewDeadline", offsetMs: number) {
    this.who = who;
    this.boundary = boundary;
    this.offsetMs = offsetMs;
  }
  check(): boolean {
    return true;
  }
  run(_m: SimModel, w: World): void {
    const e = w.electors[this.who];
    const record = w.store.record;
    if (e === undefined) return;
    const expiry = record === undefined ? undefined : record.renewTime + effectiveLeaseDurationMs(record, e.state.config);
    const local = this.boundary === "renewDeadline" ? e.state.leaderUntilMs : expiry;
    if (local === undefined) return;
    const target = local + this.offsetMs - e.skewMs;
    if (target > w.now) w.now = target;
    checkSafety(w);
  }
  toString(): string {
    return `advanceTo(${this.who},${this.boundary}${this.offsetMs >= 0 ? "+" : ""}${this.offsetMs})`;
  }
}

/** Elector `who` reads the Lease (or fails to) and decides; a write it decides on is sent, not yet applied. */
class AttemptCommand implements Cmd {
  readonly who: number;
  readonly readFails: boolean;
  constructor(who: number, readFails: boolean) {
    this.who = who;
    this.readFails = readFails;
  }
  check(): boolean {
    return true;
  }
  run(_m: SimModel, w: World): void {
    const e = w.electors[this.who];
    if (e === undefined || !e.alive || e.inFlight !== undefined) return;
    const observation: LeaseObservation = this.readFails ? { kind: "error", error: { kind: "transient", message: "timeout" } } : w.store.read();
    const step = observeLease(e.state, observation, localNow(w, e));
    e.state = step.state;
    if (isWrite(step.action)) e.inFlight = { action: step.action };
    checkSafety(w);
  }
  toString(): string {
    return `attempt(${this.who}${this.readFails ? ",readFails" : ""})`;
  }
}

/** The API server applies elector `who`'s sent write now (any time after it was decided). */
class CommitCommand implements Cmd {
  readonly who: number;
  constructor(who: number) {
    this.who = who;
  }
  check(): boolean {
    return true;
  }
  run(_m: SimModel, w: World): void {
    const e = w.electors[this.who];
    if (e?.inFlight === undefined || e.inFlight.result !== undefined) return;
    e.inFlight.result = w.store.apply(e.inFlight.action);
    checkSafety(w);
  }
  toString(): string {
    return `commit(${this.who})`;
  }
}

/**
 * Elector `who` hears about its write: the server's answer if it was applied (or a timeout when
 * `lost`), a connection error if it never arrived. Stopped electors hear nothing.
 */
class AnswerCommand implements Cmd {
  readonly who: number;
  readonly lost: boolean;
  constructor(who: number, lost: boolean) {
    this.who = who;
    this.lost = lost;
  }
  check(): boolean {
    return true;
  }
  run(_m: SimModel, w: World): void {
    const e = w.electors[this.who];
    if (e?.inFlight === undefined || !e.alive) return;
    const { action, result } = e.inFlight;
    delete e.inFlight;
    const now = localNow(w, e);
    const transient: KubeError = { kind: "transient", message: result === undefined ? "connection reset" : "timeout" };
    const failed = result === undefined || this.lost;
    e.state = (failed ? leaseWriteFailed(e.state, action.writeId, transient, now) : answer(e.state, action, result, now)).state;
    checkSafety(w);
  }
  toString(): string {
    return `answer(${this.who}${this.lost ? ",lost" : ""})`;
  }
}

/** Elector `who` reads, decides and, if it writes, has the write applied and answered, all at once. */
class RoundTripCommand implements Cmd {
  readonly who: number;
  constructor(who: number) {
    this.who = who;
  }
  check(): boolean {
    return true;
  }
  run(m: SimModel, w: World): void {
    new AttemptCommand(this.who, false).run(m, w);
    new CommitCommand(this.who).run(m, w);
    new AnswerCommand(this.who, false).run(m, w);
  }
  toString(): string {
    return `roundTrip(${this.who})`;
  }
}

class StopCommand implements Cmd {
  readonly who: number;
  constructor(who: number) {
    this.who = who;
  }
  check(m: Readonly<SimModel>): boolean {
    return m.stopsLeft > 0;
  }
  run(m: SimModel, w: World): void {
    const e = w.electors[this.who];
    if (e === undefined || !e.alive) return;
    e.alive = false;
    m.stopsLeft--;
    checkSafety(w);
  }
  toString(): string {
    return `stop(${this.who})`;
  }
}

class ReleaseCommand implements Cmd {
  readonly who: number;
  constructor(who: number) {
    this.who = who;
  }
  check(): boolean {
    return true;
  }
  run(_m: SimModel, w: World): void {
    const e = w.electors[this.who];
    if (e === undefined || !e.alive || e.inFlight !== undefined) return;
    const step = releaseLease(e.state, localNow(w, e));
    if (step === undefined) return;
    e.state = step.state;
    if (isWrite(step.action)) e.inFlight = { action: step.action };
    checkSafety(w);
  }
  toString(): string {
    return `release(${this.who})`;
  }
}

function electorCommands(n: number, config: LeaderElectionConfig): fc.Arbitrary<Cmd>[] {
  const who = fc.integer({ min: 0, max: n - 1 });
  const rarely = fc.integer({ min: 0, max: 5 }).map((r) => r === 0);
  return [
    fc.integer({ min: 0, max: config.leaseDurationMs }).map((ms) => new AdvanceCommand(ms)),
    fc.integer({ min: 0, max: config.retryPeriodMs }).map((ms) => new AdvanceCommand(ms)),
    fc
      .tuple(who, fc.constantFrom("leaseExpiry" as const, "renewDeadline" as const), fc.integer({ min: -2, max: 2 }))
      .map(([i, b, o]) => new AdvanceToBoundaryCommand(i, b, o)),
    fc.tuple(who, rarely).map(([i, fails]) => new AttemptCommand(i, fails)),
    fc.tuple(who, rarely).map(([i, fails]) => new AttemptCommand(i, fails)),
    who.map((i) => new CommitCommand(i)),
    who.map((i) => new CommitCommand(i)),
    who.map((i) => new RoundTripCommand(i)),
    who.map((i) => new RoundTripCommand(i)),
    fc.tuple(who, rarely).map(([i, lost]) => new AnswerCommand(i, lost)),
    fc.tuple(who, rarely).map(([i, lost]) => new AnswerCommand(i, lost)),
    who.map((i) => new StopCommand(i)),
    who.map((i) => new ReleaseCommand(i)),
  ];
}

/** N electors sharing one Lease, each node's clock off by up to `leaseDuration − renewDeadline` in total. */
const scenario = fc.integer({ min: 2, max: 4 }).chain((n) => {
  const config = defaultLeaderElectionConfig("mic", 15_000);
  const margin = config.leaseDurationMs - config.renewDeadlineMs;
  return fc.record({
    n: fc.constant(n),
    // The extremes matter most: one clock exactly `margin` ahead of another.
    skews: fc.array(fc.oneof(fc.constant(0), fc.constant(margin), fc.integer({ min: 0, max: margin })), { minLength: n, maxLength: n }),
    cmds: fc.commands(electorCommands(n, config), { size: "xlarge", maxCommands: 200 }),
  });
});

describe("lease election: safety with N electors sharing one Lease", () => {
  it("never has two leaders at once, whatever the clock steps, skews within the margin, failures, late answers and stopped electors", () => {
    fc.assert(
      fc.property(scenario, ({ n, skews, cmds }) => {
        const setup = (): { model: SimModel; real: World } => ({
          model: { stopsLeft: n - 2 },
          real: {
            now: T0,
            store: new MemoryLease(),
            electors: Array.from({ length: n }, (_, i) => ({
              state: createElector(defaultLeaderElectionConfig(`mic-${i}`, 15_000)),
              alive: true,
              skewMs: skews[i] ?? 0,
            })),
          },
        });
        fc.modelRun(setup, cmds);
      }),
      { numRuns: 300 },
    );
  });
});

/** Per-attempt failure dice for the liveness runs (only before the leader stops). */
interface Dice {
  next(): number;
}

interface RunOptions {
  readonly configs: readonly LeaderElectionConfig[];
  /** First attempt of each elector, ms after T0. */
  readonly offsets: readonly number[];
  /** Reads and writes fail at random until this instant, never after. */
  readonly failuresUntil: number;
  readonly dice: Dice;
  /** Stop the leader (or, with none, elector 0) at this instant. */
  readonly stopAt?: number;
  readonly until: number;
  readonly initial?: LeaseRecord;
  /** Instants at which to record whether some live elector leads. */
  readonly probes?: readonly number[];
}

/**
 * A discrete-event run: each live elector acts at its `retryAtMs` (reads and writes take no time),
 * safety is checked after every step, and the result says who leads at the end.
 */
function run(opts: RunOptions): { world: World; stopped?: number; electedAt: Map<number, number>; ledAtProbe: Map<number, boolean> } {
  const store = new MemoryLease();
  if (opts.initial !== undefined) store.record = opts.initial;
  const world: World = { now: T0, store, electors: opts.configs.map((c) => ({ state: createElector(c), alive: true, skewMs: 0 })) };
  const nextAt = opts.offsets.map((o) => T0 + o);
  const electedAt = new Map<number, number>();
  const ledAtProbe = new Map<number, boolean>();
  const probe = (upTo: number): void => {
    for (const p of opts.probes ?? []) {
      if (p < upTo && !ledAtProbe.has(p)) ledAtProbe.set(p, world.electors.some((e) => e.alive && isLeader(e.state, p)));
    }
  };
  let stopped: number | undefined;
  for (;;) {
    let who = -1;
    for (let i = 0; i < nextAt.length; i++) {
      if (world.electors[i]?.alive && (who === -1 || (nextAt[i] ?? Infinity) < (nextAt[who] ?? Infinity))) who = i;
    }
    const at = nextAt[who];
    if (opts.stopAt !== undefined && stopped === undefined && (at === undefined || at >= opts.stopAt)) {
      world.now = opts.stopAt;
      const leader = world.electors.findIndex((e) => isLeader(e.state, world.now));
      stopped = leader === -1 ? 0 : leader;
      const victim = world.electors[stopped];
      if (victim !== undefined) victim.alive = false;
      continue;
    }
    if (who === -1 || at === undefined || at > opts.until) break;
    probe(at);
    world.now = at;
    const e = world.electors[who];
    if (e === undefined) break;
    const failing = world.now < opts.failuresUntil;
    const readFails = failing && opts.dice.next() === 0;
    let step = observeLease(e.state, readFails ? { kind: "error", error: { kind: "transient", message: "x" } } : store.read(), world.now);
    e.state = step.state;
    if (isWrite(step.action)) {
      const roll = failing ? opts.dice.next() : 9;
      step = deliver(e.state, step.action, roll === 0 ? "failBeforeCommit" : roll === 1 ? "lostAnswer" : "ok", store, world.now);
      e.state = step.state;
    }
    if (step.transition === "elected") electedAt.set(who, world.now);
    if (isWrite(step.action)) throw new Error("a write result never asks for another write");
    nextAt[who] = step.action.retryAtMs;
    checkSafety(world);
  }
  probe(opts.until + 1);
  world.now = opts.until;
  return stopped === undefined ? { world, electedAt, ledAtProbe } : { world, stopped, electedAt, ledAtProbe };
}

const diceFrom = (stream: fc.Stream<number>): Dice => {
  const it = stream[Symbol.iterator]();
  return { next: () => it.next().value as number };
};

describe("lease election: liveness", () => {
  it("a single elector becomes leader within one retry period", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 60 }).map((s) => s * 1000),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.option(fc.integer({ min: 1, max: 10_000_000 }), { nil: undefined }),
        (leaseMs, phase, staleForMs) => {
          const config = defaultLeaderElectionConfig("mic-0", leaseMs);
          // No Lease, or one left behind by a crashed holder long enough ago to have expired.
          const initial =
            staleForMs === undefined
              ? undefined
              : {
                  holderIdentity: "ghost",
                  leaseDurationSeconds: leaseMs / 1000,
                  acquireTime: 0,
                  renewTime: T0 - leaseMs - staleForMs,
                  leaseTransitions: 2,
                  resourceVersion: "1",
                };
          const offset = Math.floor(phase * config.retryPeriodMs);
          const result = run({
            configs: [config],
            offsets: [offset],
            failuresUntil: 0,
            dice: { next: () => 9 },
            until: T0 + config.retryPeriodMs,
            ...(initial === undefined ? {} : { initial }),
          });
          expect(result.electedAt.get(0)).toBe(T0 + offset);
          expect(isLeader(result.world.electors[0]?.state ?? createElector(config), T0 + config.retryPeriodMs)).toBe(true);
          if (initial !== undefined) expect(result.world.store.record?.leaseTransitions).toBe(3);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("when the leader stops, another elector leads within leaseDuration + retryPeriod, and keeps leading", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.integer({ min: 4, max: 30 }).map((s) => s * 1000),
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 5, maxLength: 5 }),
        fc.integer({ min: 0, max: 200_000 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 5 })),
        (n, leaseMs, phases, stopAfter, stream) => {
          const configs = Array.from({ length: n }, (_, i) => defaultLeaderElectionConfig(`mic-${i}`, leaseMs));
          const retryMs = configs[0]?.retryPeriodMs ?? 0;
          const stopAt = T0 + stopAfter;
          const deadline = stopAt + leaseMs + retryMs;
          const until = deadline + 3 * leaseMs;
          const probes = [deadline, deadline + retryMs, deadline + leaseMs, until];
          const result = run({
            configs,
            offsets: phases.slice(0, n).map((p) => Math.floor(p * retryMs)),
            failuresUntil: stopAt,
            dice: diceFrom(stream),
            stopAt,
            until,
            probes,
          });
          expect(result.stopped).toBeDefined();
          // From the deadline on, with no more failures, some live elector always leads.
          for (const p of probes) expect(result.ledAtProbe.get(p)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
