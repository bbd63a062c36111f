import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lifecycleStateOf, transition, type LifecycleAction, type LifecycleEvent, type LifecycleState } from "./assigned-identity-lifecycle.js";

/** The world around one (pod, identity) pair: the stored object and the VM's identity set. */
interface World {
  state: LifecycleState;
  objectExists: boolean;
  storedStatus: "Created" | "Assigned" | "Unassigned" | undefined;
  vmHasIdentity: boolean;
  /** ARM confirmed the attachment since the object was (re)created. */
  confirmedSinceCreate: boolean;
  /** The identity was on the VM before we ever touched it (someone else put it there). */
  foreign: boolean;
  detachRequested: boolean;
  /** A re-attach after out-of-band removal failed and the identity has not been attached since. */
  knownMissing: boolean;
}
interface Model {
  wanted: boolean;
}

function fire(world: World, event: LifecycleEvent): LifecycleAction[] {
  const result = transition(world.state, event);
  if (!result.ok) throw new Error(`illegal ${event.type} in ${world.state}`);
  for (const action of result.value.actions) {
    switch (action) {
      case "createAsCreated":
        world.objectExists = true;
        world.storedStatus = "Created";
        world.confirmedSinceCreate = false;
        break;
      case "markCreated":
        expect(world.storedStatus).toBe("Assigned");
        world.storedStatus = "Created";
        world.confirmedSinceCreate = false;
        break;
      case "markAssigned":
        expect(world.objectExists).toBe(true);
        world.storedStatus = "Assigned";
        break;
      case "markUnassigned":
        expect(world.storedStatus).toBe("Assigned");
        world.storedStatus = "Unassigned";
        break;
      case "deleteObject":
        world.objectExists = false;
        world.storedStatus = undefined;
        break;
      case "requestDetach":
        expect(world.state).toBe("Assigned");
        world.detachRequested = true;
        break;
      default:
        break;
    }
  }
  world.state = result.value.state;
  return [...result.value.actions];
}

type Cmd = fc.Command<Model, World>;
const cmd = (name: string, check: (m: Readonly<Model>, w?: World) => boolean, run: (m: Model, w: World) => void): Cmd => ({
  check: (m) => check(m),
  run: (m, w) => {
    if (!check(m, w)) return;
    run(m, w);
    // An object never keeps claiming an identity a failed re-attach showed to be missing.
    if (w.storedStatus === "Assigned") expect(w.knownMissing).toBe(false);
  },
  toString: () => name,
});

const commands = [
  fc.constant(cmd("want", () => true, (m, w) => {
    m.wanted = true;
    if (w.state === "Absent" || w.state === "Deleted" || w.state === "Created" || w.state === "Assigned") fire(w, { type: "desired" });
  })),
  fc.constant(cmd("unwant", () => true, (m, w) => {
    m.wanted = false;
    if (w.state !== "Deleted" && w.state !== "Unassigned") fire(w, { type: "released" });
  })),
  fc.boolean().map((success) => cmd(`armAttach(${success})`, (m, w) => m.wanted && (w === undefined || w.state === "Created"), (_m, w) => {
    if (success) {
      w.vmHasIdentity = true;
      w.knownMissing = false;
      w.confirmedSinceCreate = true;
      fire(w, { type: "attachConfirmed" });
    } else fire(w, { type: "attachFailed", quarantined: false });
  })),
  fc.boolean().map((success) => cmd(`armRepair(${success})`, (m, w) => m.wanted && (w === undefined || (w.state === "Assigned" && !w.vmHasIdentity)), (_m, w) => {
    if (success) {
      w.vmHasIdentity = true;
      fire(w, { type: "attachConfirmed" });
    } else {
      w.knownMissing = true;
      fire(w, { type: "attachFailed", quarantined: false });
    }
  })),
  fc.boolean().map((success) => cmd(`armDetach(${success})`, (m, w) => !m.wanted && (w === undefined || (w.state === "Assigned" && w.detachRequested)), (_m, w) => {
    if (success) {
      w.vmHasIdentity = false;
      fire(w, { type: "detachConfirmed" });
    } else fire(w, { type: "detachFailed" });
  })),
  fc.constant(cmd("outOfBandRemoval", () => true, (_m, w) => {
    w.vmHasIdentity = false;
  })),
  fc.constant(cmd("restart", () => true, (_m, w) => {
    // A new leader knows only the stored object and what ARM shows.
    w.state = lifecycleStateOf(w.storedStatus);
    if (w.state === "Absent") return;
    const actions = fire(w, { type: "recovered", attached: w.vmHasIdentity });
    if (w.vmHasIdentity && actions.includes("markAssigned")) w.confirmedSinceCreate = true;
  })),
];

describe("AzureAssignedIdentity lifecycle (model run)", () => {
  it("keeps its invariants under any interleaving of desires, ARM outcomes, drift and restarts", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.commands(commands, { maxCommands: 60 }), (foreign, cmds) => {
        const world: World = {
          state: "Absent",
          objectExists: false,
          storedStatus: undefined,
          vmHasIdentity: foreign,
          confirmedSinceCreate: false,
          foreign,
          detachRequested: false,
          knownMissing: false,
        };
        fc.modelRun(() => ({ model: { wanted: false }, real: world }), cmds);
        // Assigned is only ever stored after ARM confirmed the identity on the VM.
        if (world.storedStatus === "Assigned") expect(world.confirmedSinceCreate).toBe(true);
        // The stored object and the state agree.
        expect(world.objectExists).toBe(world.state !== "Absent" && world.state !== "Deleted");
      }),
      { numRuns: 300 },
    );
  });

  it("never asks to detach an identity whose object is only Created (it may be someone else's, #898)", () => {
    for (const event of [{ type: "released" }, { type: "detachConfirmed" }, { type: "nodeGone" }] as const) {
      const result = transition("Created", event);
      expect(result.ok && result.value.actions.includes("requestDetach")).toBe(false);
    }
  });

  it("follows the original's happy path Created → Assigned → Unassigned → gone", () => {
    const created = transition("Absent", { type: "desired" });
    expect(created).toEqual({ ok: true, value: { state: "Created", actions: ["createAsCreated", "requestAttach"] } });
    expect(transition("Created", { type: "attachConfirmed" })).toEqual({ ok: true, value: { state: "Assigned", actions: ["markAssigned", "eventApplied"] } });
    expect(transition("Assigned", { type: "released" })).toEqual({ ok: true, value: { state: "Assigned", actions: ["requestDetach"] } });
    expect(transition("Assigned", { type: "detachConfirmed" })).toEqual({ ok: true, value: { state: "Deleted", actions: ["markUnassigned", "deleteObject", "eventRemoved"] } });
  });

  it("treats the legacy empty status as Assigned and reports illegal transitions as values", () => {
    expect(lifecycleStateOf("")).toBe("Assigned");
    expect(lifecycleStateOf(undefined)).toBe("Absent");
    expect(transition("Absent", { type: "attachConfirmed" })).toEqual({ ok: false, error: { kind: "illegalTransition", from: "Absent", event: "attachConfirmed" } });
    expect(transition("Created", { type: "detachFailed" }).ok).toBe(false);
  });

  it("a failed detach keeps the object Assigned so it is retried; node loss deletes without ARM", () => {
    expect(transition("Assigned", { type: "detachFailed" })).toEqual({ ok: true, value: { state: "Assigned", actions: ["eventRemoveError"] } });
    expect(transition("Assigned", { type: "nodeGone" })).toEqual({ ok: true, value: { state: "Deleted", actions: ["deleteObject", "eventRemoved"] } });
    expect(transition("Assigned", { type: "recovered", attached: false })).toEqual({ ok: true, value: { state: "Assigned", actions: ["requestAttach"] } });
  });
});
