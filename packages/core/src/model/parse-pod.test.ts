import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { podArb } from "@podid/testkit";
import { parsePod } from "./parse-pod.js";
import { serialisePod } from "./serialise-pod.js";

const pod = (spec: unknown, status: unknown) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-0", namespace: "team-a", labels: { aadpodidbinding: "web" } },
  spec,
  status,
});

describe("parsePod — examples", () => {
  it("reads a running dual-stack pod", () => {
    const r = parsePod(
      pod(
        { nodeName: "node-1", serviceAccountName: "web", containers: [{ name: "c" }] },
        { phase: "Running", podIP: "10.244.0.5", podIPs: [{ ip: "10.244.0.5" }, { ip: "fd00::5" }] },
      ),
    );
    expect(r).toStrictEqual({
      ok: true,
      value: {
        kind: "Pod",
        metadata: { name: "web-0", namespace: "team-a", labels: { aadpodidbinding: "web" }, annotations: {}, finalizers: [] },
        nodeName: "node-1",
        serviceAccountName: "web",
        hostNetwork: false,
        phase: "Running",
        podIP: "10.244.0.5",
        podIPs: ["10.244.0.5", "fd00::5"],
      },
    });
  });

  it("defaults a fresh pod: unscheduled, service account default, phase Pending, no IPs", () => {
    const r = parsePod(pod({}, undefined));
    expect(r.ok && r.value).toMatchObject({ nodeName: "", serviceAccountName: "default", phase: "Pending", podIP: "", podIPs: [] });
  });

  it("maps an unknown phase to Unknown and falls back to the deprecated serviceAccount", () => {
    const r = parsePod(pod({ serviceAccount: "legacy-sa", hostNetwork: true }, { phase: "Evicted" }));
    expect(r.ok && [r.value.phase, r.value.serviceAccountName, r.value.hostNetwork]).toStrictEqual(["Unknown", "legacy-sa", true]);
  });

  it("keeps podIP first in podIPs even when only one of them is set", () => {
    const onlyList = parsePod(pod({}, { podIPs: [{ ip: "10.0.0.1" }] }));
    expect(onlyList.ok && [onlyList.value.podIP, onlyList.value.podIPs]).toStrictEqual(["10.0.0.1", ["10.0.0.1"]]);
    const onlyIP = parsePod(pod({}, { podIP: "10.0.0.2" }));
    expect(onlyIP.ok && onlyIP.value.podIPs).toStrictEqual(["10.0.0.2"]);
  });

  it("reports wrong types and missing names together", () => {
    const r = parsePod({ metadata: { namespace: "x" }, spec: { hostNetwork: "yes" }, status: { phase: 3, podIPs: [{ ip: 1 }] } });
    expect(r.ok ? [] : r.error.issues.map((i) => [i.reason, i.field])).toStrictEqual([
      ["missingName", "metadata.name"],
      ["invalidFieldType", "status.podIPs[0].ip"],
      ["invalidFieldType", "spec.hostNetwork"],
      ["invalidFieldType", "status.phase"],
    ]);
  });
});

describe("parsePod — properties", () => {
  it("parse(serialise(m)) is m for every generated pod", () => {
    fc.assert(
      fc.property(podArb({ allowDeleting: true }), (m) => {
        expect(parsePod(JSON.parse(JSON.stringify(serialisePod(m))))).toStrictEqual({ ok: true, value: m });
      }),
      { numRuns: 150 },
    );
  });

  it("never throws on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ metadata: fc.jsonValue(), spec: fc.jsonValue(), status: fc.jsonValue() })), (raw) => {
        const r = parsePod(raw);
        if (!r.ok) expect(r.error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 200 },
    );
  });
});
