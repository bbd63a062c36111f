import { describe, expect, it } from "vitest";
import { VirtualClock } from "../clock/virtual-clock.js";
import { RecordingEventRecorder } from "./recording-event-recorder.js";

describe("RecordingEventRecorder", () => {
  it("records and filters Events", () => {
    const recorder = new RecordingEventRecorder({ clock: new VirtualClock({ startMs: 5 }) });
    const binding = { kind: "AzureIdentityBinding", apiVersion: "aadpodidentity.k8s.io/v1", namespace: "default", name: "b1" };
    recorder.record(binding, "Normal", "binding applied", "applied to pod default/p1");
    recorder.record({ ...binding, name: "b2" }, "Warning", "binding invalid", "identity missing");
    expect(recorder.count()).toBe(2);
    expect(recorder.find({ type: "Warning" }).map((e) => e.object.name)).toEqual(["b2"]);
    expect(recorder.find({ reason: "binding applied", message: "pod default/p1" })).toHaveLength(1);
    expect(recorder.find({ message: /^identity/ })).toHaveLength(1);
    expect(recorder.find({ kind: "Pod" })).toHaveLength(0);
    expect(recorder.events[0]?.atMs).toBe(5);
    recorder.clear();
    expect(recorder.count()).toBe(0);
  });
});
