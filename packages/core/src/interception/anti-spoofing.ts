/**
 * Anti-spoofing for the metadata path (docs/adr/0010-anti-spoofing.md): which host-side interface (routed
 * CNIs) or bridge port (bridged CNIs) each pod IP of this node sits behind, and the nftables rules that
 * drop — before conntrack and the nat DNAT — any packet to the metadata address whose source IP is not
 * the IP of the pod behind the interface it arrived on, plus (bridged) ARP whose sender IP is not the
 * port's pod. Pure: the adapter reads the node (`ip -j route`, `ip -j neigh`, `bridge -j fdb`, `bridge -j
 * link`) and applies {@link renderAntiSpoofingScript} with one `nft -f` (one transaction).
 * @packageDocumentation
 */
import { normalizeIpAddress } from "../nmi/ip-address.js";

/** Where a pod IP enters the node. */
export type PodAttachment =
  /** A host-side veth with a /32 route to the pod (Azure CNI transparent, Calico, Cilium routing). */
  | { readonly kind: "routed"; readonly interface: string }
  /** A port of a Linux bridge (kubenet's cbr0, the bridge plugin): the pod's MAC was learned there. */
  | { readonly kind: "bridged"; readonly bridge: string; readonly port: string; readonly mac: string };

/** What the adapter read from the node, already parsed. */
export interface NodeNetworkFacts {
  /** IPv4 routes: `dst` is an address (a /32 host route) or a CIDR, `dev` the output interface. */
  readonly routes: readonly { readonly dst: string; readonly dev: string }[];
  /** IPv4 neighbours with a link-layer address (`ip neigh`; FAILED/INCOMPLETE entries left out). */
  readonly neighbours: readonly { readonly ip: string; readonly dev: string; readonly mac: string }[];
  /** Learned (not permanent/self) forwarding entries of bridges: which port a MAC was seen on. */
  readonly fdb: readonly { readonly mac: string; readonly port: string; readonly bridge: string }[];
  /** Bridge ports (`bridge link`): port name and its bridge. */
  readonly bridgePorts: readonly { readonly port: string; readonly bridge: string }[];
}

/** The resolution of this node's pod IPs. */
export interface AttachmentResolution {
  /** Pod IP (canonical IPv4) → where it enters the node. */
  readonly bound: ReadonlyMap<string, PodAttachment>;
  /** Pod IP → why it could not be resolved (its pod gets no token). */
  readonly unresolved: ReadonlyMap<string, string>;
}

const INTERFACE_NAME = /^[A-Za-z0-9_.:@-]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** True for interface names the kernel accepts that are safe inside a quoted nft string. */
export function isSafeInterfaceName(name: string): boolean {
  return INTERFACE_NAME.test(name);
}

function ipv4(text: string): string | undefined {
  const canonical = normalizeIpAddress(text.endsWith("/32") ? text.slice(0, -3) : text);
  return canonical !== undefined && !canonical.includes(":") ? canonical : undefined;
}

/** The key that identifies an attachment's "door" (two pod IPs behind one door cannot be told apart). */
export function attachmentDoor(attachment: PodAttachment): string {
  return attachment.kind === "routed" ? `if:${attachment.interface}` : `port:${attachment.bridge}/${attachment.port}`;
}

/** Equality of two attachments. */
export function sameAttachment(a: PodAttachment, b: PodAttachment): boolean {
  if (a.kind === "routed" || b.kind === "routed") return a.kind === b.kind && attachmentDoor(a) === attachmentDoor(b);
  return a.bridge === b.bridge && a.port === b.port && a.mac === b.mac;
}

/**
 * Resolves every pod IP of this node to where it enters the node, never guessing:
 * - routed: exactly one /32 route to the IP, through an interface that is not a bridge;
 * - bridged: the node's neighbour entry for the IP on a bridge gives its MAC, and that bridge's learned
 *   forwarding entry gives the port. When the neighbour or the fdb entry has aged out, a previous
 *   binding is kept while its port is still a port of the same bridge (pods that stay silent);
 * - several candidate doors for one IP, or one door for several pod IPs (a poisoned neighbour table
 *   makes an attacker's port claim the victim's IP too), leave every IP involved unresolved.
 * Only IPv4 is resolved (the metadata address is IPv4); other addresses are ignored.
 */
export function resolvePodAttachments(
  podIps: Iterable<string>,
  facts: NodeNetworkFacts,
  previous: ReadonlyMap<string, PodAttachment> = new Map(),
): AttachmentResolution {
  const bridges = new Set(facts.bridgePorts.map((p) => p.bridge));
  for (const entry of facts.fdb) bridges.add(entry.bridge);
  const portOf = new Map(facts.bridgePorts.map((p) => [p.port, p.bridge] as const));
  const candidates = new Map<string, PodAttachment[]>();
  const unresolved = new Map<string, string>();
  const ips = new Set<string>();
  for (const raw of podIps) {
    const ip = ipv4(raw);
    if (ip !== undefined) ips.add(ip);
  }
  for (const ip of ips) {
    const found: PodAttachment[] = [];
    for (const route of facts.routes) {
      if (ipv4(route.dst) !== ip || bridges.has(route.dev) || !isSafeInterfaceName(route.dev)) continue;
      found.push({ kind: "routed", interface: route.dev });
    }
    let sawNeighbour = false;
    for (const neighbour of facts.neighbours) {
      if (ipv4(neighbour.ip) !== ip || !bridges.has(neighbour.dev)) continue;
      sawNeighbour = true;
      const mac = neighbour.mac.toLowerCase();
      for (const entry of facts.fdb) {
        if (entry.bridge !== neighbour.dev || entry.mac.toLowerCase() !== mac || !isSafeInterfaceName(entry.port) || !MAC.test(mac)) continue;
        found.push({ kind: "bridged", bridge: neighbour.dev, port: entry.port, mac });
      }
    }
    const before = previous.get(ip);
    if (found.length === 0 && before?.kind === "bridged" && portOf.get(before.port) === before.bridge) {
      // Silent pod: neighbour/fdb entry aged out, but its port is still on the bridge.
      found.push(before);
    }
    const distinct = found.filter((a, i) => found.findIndex((b) => sameAttachment(a, b)) === i);
    if (distinct.length === 1 && distinct[0] !== undefined) candidates.set(ip, [distinct[0]]);
    else if (distinct.length > 1) unresolved.set(ip, `the IP is reachable through several interfaces (${distinct.map(attachmentDoor).join(", ")})`);
    else unresolved.set(ip, sawNeighbour ? "the IP's MAC address is not on any bridge port" : "no /32 route to a pod interface and no bridge neighbour entry for the IP");
  }
  const byDoor = new Map<string, string[]>();
  for (const [ip, [attachment]] of candidates) {
    if (attachment === undefined) continue;
    const door = attachmentDoor(attachment);
    byDoor.set(door, [...(byDoor.get(door) ?? []), ip]);
  }
  const bound = new Map<string, PodAttachment>();
  for (const [ip, [attachment]] of candidates) {
    if (attachment === undefined) continue;
    const sharing = byDoor.get(attachmentDoor(attachment)) ?? [];
    if (sharing.length > 1) unresolved.set(ip, `${attachmentDoor(attachment)} claims several pod IPs (${[...sharing].sort().join(", ")})`);
    else bound.set(ip, attachment);
  }
  return { bound, unresolved };
}

/** What changed between two bindings (for logs and metrics). */
export interface AttachmentDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

/** The pod IPs added, removed and moved between `before` and `after` (each list sorted). */
export function diffAttachments(before: ReadonlyMap<string, PodAttachment>, after: ReadonlyMap<string, PodAttachment>): AttachmentDiff {
  const added: string[] = [];
  const changed: string[] = [];
  for (const [ip, attachment] of after) {
    const old = before.get(ip);
    if (old === undefined) added.push(ip);
    else if (!sameAttachment(old, attachment)) changed.push(ip);
  }
  const removed = [...before.keys()].filter((ip) => !after.has(ip));
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

/** The nftables table podid owns for anti-spoofing (one in the `ip` family, one in `bridge`). */
export const ANTI_SPOOFING_TABLE = "podid-antispoof";

function set(name: string, type: string, elements: readonly string[]): string[] {
  return [`\tset ${name} {`, `\t\ttype ${type}`, ...(elements.length === 0 ? [] : [`\t\telements = { ${elements.join(", ")} }`]), "\t}"];
}

function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/**
 * The `nft -f` script that replaces both anti-spoofing tables in one transaction (the `table` + `delete
 * table` prelude makes it idempotent). `ip` family, hook prerouting priority raw (-300, before conntrack
 * and the nat DNAT): a packet to `metadataAddress` arriving on a pod interface with another source IP, or
 * carrying a pod's source IP on another interface, is dropped. Bridged pods are checked per port in the
 * `bridge` family (prerouting, before the bridge hands the frame to IP): IPv4 to the metadata address the
 * same way, and ARP whose sender IP is not the port's pod (except 0.0.0.0 probes) or that claims a pod's
 * IP from another port is dropped, so no gratuitous ARP can redirect the node's replies. IPs of bridged
 * pods are also tied to their bridge in the `ip` table. Lookups are set matches: constant rules per node.
 */
export function renderAntiSpoofingScript(metadataAddress: string, bound: ReadonlyMap<string, PodAttachment>): string {
  const ipPairs: string[] = [];
  const bridgePairs: string[] = [];
  for (const [ip, a] of bound) {
    if (a.kind === "routed") ipPairs.push(`"${a.interface}" . ${ip}`);
    else {
      ipPairs.push(`"${a.bridge}" . ${ip}`);
      bridgePairs.push(`"${a.port}" . ${ip}`);
    }
  }
  const routedInterfaces = uniqueSorted([...bound.values()].flatMap((a) => (a.kind === "routed" ? [`"${a.interface}"`] : [])));
  const bridged = [...bound].filter(([, a]) => a.kind === "bridged");
  const ports = uniqueSorted(bridged.map(([, a]) => `"${a.kind === "bridged" ? a.port : ""}"`));
  const meta = metadataAddress;
  const routedIps = uniqueSorted([...bound].filter(([, a]) => a.kind === "routed").map(([ip]) => ip));
  const bridgedIps = uniqueSorted(bridged.map(([ip]) => ip));
  const t = ANTI_SPOOFING_TABLE;
  return [
    `table ip ${t}`,
    `delete table ip ${t}`,
    `table ip ${t} {`,
    // Only routed interfaces are checked by source here: a bridge carries several pods, checked per port below.
    ...set("pod_interfaces", "ifname", routedInterfaces),
    ...set("pod_addresses", "ipv4_addr", uniqueSorted([...routedIps, ...bridgedIps])),
    ...set("pod_bindings", "ifname . ipv4_addr", uniqueSorted(ipPairs)),
    "\tchain prerouting {",
    "\t\ttype filter hook prerouting priority -300; policy accept;",
    `\t\tip daddr ${meta} iifname @pod_interfaces iifname . ip saddr != @pod_bindings drop`,
    `\t\tip daddr ${meta} ip saddr @pod_addresses iifname . ip saddr != @pod_bindings drop`,
    "\t}",
    "}",
    `table bridge ${t}`,
    `delete table bridge ${t}`,
    `table bridge ${t} {`,
    ...set("pod_ports", "ifname", ports),
    ...set("pod_addresses", "ipv4_addr", bridgedIps),
    ...set("pod_bindings", "ifname . ipv4_addr", uniqueSorted(bridgePairs)),
    "\tchain prerouting {",
    "\t\ttype filter hook prerouting priority -300; policy accept;",
    `\t\tip daddr ${meta} iifname @pod_ports iifname . ip saddr != @pod_bindings drop`,
    `\t\tip daddr ${meta} ip saddr @pod_addresses iifname . ip saddr != @pod_bindings drop`,
    "\t\tarp saddr ip != 0.0.0.0 iifname @pod_ports iifname . arp saddr ip != @pod_bindings drop",
    "\t\tarp saddr ip @pod_addresses iifname . arp saddr ip != @pod_bindings drop",
    "\t}",
    "}",
    "",
  ].join("\n");
}

/**
 * The verdict {@link renderAntiSpoofingScript}'s rules give a packet to the metadata address (IPv4) or an
 * ARP packet: a pure model of the rules, used by the property tests and `podid explain`-style tooling.
 * `inInterface` is the interface the IP layer sees (the bridge for bridged pods); `bridgePort` the port
 * for frames that entered through a bridge.
 */
export function antiSpoofingVerdict(
  bound: ReadonlyMap<string, PodAttachment>,
  packet: { readonly kind: "ipv4" | "arp"; readonly sourceIp: string; readonly inInterface: string; readonly bridgePort?: string },
): "drop" | "accept" {
  const entries = [...bound];
  if (packet.bridgePort !== undefined) {
    const ports = new Set(entries.flatMap(([, a]) => (a.kind === "bridged" ? [a.port] : [])));
    const pairs = new Set(entries.flatMap(([ip, a]) => (a.kind === "bridged" ? [`${a.port}|${ip}`] : [])));
    const ips = new Set(entries.flatMap(([ip, a]) => (a.kind === "bridged" ? [ip] : [])));
    const pairOk = pairs.has(`${packet.bridgePort}|${packet.sourceIp}`);
    const fromPodPort = ports.has(packet.bridgePort) && !(packet.kind === "arp" && packet.sourceIp === "0.0.0.0");
    if ((fromPodPort || ips.has(packet.sourceIp)) && !pairOk) return "drop";
    if (packet.kind === "arp") return "accept";
  }
  if (packet.kind === "arp") return "accept";
  const interfaces = new Set(entries.flatMap(([, a]) => (a.kind === "routed" ? [a.interface] : [])));
  const pairs = new Set(entries.map(([ip, a]) => `${a.kind === "routed" ? a.interface : a.bridge}|${ip}`));
  const pairOk = pairs.has(`${packet.inInterface}|${packet.sourceIp}`);
  if ((interfaces.has(packet.inInterface) || bound.has(packet.sourceIp)) && !pairOk) return "drop";
  return "accept";
}
