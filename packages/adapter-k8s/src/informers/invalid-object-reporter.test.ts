import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAzureIdentity, type ValidationError } from "@podid/core";
import { RecordingEventRecorder, RecordingLogger } from "@podid/testkit";
import { INVALID_OBJECT_REASON, InvalidObjectReporter } from "./invalid-object-reporter.js";

const invalidIdentity = (): ValidationError => {
  const parsed = parseAzureIdentity({ metadata: { name: "legacy", namespace: "team-a" }, spec: { Type: 0, ClientID: "c" } });
  if (parsed.ok) throw new Error("fixture should be invalid");
  return parsed.error;
};

describe("InvalidObjectReporter", () => {
  it("logs and records one Warning Event with core's description", () => {
    const logger = new RecordingLogger();
    const events = new RecordingEventRecorder();
    const reporter = new InvalidObjectReporter({ logger, events });
    const error = invalidIdentity();
    reporter.report({ kind: "AzureIdentity", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "team-a", name: "legacy", uid: "u1", resourceVersion: "7", error });
    expect(events.events).toHaveLength(1);
    expect(events.events[0]).toMatchObject({
      type: "Warning",
      reason: INVALID_OBJECT_REASON,
      object: { kind: "AzureIdentity", namespace: "team-a", name: "legacy", uid: "u1", resourceVersion: "7" },
    });
    expect(events.events[0]?.message).toMatch(/^AzureIdentity team-a\/legacy is invalid: spec.resourceID/);
    expect(logger.lines.filter((l) => l.level === "warn")).toHaveLength(1);
  });

  it("reports each (uid, resourceVersion) exactly once however often it is replayed (property)", () => {
    const error = invalidIdentity();
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("report" as const), name: fc.constantFrom("a", "b"), uid: fc.constantFrom("u1", "u2"), rv: fc.constantFrom("1", "2", "3") }),
            fc.record({ op: fc.constant("forget" as const), name: fc.constantFrom("a", "b") }),
          ),
          { maxLength: 40 },
        ),
        (ops) => {
          const events = new RecordingEventRecorder();
          const reporter = new InvalidObjectReporter({ logger: new RecordingLogger(), events });
          const last = new Map<string, string>();
          let expected = 0;
          for (const o of ops) {
            if (o.op === "forget") {
              reporter.forget("AzureIdentity", "ns", o.name);
              last.delete(o.name);
              continue;
            }
            const version = `${o.uid}@${o.rv}`;
            const reported = reporter.report({ kind: "AzureIdentity", apiVersion: "v", namespace: "ns", name: o.name, uid: o.uid, resourceVersion: o.rv, error });
            expect(reported).toBe(last.get(o.name) !== version);
            if (reported) expected++;
            last.set(o.name, version);
          }
          expect(events.events).toHaveLength(expected);
        },
      ),
    );
  });
});
