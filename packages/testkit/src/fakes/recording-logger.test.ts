import { describe, expect, it } from "vitest";
import { VirtualClock } from "../clock/virtual-clock.js";
import { RecordingLogger } from "./recording-logger.js";

describe("RecordingLogger", () => {
  it("records lines with merged child bindings in one shared, ordered sink", () => {
    const clock = new VirtualClock({ startMs: 42 });
    const root = new RecordingLogger({ clock, bindings: { component: "mic" } });
    const cycle = root.child({ cycle: 7 });
    const node = cycle.child({ node: "n1", cycle: 8 });
    root.info({}, "starting");
    node.warn({ identity: "id1", node: "override" }, "assign failed");
    cycle.debug({ n: 1 }, "tick");
    expect(root.lines.map((l) => [l.seq, l.level, l.message])).toEqual([
      [1, "info", "starting"],
      [2, "warn", "assign failed"],
      [3, "debug", "tick"],
    ]);
    expect(node.lines).toBe(root.lines);
    expect(root.find("assign failed")?.fields).toEqual({ component: "mic", cycle: 8, node: "override", identity: "id1" });
    expect(root.find("assign failed")?.bindings).toEqual({ component: "mic", cycle: 8, node: "n1" });
    expect(root.find(/^tick$/, "debug")?.atMs).toBe(42);
    expect(root.find("tick", "info")).toBeUndefined();
    expect(root.atLevel("warn")).toHaveLength(1);
    expect(root.findAll(/a/)).toHaveLength(2);
  });

  it("mentions finds leaked text in messages and nested fields, and never throws on odd values", () => {
    const logger = new RecordingLogger();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic["self"] = cyclic;
    logger.error({ nested: { token: "eyJhbGciOi.secret" }, big: 10n, cyclic }, "token refresh failed");
    expect(logger.mentions("eyJhbGciOi.secret")).toBe(true);
    expect(logger.mentions("refresh failed")).toBe(true);
    expect(logger.mentions("not-there")).toBe(false);
    logger.clear();
    expect(logger.lines).toEqual([]);
  });
});
