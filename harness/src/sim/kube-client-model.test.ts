import { describe, expect, it } from "vitest";
import { VirtualClock } from "@podid/testkit";
import { KubeClientModel } from "./kube-client-model.js";

describe("KubeClientModel (the simulation's kube client)", () => {
  it("sends the burst at once, then qps per second, in FIFO order", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const client = new KubeClientModel(clock, { qps: 10, maxConcurrentWrites: 100, roundTripMs: 0 });
    const sentAt: number[] = [];
    const writes = Array.from({ length: 30 }, (_, i) => client.write(async () => void (sentAt[i] = clock.now())));
    await clock.runUntilIdleAsync();
    await Promise.all(writes);
    expect(sentAt.slice(0, 10).every((t) => t === 0)).toBe(true);
    // The 11th token is due 100 ms after the start, the 30th after 2 s.
    expect(sentAt[10]).toBe(100);
    expect(sentAt[29]).toBe(2_000);
    expect([...sentAt].sort((a, b) => a - b)).toEqual(sentAt);
    expect(client.requests).toBe(30);
  });

  it("never has more than maxConcurrentWrites requests in flight", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const client = new KubeClientModel(clock, { qps: 1_000, maxConcurrentWrites: 3, roundTripMs: 50 });
    let inFlight = 0;
    let peak = 0;
    const writes = Array.from({ length: 12 }, () =>
      client.write(async () => {
        peak = Math.max(peak, ++inFlight);
        await clock.sleep(10);
        inFlight--;
      }),
    );
    await clock.runUntilIdleAsync();
    await Promise.all(writes);
    expect(peak).toBeLessThanOrEqual(3);
    // 12 writes, 3 at a time, each holding its slot ~60 ms: about four rounds.
    expect(clock.now()).toBeGreaterThanOrEqual(4 * 60);
  });

  it("sends the Events MIC's recorder writes through the shared bucket", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const client = new KubeClientModel(clock, { qps: 5, maxConcurrentWrites: 20 });
    const events = client.eventRecorder();
    // Seven bindings, one Event each: nothing to aggregate, seven creates, two of them beyond the burst of 5.
    for (let i = 0; i < 7; i++) events.record({ kind: "AzureIdentityBinding", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "ns", name: `b-${i}` }, "Normal", "binding applied", `pod ${i}`);
    await clock.runUntilIdleAsync();
    await events.flush();
    expect(events.sent()).toBe(7);
    expect(client.requests).toBe(7);
    expect(clock.now()).toBeGreaterThanOrEqual(400);
  });

  it("lets Events take only the tokens no AAI write waits for, as the real client does", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const client = new KubeClientModel(clock, { qps: 10, maxConcurrentWrites: 20, roundTripMs: 0 });
    const events = client.eventRecorder();
    const aaiWrittenAt: number[] = [];
    const burst = () => Array.from({ length: 15 }, () => client.write(async () => void aaiWrittenAt.push(clock.now())));
    // Events recorded in the middle of the burst, before half of its writes.
    const writes = burst();
    for (let i = 0; i < 5; i++) events.record({ kind: "AzureIdentityBinding", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "ns", name: `b-${i}` }, "Normal", "binding applied", `pod ${i}`);
    writes.push(...burst());
    await clock.runUntilIdleAsync();
    await Promise.all(writes);
    await events.flush();
    // 30 writes at 10 QPS with a burst of 10: the last at 2 s, as without Events (the old shared FIFO made it 2.3 s).
    expect(Math.max(...aaiWrittenAt)).toBe(2_000);
    expect(events.sent()).toBe(5);
    // The Events go once the bucket is full again (1 s after the last write), one per refill.
    expect(clock.now()).toBe(3_400);
  });

  it("writes only what client-go's Event budget lets through: 50 assignments on one binding cost at most 25 writes", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const client = new KubeClientModel(clock, { qps: 50, maxConcurrentWrites: 20 });
    const events = client.eventRecorder();
    const binding = { kind: "AzureIdentityBinding", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "ns", name: "b" } as const;
    for (let i = 0; i < 50; i++) {
      events.record(binding, "Normal", "binding applied", `Binding b applied on node n to pod pod-${i}`);
      await clock.advanceAsync(20);
    }
    await clock.runUntilIdleAsync();
    await events.flush();
    // 9 distinct Events, then one combined Event and its count bumps, until the object's 25 tokens are spent
    // (the 50 × 20 ms refill one more after 5 min only). One write per Event would have been 50.
    expect(events.sent()).toBeGreaterThanOrEqual(10);
    expect(events.sent()).toBeLessThanOrEqual(25);
    expect(client.requests).toBe(events.sent());
  });

  it("refuses a non-positive qps", () => {
    expect(() => new KubeClientModel(new VirtualClock(), { qps: 0, maxConcurrentWrites: 1 })).toThrow(/qps must be positive/);
  });
});
