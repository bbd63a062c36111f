import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { InvolvedObject } from "@podid/core";
import { COMBINED_MESSAGE_PREFIX, EventCorrelator, eventNamespace } from "./event-correlator.js";

const binding = (name: string): InvolvedObject => ({ kind: "AzureIdentityBinding", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "team-a", name });

describe("EventCorrelator", () => {
  it("counts repeats within the window on one Event and starts a new one after it", () => {
    const c = new EventCorrelator({ windowMs: 1000 });
    const first = c.observe(binding("b"), "Warning", "binding apply error", "boom", 0);
    expect(first).toMatchObject({ kind: "create", event: { count: 1, namespace: "team-a" } });
    const again = c.observe(binding("b"), "Warning", "binding apply error", "boom", 900);
    expect(again).toMatchObject({ kind: "increment", event: { name: first.event.name, count: 2, firstTimestampMs: 0, lastTimestampMs: 900 } });
    expect(c.observe(binding("b"), "Warning", "binding apply error", "other", 950).kind).toBe("create");
    const later = c.observe(binding("b"), "Warning", "binding apply error", "boom", 2000);
    expect(later.kind).toBe("create");
    expect(later.event.name).not.toBe(first.event.name);
  });

  it("matches a model of per-key windows, and names are unique (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: fc.constantFrom("a", "b"), reason: fc.constantFrom("r1", "r2"), gap: fc.integer({ min: 0, max: 700 }) }), { maxLength: 50 }),
        (occurrences) => {
          const c = new EventCorrelator({ windowMs: 1000, spamBurst: 1000 });
          const model = new Map<string, { last: number; count: number }>();
          const names = new Set<string>();
          let now = 0;
          for (const o of occurrences) {
            now += o.gap;
            const d = c.observe(binding(o.name), "Normal", o.reason, "m", now);
            const key = `${o.name}/${o.reason}`;
            const prev = model.get(key);
            const increments = prev !== undefined && now - prev.last <= 1000;
            expect(d.kind).toBe(increments ? "increment" : "create");
            const count = increments ? prev.count + 1 : 1;
            expect(d.event.count).toBe(count);
            model.set(key, { last: now, count });
            if (d.kind === "create") {
              expect(names.has(d.event.name)).toBe(false);
              names.add(d.event.name);
            }
          }
        },
      ),
    );
  });

  it("forgets the least recently seen beyond maxEntries", () => {
    const c = new EventCorrelator({ maxEntries: 2 });
    c.observe(binding("a"), "Normal", "r", "m", 0);
    c.observe(binding("b"), "Normal", "r", "m", 1);
    c.observe(binding("a"), "Normal", "r", "m", 2);
    c.observe(binding("c"), "Normal", "r", "m", 3);
    expect(c.size).toBe(2);
    expect(c.observe(binding("a"), "Normal", "r", "m", 4).kind).toBe("increment");
    expect(c.observe(binding("b"), "Normal", "r", "m", 5).kind).toBe("create");
  });

  it("puts Events about cluster-scoped objects in default", () => {
    expect(eventNamespace({ kind: "Node", apiVersion: "v1", namespace: "", name: "n1" })).toBe("default");
  });

  it("puts the 10th and later distinct messages of one object and reason on one combined Event, as client-go", () => {
    const c = new EventCorrelator();
    const decisions = Array.from({ length: 20 }, (_, i) => c.observe(binding("b"), "Normal", "binding applied", `pod p-${i}`, i));
    expect(decisions.slice(0, 9).every((d) => d.kind === "create" && !d.event.message.startsWith(COMBINED_MESSAGE_PREFIX))).toBe(true);
    const combined = decisions.slice(9);
    expect(combined[0]).toMatchObject({ kind: "create", event: { count: 1, message: `${COMBINED_MESSAGE_PREFIX}pod p-9` } });
    expect(combined.slice(1).every((d) => d.kind === "increment" && d.event.name === combined[0]?.event.name)).toBe(true);
    expect(combined.at(-1)?.event).toMatchObject({ count: 11, message: `${COMBINED_MESSAGE_PREFIX}pod p-19` });
    // Another reason, or another object, starts its own count of distinct messages.
    expect(c.observe(binding("b"), "Warning", "binding apply error", "pod p-0", 30).event.message).toBe("pod p-0");
    expect(c.observe(binding("other"), "Normal", "binding applied", "pod p-0", 31).event.message).toBe("pod p-0");
    // After 10 min without similar Events the distinct messages are forgotten.
    expect(c.observe(binding("b"), "Normal", "binding applied", "pod p-99", 20 + 10 * 60_000 + 1).event.message).toBe("pod p-99");
  });

  it("drops Events about an object beyond a burst of 25, then lets one through per 5 min, as client-go", () => {
    const c = new EventCorrelator();
    const kinds = Array.from({ length: 30 }, (_, i) => c.observe(binding("b"), "Normal", "binding applied", `pod p-${i}`, 0).kind);
    expect(kinds.filter((k) => k !== "skip")).toHaveLength(25);
    expect(kinds.slice(25)).toEqual(["skip", "skip", "skip", "skip", "skip"]);
    expect(c.observe(binding("other"), "Normal", "binding applied", "pod p-0", 0).kind).toBe("create");
    expect(c.observe(binding("b"), "Normal", "binding applied", "pod p-30", 5 * 60_000 - 1).kind).toBe("skip");
    const after = c.observe(binding("b"), "Normal", "binding applied", "pod p-31", 5 * 60_000);
    // The skipped occurrences still count: the combined Event's next write carries them.
    expect(after).toMatchObject({ kind: "increment", event: { count: 23 } });
  });

  it("never lets more than burst + elapsed / refill Events about one object through (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.record({ name: fc.constantFrom("a", "b"), message: fc.constantFrom("m1", "m2", "m3", "m4"), gap: fc.integer({ min: 0, max: 400 }) }), { maxLength: 80 }),
        (burst, occurrences) => {
          const refillMs = 1000;
          const c = new EventCorrelator({ windowMs: 5000, maxSimilarMessages: 3, spamBurst: burst, spamRefillMs: refillMs });
          const written = new Map<string, number[]>();
          let now = 0;
          for (const o of occurrences) {
            now += o.gap;
            const d = c.observe(binding(o.name), "Normal", "r", o.message, now);
            if (d.kind !== "skip") written.set(o.name, [...(written.get(o.name) ?? []), now]);
          }
          for (const times of written.values()) {
            // Every window [times[i], times[j]] holds at most burst + elapsed / refill writes.
            for (let i = 0; i < times.length; i++) {
              for (let j = i; j < times.length; j++) {
                const elapsed = (times[j] ?? 0) - (times[i] ?? 0);
                expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor(elapsed / refillMs));
              }
            }
          }
        },
      ),
    );
  });
});
