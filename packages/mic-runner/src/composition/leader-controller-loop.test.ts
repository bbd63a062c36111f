import { describe, expect, it } from "vitest";
import type { Unsubscribe } from "@podid/core";
import { FakeCluster, RecordingLogger, VirtualClock } from "@podid/testkit";
import { MicController } from "../controller/mic-controller.js";
import { LeaderControllerLoop } from "./leader-controller-loop.js";
import type { MicKubeReader, MicLeadership } from "./mic-ports.js";

/** A leadership whose wins and losses the test decides. */
class ScriptedLeadership implements MicLeadership {
  readonly identity = "mic-test";
  leading = false;
  started = false;
  stoppedWith: { release?: boolean } | undefined;
  readonly #listeners = new Set<(leading: boolean) => void>();
  start(): void {
    this.started = true;
  }
  async stop(options: { readonly release?: boolean } = {}): Promise<void> {
    this.stoppedWith = options;
    this.set(false);
  }
  isLeader(): boolean {
    return this.leading;
  }
  onLeadershipChange(listener: (leading: boolean) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    for (const listener of this.#listeners) listener(leading);
  }
}

function setUp() {
  const clock = new VirtualClock({ startMs: 1_700_000_000_000 });
  const cluster = new FakeCluster({ clock });
  let synced!: () => void;
  const syncedPromise = new Promise<void>((resolve) => (synced = resolve));
  const reader: MicKubeReader = Object.assign(Object.create(cluster) as FakeCluster, {
    start: () => undefined,
    stop: async () => undefined,
    whenSynced: () => syncedPromise,
  });
  const leadership = new ScriptedLeadership();
  const created: MicController[] = [];
  const active: boolean[] = [];
  const loop = new LeaderControllerLoop({
    leadership,
    reader,
    logger: new RecordingLogger({ clock }),
    createController: () => {
      const controller = new MicController({ reader: cluster, writer: cluster, compute: { getIdentities: async () => ({ ok: false, error: { kind: "transient", message: "unused" } }), patchIdentities: async () => ({ ok: false, error: { kind: "transient", message: "unused" } }) }, clock, logger: new RecordingLogger({ clock }), isLeader: () => leadership.isLeader() });
      created.push(controller);
      return controller;
    },
    onActiveChange: (a) => active.push(a),
  });
  return { loop, leadership, synced, created, active };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("LeaderControllerLoop", () => {
  it("runs a controller only while leading, after the caches synced, and a fresh one per term", async () => {
    const { loop, leadership, synced, created, active } = setUp();
    loop.start();
    expect(leadership.started).toBe(true);
    leadership.set(true);
    await flush();
    expect(created).toHaveLength(0); // caches not synced yet
    synced();
    await flush();
    expect(created).toHaveLength(1);
    expect(loop.active).toBe(true);

    leadership.set(false);
    expect(loop.active).toBe(false);
    expect(loop.controller).toBeUndefined();
    leadership.set(true);
    await flush();
    expect(created).toHaveLength(2);
    expect(active).toEqual([true, false, true]);
  });

  it("ignores a win that is lost again before the caches sync", async () => {
    const { loop, leadership, synced, created } = setUp();
    loop.start();
    leadership.set(true);
    leadership.set(false);
    synced();
    await flush();
    expect(created).toHaveLength(0);
    expect(loop.active).toBe(false);
  });

  it("restarts the controller on request and stops it, then the campaign, releasing the Lease", async () => {
    const { loop, leadership, synced, created, active } = setUp();
    synced();
    loop.start();
    leadership.set(true);
    await flush();
    loop.restartController("cluster identity changed");
    expect(created).toHaveLength(2);
    await loop.stop({ release: true });
    expect(leadership.stoppedWith).toEqual({ release: true });
    expect(loop.controller).toBeUndefined();
    expect(active).toEqual([true, false, true, false]);
    loop.restartController("after stop: nothing to restart");
    expect(created).toHaveLength(2);
  });
});
