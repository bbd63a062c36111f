import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { InvolvedObject } from "@podid/core";
import { EventCorrelator, eventNamespace } from "./event-correlator.js";

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
          const c = new EventCorrelator({ windowMs: 1000 });
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
});
