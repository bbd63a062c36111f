/**
 * The rules podid owns for an {@link InterceptionSpec}: the original's nat chain (DNAT to NMI, jumped to
 * first from PREROUTING) plus a filter-table guard chain that keeps pods away from the metadata address
 * whenever the DNAT is not in effect.
 * @packageDocumentation
 */
import type { InterceptionSpec } from "../ports/netfilter.port.js";
import { guardChainName } from "./interception-spec.js";
import type { IptablesRule } from "./iptables-rule.js";

/** A custom chain podid owns: its exact contents and the built-in chains that must jump to it first. */
export interface OwnedChain {
  readonly table: "nat" | "filter";
  readonly chain: string;
  /** The chain's complete contents, in order. */
  readonly rules: readonly IptablesRule[];
  /** Built-in chains whose FIRST rule must be `-j <chain>`, exactly once. */
  readonly jumpFrom: readonly string[];
}

/**
 * `-A <chain> ! -s 127.0.0.1/32 -d <metadata>/32 -p tcp -m tcp --dport <port> -j DNAT --to-destination
 * <target>:<targetPort>`: the original's rule shape (`pkg/nmi/iptables`), byte for byte as `iptables -S`
 * prints it, so a node that ran the original keeps its rule and tools grepping for it still match.
 */
export function dnatRule(spec: InterceptionSpec): IptablesRule {
  return {
    chain: spec.chain,
    args: [
      "!", "-s", "127.0.0.1/32",
      "-d", `${spec.metadataAddress}/32`,
      "-p", "tcp", "-m", "tcp", "--dport", String(spec.metadataPort),
      "-j", "DNAT", "--to-destination", `${spec.targetAddress}:${String(spec.targetPort)}`,
    ],
  };
}

/**
 * The guard: `-A <chain>-guard -d <metadata>/32 ! -i lo -p tcp -m tcp --dport <port> -j REJECT
 * --reject-with tcp-reset`. It sits in the filter table, which sees a pod's packet after nat PREROUTING,
 * so only traffic the DNAT did NOT rewrite (chain flushed, jump gone, NMI's rules never installed yet on
 * a restart) still has the metadata address as destination and is reset: pods get "connection refused",
 * never IMDS. `! -i lo` leaves the node's own processes alone (their packets arrive on `lo` when the
 * address is local, and host traffic to a remote IMDS goes through OUTPUT, which the guard never sees).
 * Because filter rules see every packet (not only a connection's first, as nat does), the guard also cuts
 * pod connections to IMDS that were established before the rules existed.
 */
export function guardRule(spec: InterceptionSpec): IptablesRule {
  return {
    chain: guardChainName(spec),
    args: [
      "-d", `${spec.metadataAddress}/32`,
      "!", "-i", "lo",
      "-p", "tcp", "-m", "tcp", "--dport", String(spec.metadataPort),
      "-j", "REJECT", "--reject-with", "tcp-reset",
    ],
  };
}

/**
 * The port guard: `-A <chain>-guard -d <target>/32 ! -i lo -p tcp -m tcp --dport <targetPort> -m conntrack
 * ! --ctstate DNAT -j REJECT --reject-with tcp-reset`. When NMI DNATs to the node's own IP, that address
 * and port are reachable from every pod and from other nodes, past the anti-spoofing rules (which match
 * only traffic to the metadata address). This rule lets a connection from outside the node's loopback
 * reach NMI's port only when the nat DNAT put it there, so every pod caller has passed the metadata-path
 * checks; the node's own processes (`/host/token`) arrive on `lo` and are left alone. For a loopback
 * target it also closes the direct path `route_localnet=1` opens (docs/adr/0014-dnat-target-and-iptables-backend.md).
 */
export function targetGuardRule(spec: InterceptionSpec): IptablesRule {
  return {
    chain: guardChainName(spec),
    args: [
      "-d", `${spec.targetAddress}/32`,
      "!", "-i", "lo",
      "-p", "tcp", "-m", "tcp", "--dport", String(spec.targetPort),
      "-m", "conntrack", "!", "--ctstate", "DNAT",
      "-j", "REJECT", "--reject-with", "tcp-reset",
    ],
  };
}

/** `-A <chain> -j RETURN`: ends each owned chain explicitly, as the original's chain did. */
export function returnRule(chain: string): IptablesRule {
  return { chain, args: ["-j", "RETURN"] };
}

/** `-A <from> -j <to>`: the jump from a built-in chain into an owned chain. */
export function jumpRule(from: string, to: string): IptablesRule {
  return { chain: from, args: ["-j", to] };
}

/**
 * Every chain podid owns for `spec`, filter first: rules are applied in this order so that a failure
 * between tables leaves the guard in place without the DNAT (closed), never the reverse.
 * The guard is jumped to from INPUT (metadata address local to the node, as in the tests) and FORWARD
 * (the real IMDS, routed off the node), at position 1 so an earlier ACCEPT cannot bypass it.
 */
export function desiredInterception(spec: InterceptionSpec): readonly OwnedChain[] {
  const guard = guardChainName(spec);
  return [
    { table: "filter", chain: guard, rules: [guardRule(spec), targetGuardRule(spec), returnRule(guard)], jumpFrom: ["INPUT", "FORWARD"] },
    { table: "nat", chain: spec.chain, rules: [dnatRule(spec), returnRule(spec.chain)], jumpFrom: ["PREROUTING"] },
  ];
}
