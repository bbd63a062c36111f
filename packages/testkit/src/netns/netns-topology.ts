import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { NetnsHandle } from "./netns-handle.js";
import { DEFAULT_NETNS_PREFIX, MAX_INTERFACE_NAME_LENGTH, deleteNetns, newNetnsRunId, sweepStaleNetns } from "./netns-names.js";
import { assertSucceeded, runCommand } from "./run-command.js";

/** Options of {@link createNetnsTopology}. */
export interface NetnsTopologyOptions {
  /** Number of pod namespaces (default 2, at most 50). */
  readonly pods?: number;
  /** Namespace name prefix (default `podid`); stale namespaces with it are swept first. */
  readonly prefix?: string;
  /** First three octets of the pods' /24 (default a random `10.2xx.yyy`); it exists only in these namespaces. */
  readonly subnet?: string;
  /** Address put on the node namespace's `lo` (default `169.254.169.254`); `false` for none. */
  readonly metadataAddress?: string | false;
  /**
   * How pods attach to the node (default `bridged`): `bridged` — every pod's veth is a port of `br0`
   * (kubenet's cbr0, the bridge plugin); `routed` — no bridge, every pod's veth carries the node address
   * and a /32 route to its pod (Azure CNI transparent mode, Calico, Cilium routing), pods use a /32 address
   * with an on-link route to the node. In `routed` mode `rp_filter` is 0 in the node (the worst case).
   */
  readonly mode?: "bridged" | "routed";
}

/** A pod namespace: `eth0` with its own address, default route via the node's bridge. */
export class PodNetns extends NetnsHandle {
  /** 0-based index in the topology. */
  readonly index: number;
  /** The pod's IPv4 address on `eth0`. */
  readonly ip: string;
  /** The node-side end of the pod's veth pair (in the node namespace; a port of `br0` when bridged). */
  readonly nodeInterface: string;

  /** Wraps a pod namespace created by {@link createNetnsTopology}. */
  constructor(name: string, index: number, ip: string, nodeInterface: string) {
    super(name);
    this.index = index;
    this.ip = ip;
    this.nodeInterface = nodeInterface;
  }
}

/** An isolated node namespace with pod namespaces attached to its bridge. Call {@link NetnsTopology.destroy}. */
export interface NetnsTopology {
  /** The run id all names start with. */
  readonly id: string;
  /** The "node": bridge `br0` at {@link NetnsTopology.nodeAddress}, the metadata address on `lo`, forwarding and `route_localnet` on. */
  readonly node: NetnsHandle;
  readonly pods: readonly PodNetns[];
  /** The node's bridge address, the pods' default gateway. */
  readonly nodeAddress: string;
  /** The pods' subnet in CIDR form. */
  readonly subnetCidr: string;
  /** How pods attach to the node (see {@link NetnsTopologyOptions.mode}). */
  readonly mode: "bridged" | "routed";
  /** The address on the node's `lo`, if any. */
  readonly metadataAddress: string | undefined;
  /** Kills every process inside the namespaces and deletes them (idempotent, never rejects). */
  destroy(): Promise<void>;
}

const liveNamespaces = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort for a worker that exits without running afterAll (its processes are SIGKILLed by
  // NetnsProcess's own hook; `ip netns del` then frees the namespaces).
  process.once("exit", () => {
    for (const name of liveNamespaces) {
      try {
        execFileSync("ip", ["netns", "del", name], { stdio: "ignore", timeout: 5_000 });
      } catch {
        // Nothing more can be done at exit; the next run's sweep will find it.
      }
    }
  });
}

/**
 * Creates a "node" namespace and `pods` pod namespaces joined by veth pairs to a bridge in the node
 * namespace. Names are unique per run (`<prefix>-<pid>-<hex>-node|podN`); interface names are short
 * (`br0`, `vpN` in the node, `eth0` in each pod), and links are created directly inside the namespaces,
 * so nothing ever appears in the host namespace. The node has no uplink: pod traffic can reach only the
 * node, never leave it. On any setup failure everything created so far is removed before the error is
 * rethrown.
 */
export async function createNetnsTopology(options: NetnsTopologyOptions = {}): Promise<NetnsTopology> {
  const podCount = options.pods ?? 2;
  if (!Number.isInteger(podCount) || podCount < 0 || podCount > 50) throw new Error(`pods must be 0-50, got ${String(podCount)}`);
  const prefix = options.prefix ?? DEFAULT_NETNS_PREFIX;
  const subnet = options.subnet ?? `10.${String(200 + randomInt(50))}.${String(randomInt(256))}`;
  if (!/^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(subnet)) throw new Error(`subnet must be three octets, got ${subnet}`);
  const metadataAddress = options.metadataAddress === false ? undefined : (options.metadataAddress ?? "169.254.169.254");
  const mode = options.mode ?? "bridged";
  await sweepStaleNetns(prefix);
  installExitHook();

  const id = newNetnsRunId(prefix);
  const node = new NetnsHandle(`${id}-node`);
  const nodeAddress = `${subnet}.1`;
  const pods = Array.from({ length: podCount }, (_, i) => new PodNetns(`${id}-pod${String(i)}`, i, `${subnet}.${String(10 + i)}`, `vp${String(i)}`));
  const created: string[] = [];
  const ip = async (...argv: string[]): Promise<void> => {
    const full = ["ip", ...argv];
    assertSucceeded(full, await runCommand(full, { timeoutMs: 10_000 }));
  };
  const destroy = async (): Promise<void> => {
    for (const name of [...created].reverse()) {
      await deleteNetns(name);
      liveNamespaces.delete(name);
    }
    created.length = 0;
  };
  try {
    await ip("netns", "add", node.name);
    created.push(node.name);
    liveNamespaces.add(node.name);
    await ip("-n", node.name, "link", "set", "lo", "up");
    if (metadataAddress !== undefined) await ip("-n", node.name, "addr", "add", `${metadataAddress}/32`, "dev", "lo");
    if (mode === "bridged") {
      await ip("-n", node.name, "link", "add", "br0", "type", "bridge");
      await ip("-n", node.name, "addr", "add", `${nodeAddress}/24`, "dev", "br0");
      await ip("-n", node.name, "link", "set", "br0", "up");
    }
    await node.writeSysctls({
      "net/ipv4/ip_forward": "1",
      "net/ipv4/conf/all/route_localnet": "1",
      ...(mode === "routed" ? { "net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0" } : {}),
    });
    for (const pod of pods) {
      if (pod.nodeInterface.length > MAX_INTERFACE_NAME_LENGTH) throw new Error(`interface name too long: ${pod.nodeInterface}`);
      await ip("netns", "add", pod.name);
      created.push(pod.name);
      liveNamespaces.add(pod.name);
      await ip("-n", pod.name, "link", "set", "lo", "up");
      await ip("-n", node.name, "link", "add", pod.nodeInterface, "type", "veth", "peer", "name", "eth0", "netns", pod.name);
      if (mode === "bridged") {
        await ip("-n", node.name, "link", "set", pod.nodeInterface, "master", "br0");
        await ip("-n", node.name, "link", "set", pod.nodeInterface, "up");
        await ip("-n", pod.name, "addr", "add", `${pod.ip}/24`, "dev", "eth0");
        await ip("-n", pod.name, "link", "set", "eth0", "up");
        await ip("-n", pod.name, "route", "add", "default", "via", nodeAddress);
      } else {
        await ip("-n", node.name, "addr", "add", `${nodeAddress}/32`, "dev", pod.nodeInterface);
        await ip("-n", node.name, "link", "set", pod.nodeInterface, "up");
        await ip("-n", node.name, "route", "add", `${pod.ip}/32`, "dev", pod.nodeInterface);
        await node.writeSysctls({ [`net/ipv4/conf/${pod.nodeInterface}/rp_filter`]: "0" });
        await ip("-n", pod.name, "addr", "add", `${pod.ip}/32`, "dev", "eth0");
        await ip("-n", pod.name, "link", "set", "eth0", "up");
        await ip("-n", pod.name, "route", "add", `${nodeAddress}/32`, "dev", "eth0");
        await ip("-n", pod.name, "route", "add", "default", "via", nodeAddress, "dev", "eth0");
      }
    }
  } catch (error) {
    await destroy();
    throw error;
  }
  return { id, node, pods, nodeAddress, subnetCidr: `${subnet}.0/24`, mode, metadataAddress, destroy };
}
