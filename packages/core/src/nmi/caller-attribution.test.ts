import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { podArb } from "@podid/testkit";
import type { PodView } from "../model/types.js";
import { attributeCaller, findPodOnNode, podRef } from "./caller-attribution.js";
import { verifyCallerBinding } from "./caller-binding.js";

const NODE = "aks-nodepool1-12345678-vmss000000";
const OTHER_NODE = "aks-nodepool1-12345678-vmss000001";
const IP_POOL = ["10.244.0.5", "10.244.0.6", "10.244.0.7"] as const;

/** Pods on two nodes whose IPs come from a tiny pool, so that reuse and stale duplicates happen often. */
const podsArb: fc.Arbitrary<PodView[]> = fc.array(
  fc
    .tuple(podArb({ nodeNames: [NODE, OTHER_NODE], allowDeleting: true }), fc.constantFrom(...IP_POOL), fc.boolean())
    .map(([pod, ip, dual]): PodView => {
      const ips = pod.podIPs.length === 0 ? [] : dual ? [ip, "fd00::1"] : [ip];
      return { ...pod, podIP: ips[0] ?? "", podIPs: ips };
    }),
  { maxLength: 6 },
);

/** Pods that could be the caller at `ip` on NODE, by the documented rule (deleting ones included). */
function claimants(pods: readonly PodView[], ip: string): PodView[] {
  return pods.filter(
    (p) => p.nodeName === NODE && !p.hostNetwork && (p.phase === "Pending" || p.phase === "Running") && p.podIPs.includes(ip),
  );
}

describe("attributeCaller", () => {
  it("names a pod only when it is the single live pod of this node with that IP; otherwise a typed error", () => {
    fc.assert(
      fc.property(podsArb, fc.constantFrom(...IP_POOL), (pods, ip) => {
        const result = attributeCaller(ip, pods, { nodeName: NODE });
        const claims = claimants(pods, ip);
        if (result.ok) {
          expect(claims).toEqual([result.value]);
          expect(result.value.metadata.deletionTimestamp).toBeUndefined();
        } else if (claims.length === 0) {
          expect(result.error).toEqual({ kind: "unknownCaller", sourceIp: ip });
        } else if (claims.length > 1) {
          expect(result.error).toEqual({ kind: "ambiguousCaller", sourceIp: ip, pods: claims.map(podRef) });
        } else {
          expect(result.error.kind).toBe("callerTerminating");
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("treats an IPv4-mapped IPv6 source exactly like the IPv4 address, and ignores pod order", () => {
    fc.assert(
      fc.property(podsArb, fc.constantFrom(...IP_POOL), fc.constantFrom("::ffff:", "::FFFF:", "[::ffff:"), (pods, ip, prefix) => {
        const plain = attributeCaller(ip, pods, { nodeName: NODE });
        const mapped = attributeCaller(`${prefix}${ip}${prefix.startsWith("[") ? "]" : ""}`, pods, { nodeName: NODE });
        expect(mapped).toEqual(plain);
        const reversed = attributeCaller(ip, [...pods].reverse(), { nodeName: NODE });
        expect(reversed.ok).toBe(plain.ok);
        if (plain.ok && reversed.ok) expect(reversed.value).toBe(plain.value);
        if (!plain.ok && !reversed.ok) expect(reversed.error.kind).toBe(plain.error.kind);
      }),
      { numRuns: 500 },
    );
  });

  it("also matches a pod's IPv6 address and a mapped pod IP in the API", () => {
    fc.assert(
      fc.property(podArb({ nodeNames: [NODE], phases: ["Running"] }), (pod) => {
        fc.pre(!pod.hostNetwork);
        const withV6: PodView = { ...pod, podIP: "::ffff:10.244.9.9", podIPs: ["::ffff:10.244.9.9", "FD00:0:0::A"] };
        expect(attributeCaller("10.244.9.9", [withV6], { nodeName: NODE })).toEqual({ ok: true, value: withV6 });
        expect(attributeCaller("fd00::a", [withV6], { nodeName: NODE })).toEqual({ ok: true, value: withV6 });
      }),
      { numRuns: 50 },
    );
  });

  it("refuses empty or non-IP source addresses (the original's 'request remote address is empty')", () => {
    for (const bad of ["", "not-an-ip", "10.244.0.5:1234"]) {
      expect(attributeCaller(bad, [], { nodeName: NODE })).toEqual({ ok: false, error: { kind: "invalidSourceAddress", sourceIp: bad } });
    }
  });

  it("never attributes to hostNetwork pods, pods of other nodes or finished pods", () => {
    const base: PodView = {
      kind: "Pod",
      metadata: { name: "a", namespace: "ns", uid: "u1", labels: {}, annotations: {}, finalizers: [] },
      nodeName: NODE,
      serviceAccountName: "default",
      hostNetwork: false,
      phase: "Running",
      podIP: "10.244.0.5",
      podIPs: ["10.244.0.5"],
    };
    const attribute = (pod: PodView) => attributeCaller("10.244.0.5", [pod], { nodeName: NODE });
    expect(attribute(base).ok).toBe(true);
    expect(attribute({ ...base, hostNetwork: true }).ok).toBe(false);
    expect(attribute({ ...base, nodeName: OTHER_NODE }).ok).toBe(false);
    expect(attribute({ ...base, phase: "Succeeded" }).ok).toBe(false);
    expect(attribute({ ...base, metadata: { ...base.metadata, deletionTimestamp: "2024-01-01T00:00:00Z" } })).toEqual({
      ok: false,
      error: { kind: "callerTerminating", sourceIp: "10.244.0.5", pod: { namespace: "ns", name: "a", uid: "u1" } },
    });
  });
});

describe("IP reuse: decisions bound to pod UID", () => {
  const pod = (uid: string, name: string, phase: PodView["phase"]): PodView => ({
    kind: "Pod",
    metadata: { name, namespace: "ns", uid, labels: {}, annotations: {}, finalizers: [] },
    nodeName: NODE,
    serviceAccountName: "default",
    hostNetwork: false,
    phase,
    podIP: "10.244.0.5",
    podIPs: ["10.244.0.5"],
  });

  it("detects that the IP now belongs to another pod", () => {
    const old = pod("uid-old", "old", "Succeeded");
    const successor = pod("uid-new", "new", "Running");
    const caller = attributeCaller("10.244.0.5", [old, successor], { nodeName: NODE });
    expect(caller).toEqual({ ok: true, value: successor });
    expect(verifyCallerBinding(podRef(old), successor)).toEqual({
      ok: false,
      error: { kind: "callerChanged", expected: podRef(old), actual: podRef(successor) },
    });
    // A stale cache still listing the old pod as running: two claimants, an error rather than a guess.
    const stale = attributeCaller("10.244.0.5", [pod("uid-old", "old", "Running"), successor], { nodeName: NODE });
    expect(!stale.ok && stale.error.kind).toBe("ambiguousCaller");
  });

  it("accepts the same UID and fails closed on a missing one", () => {
    fc.assert(
      fc.property(fc.uuid(), fc.uuid(), (a, b) => {
        const bound = pod(a, "p", "Running");
        expect(verifyCallerBinding(podRef(bound), pod(b, "p", "Running")).ok).toBe(a === b);
      }),
      { numRuns: 100 },
    );
    const noUid: PodView = { ...pod("x", "p", "Running"), metadata: { name: "p", namespace: "ns", labels: {}, annotations: {}, finalizers: [] } };
    expect(verifyCallerBinding(podRef(noUid), noUid).ok).toBe(false);
  });
});

describe("findPodOnNode", () => {
  it("finds only live pods of this node by namespace and name", () => {
    fc.assert(
      fc.property(podsArb, (pods) => {
        for (const p of pods) {
          const found = findPodOnNode(p.metadata.namespace, p.metadata.name, pods, { nodeName: NODE });
          const same = pods.filter(
            (q) =>
              q.metadata.namespace === p.metadata.namespace &&
              q.metadata.name === p.metadata.name &&
              q.nodeName === NODE &&
              (q.phase === "Running" || q.phase === "Pending") &&
              q.metadata.deletionTimestamp === undefined,
          );
          expect(found.ok).toBe(same.length === 1);
          if (found.ok) expect(found.value).toBe(same[0]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
