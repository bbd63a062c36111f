import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  antiSpoofingVerdict,
  attachmentDoor,
  diffAttachments,
  renderAntiSpoofingScript,
  resolvePodAttachments,
  type NodeNetworkFacts,
  type PodAttachment,
} from "./anti-spoofing.js";

const META = "169.254.169.254";
const EMPTY: NodeNetworkFacts = { routes: [], neighbours: [], fdb: [], bridgePorts: [] };

/** A node with `n` pods: each routed (own veth, /32 route) or bridged (own port on br0, own MAC). */
const nodeArb = fc
  .uniqueArray(fc.integer({ min: 2, max: 250 }), { minLength: 1, maxLength: 12 })
  .chain((hosts) => fc.tuple(fc.constant(hosts), fc.array(fc.boolean(), { minLength: hosts.length, maxLength: hosts.length })))
  .map(([hosts, routed]) => {
    const pods = hosts.map((h, i) => ({
      ip: `10.1.0.${String(h)}`,
      routed: routed[i] ?? true,
      iface: `veth${String(i)}`,
      mac: `02:00:00:00:00:${h.toString(16).padStart(2, "0")}`,
    }));
    const facts: NodeNetworkFacts = {
      routes: [{ dst: "10.1.0.0/24", dev: "br0" }, ...pods.filter((p) => p.routed).map((p) => ({ dst: p.ip, dev: p.iface }))],
      neighbours: pods.filter((p) => !p.routed).map((p) => ({ ip: p.ip, dev: "br0", mac: p.mac })),
      fdb: pods.filter((p) => !p.routed).map((p) => ({ mac: p.mac, port: p.iface, bridge: "br0" })),
      bridgePorts: pods.filter((p) => !p.routed).map((p) => ({ port: p.iface, bridge: "br0" })),
    };
    return { pods, facts };
  });

function expected(p: { routed: boolean; iface: string; mac: string }): PodAttachment {
  return p.routed ? { kind: "routed", interface: p.iface } : { kind: "bridged", bridge: "br0", port: p.iface, mac: p.mac };
}

describe("resolvePodAttachments", () => {
  it("binds every pod of a well-formed node to its own veth or bridge port", () => {
    fc.assert(
      fc.property(nodeArb, ({ pods, facts }) => {
        const r = resolvePodAttachments(pods.map((p) => p.ip), facts);
        expect(r.unresolved.size).toBe(0);
        for (const p of pods) expect(r.bound.get(p.ip)).toEqual(expected(p));
      }),
      { numRuns: 200 },
    );
  });

  it("never binds two IPs to one door, and every pod IPv4 is either bound or unresolved", () => {
    const noisy = fc.record({
      ips: fc.array(fc.integer({ min: 1, max: 8 }).map((h) => `10.1.0.${String(h)}`), { maxLength: 8 }),
      routes: fc.array(fc.record({ dst: fc.integer({ min: 1, max: 8 }).map((h) => `10.1.0.${String(h)}`), dev: fc.constantFrom("veth1", "veth2", "br0", "eth0") }), { maxLength: 8 }),
      neighbours: fc.array(fc.record({ ip: fc.integer({ min: 1, max: 8 }).map((h) => `10.1.0.${String(h)}`), dev: fc.constantFrom("br0", "eth0"), mac: fc.constantFrom("02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03") }), { maxLength: 8 }),
      fdb: fc.array(fc.record({ mac: fc.constantFrom("02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"), port: fc.constantFrom("vp1", "vp2", "vp3"), bridge: fc.constant("br0") }), { maxLength: 6 }),
    });
    fc.assert(
      fc.property(noisy, ({ ips, routes, neighbours, fdb }) => {
        const r = resolvePodAttachments(ips, { routes, neighbours, fdb, bridgePorts: [] });
        const doors = [...r.bound.values()].map(attachmentDoor);
        expect(new Set(doors).size).toBe(doors.length);
        for (const ip of new Set(ips)) expect(r.bound.has(ip) !== r.unresolved.has(ip)).toBe(true);
        for (const [ip, a] of r.bound) {
          // A binding is always backed by what the node says (or a still-present port from before).
          if (a.kind === "routed") expect(routes.some((x) => x.dst === ip && x.dev === a.interface)).toBe(true);
          else expect(neighbours.some((n) => n.ip === ip && n.mac === a.mac) && fdb.some((f) => f.mac === a.mac && f.port === a.port)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("a poisoned neighbour entry (victim IP → attacker MAC) leaves both unresolved, never the attacker's port", () => {
    fc.assert(
      fc.property(nodeArb.filter(({ pods }) => pods.filter((p) => !p.routed).length >= 2), ({ pods, facts }) => {
        const bridged = pods.filter((p) => !p.routed);
        const [victim, attacker] = bridged as [(typeof bridged)[0], (typeof bridged)[0]];
        const poisoned = { ...facts, neighbours: facts.neighbours.map((n) => (n.ip === victim.ip ? { ...n, mac: attacker.mac } : n)) };
        const r = resolvePodAttachments(pods.map((p) => p.ip), poisoned);
        expect(r.bound.has(victim.ip)).toBe(false);
        expect(r.bound.has(attacker.ip)).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it("keeps a silent bridged pod's binding while its port is still on the bridge, drops it when the port is gone", () => {
    const before = new Map<string, PodAttachment>([["10.1.0.5", { kind: "bridged", bridge: "br0", port: "vp5", mac: "02:00:00:00:00:05" }]]);
    expect(resolvePodAttachments(["10.1.0.5"], { ...EMPTY, bridgePorts: [{ port: "vp5", bridge: "br0" }] }, before).bound.get("10.1.0.5")).toEqual(before.get("10.1.0.5"));
    expect(resolvePodAttachments(["10.1.0.5"], EMPTY, before).unresolved.has("10.1.0.5")).toBe(true);
  });

  it("refuses several routes to one IP, interface names unsafe for nft, and ignores IPv6", () => {
    const r = resolvePodAttachments(["10.1.0.5", "10.1.0.6", "fd00::1"], {
      ...EMPTY,
      routes: [{ dst: "10.1.0.5", dev: "veth1" }, { dst: "10.1.0.5", dev: "veth2" }, { dst: "10.1.0.6", dev: 'x" drop' }],
    });
    expect([...r.bound.keys()]).toEqual([]);
    expect([...r.unresolved.keys()].sort()).toEqual(["10.1.0.5", "10.1.0.6"]);
  });
});

describe("antiSpoofingVerdict (the rules' model)", () => {
  it("accepts each pod from its own door and drops a neighbour's IP from any other pod door", () => {
    fc.assert(
      fc.property(nodeArb, fc.nat(), fc.nat(), ({ pods, facts }, i, j) => {
        const { bound } = resolvePodAttachments(pods.map((p) => p.ip), facts);
        const packetFrom = (p: (typeof pods)[0], sourceIp: string, kind: "ipv4" | "arp") =>
          p.routed ? { kind, sourceIp, inInterface: p.iface } : { kind, sourceIp, inInterface: "br0", bridgePort: p.iface };
        const owner = pods[i % pods.length];
        const other = pods[j % pods.length];
        if (owner === undefined || other === undefined) return;
        expect(antiSpoofingVerdict(bound, packetFrom(owner, owner.ip, "ipv4"))).toBe("accept");
        if (other !== owner) {
          expect(antiSpoofingVerdict(bound, packetFrom(other, owner.ip, "ipv4"))).toBe("drop");
          if (!other.routed) expect(antiSpoofingVerdict(bound, packetFrom(other, owner.ip, "arp"))).toBe("drop");
        }
        // Any address that is not the port's pod, from a pod door: dropped.
        expect(antiSpoofingVerdict(bound, packetFrom(owner, "10.99.0.1", "ipv4"))).toBe("drop");
      }),
      { numRuns: 300 },
    );
  });
});

describe("renderAntiSpoofingScript", () => {
  it("is one idempotent transaction naming every binding, independent of map order", () => {
    fc.assert(
      fc.property(nodeArb, ({ pods, facts }) => {
        const { bound } = resolvePodAttachments(pods.map((p) => p.ip), facts);
        const script = renderAntiSpoofingScript(META, bound);
        const reversed = renderAntiSpoofingScript(META, new Map([...bound].reverse()));
        expect(reversed).toBe(script);
        expect(script.startsWith("table ip podid-antispoof\ndelete table ip podid-antispoof\n")).toBe(true);
        expect(script).toContain("table bridge podid-antispoof\ndelete table bridge podid-antispoof\n");
        for (const p of pods) expect(script).toContain(`"${p.routed ? p.iface : p.iface}" . ${p.ip}`);
        expect(script).toContain("priority -300");
      }),
      { numRuns: 100 },
    );
  });

  it("renders empty sets without elements (valid nft)", () => {
    const script = renderAntiSpoofingScript(META, new Map());
    expect(script).not.toContain("elements");
    expect(script).toContain(`ip daddr ${META} iifname @pod_interfaces iifname . ip saddr != @pod_bindings drop`);
  });
});

describe("diffAttachments", () => {
  it("reports exactly the added, removed and moved IPs", () => {
    const attachment = fc.oneof(
      fc.constantFrom("veth1", "veth2").map((i): PodAttachment => ({ kind: "routed", interface: i })),
      fc.constantFrom("vp1", "vp2").map((p): PodAttachment => ({ kind: "bridged", bridge: "br0", port: p, mac: "02:00:00:00:00:01" })),
    );
    const map = fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }).map((h) => `10.0.0.${String(h)}`), attachment)).map((e) => new Map(e));
    fc.assert(
      fc.property(map, map, (before, after) => {
        const d = diffAttachments(before, after);
        for (const ip of d.added) expect(before.has(ip) || !after.has(ip)).toBe(false);
        for (const ip of d.removed) expect(before.has(ip) && !after.has(ip)).toBe(true);
        const unchanged = [...after.keys()].filter((ip) => !d.added.includes(ip) && !d.changed.includes(ip));
        for (const ip of unchanged) expect(attachmentDoor(before.get(ip) as PodAttachment)).toBe(attachmentDoor(after.get(ip) as PodAttachment));
        expect(d.added.length + d.changed.length + unchanged.length).toBe(after.size);
      }),
      { numRuns: 300 },
    );
  });
});
