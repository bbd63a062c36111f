import { err, ok, type Result } from "../result.js";
import type { PodView } from "../model/types.js";
import { normalizeIpAddress } from "./ip-address.js";

/**
 * Which pod is calling: attribution by source IP against the pods of this node.
 * @packageDocumentation
 */

/** Namespace, name and UID of a pod, for error reports and logs (never the whole object). */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** The {@link PodRef} of `pod` (`uid` `""` when unknown). */
export function podRef(pod: PodView): PodRef {
  return { namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid ?? "" };
}

/** Why a request could not be attributed to exactly one live pod (all answered 500 like the original). */
export type AttributionError =
  /** The source address is empty or not an IP ("request remote address is empty" in the original). */
  | { readonly kind: "invalidSourceAddress"; readonly sourceIp: string }
  /** No running or pending pod of this node has that IP (informer lag, or a host process — see #780). */
  | { readonly kind: "unknownCaller"; readonly sourceIp: string }
  /** Several live pods claim the IP (IP reuse with a stale cache): refusing is the only safe answer. */
  | { readonly kind: "ambiguousCaller"; readonly sourceIp: string; readonly pods: readonly PodRef[] }
  /** The only pod with the IP is being deleted; its IP may already belong to someone else. */
  | { readonly kind: "callerTerminating"; readonly sourceIp: string; readonly pod: PodRef }
  /** The pod at an address is not the one a cached decision was made for (see `verifyCallerBinding`). */
  | { readonly kind: "callerChanged"; readonly expected: PodRef; readonly actual: PodRef }
  /**
   * Anti-spoofing (docs/adr/0010-anti-spoofing.md): NMI could not resolve which interface or bridge port
   * the pod's IP enters the node through, so it cannot tell the pod from a neighbour spoofing its IP.
   */
  | { readonly kind: "interfaceUnresolved"; readonly sourceIp: string; readonly pod: PodRef; readonly reason: string }
  /** `/host/token` named a pod that is not a live pod of this node. */
  | { readonly kind: "namedPodNotFound"; readonly namespace: string; readonly name: string };

/** Options of {@link attributeCaller}. */
export interface AttributionOptions {
  /** This node's name: pods scheduled elsewhere never match, even if a cache is not node-filtered. */
  readonly nodeName: string;
}

/** True for pods that can hold a pod-network IP on `nodeName`: Pending or Running, not hostNetwork. */
function isCandidate(pod: PodView, nodeName: string): boolean {
  return pod.nodeName === nodeName && !pod.hostNetwork && (pod.phase === "Pending" || pod.phase === "Running");
}

/**
 * True when one of `pod`'s IPs (`podIP` and `podIPs`; unparsable ones never match) is the canonical `address`.
 * Checked one IP at a time, without collecting them first: attribution runs for every decided request.
 */
function holdsAddress(pod: PodView, address: string): boolean {
  if (pod.podIP !== "" && normalizeIpAddress(pod.podIP) === address) return true;
  for (const ip of pod.podIPs) {
    if (ip !== "" && normalizeIpAddress(ip) === address) return true;
  }
  return false;
}

/**
 * The pod making a request from `sourceIp`: exactly one pod on this node, Pending or Running, not on the
 * host network, whose `podIP`/`podIPs` contain the address (IPv4-mapped IPv6 folded to IPv4 on both
 * sides). Several candidates is an error, never a guess — the original took the first of one match or
 * failed on zero (`GetPodInfo`), and a stale cache after IP reuse could make it two. A single candidate
 * with a `deletionTimestamp` is refused as well: the kubelet may be tearing it down and the IP about to
 * be reused. hostNetwork pods are excluded because they share the node address, so "the pod with this IP"
 * means nothing for them (and their traffic is not redirected to NMI, #826).
 */
export function attributeCaller(
  sourceIp: string,
  podsOnNode: readonly PodView[],
  options: AttributionOptions,
): Result<PodView, AttributionError> {
  const address = normalizeIpAddress(sourceIp);
  if (address === undefined) return err({ kind: "invalidSourceAddress", sourceIp });
  const matches = podsOnNode.filter((pod) => isCandidate(pod, options.nodeName) && holdsAddress(pod, address));
  const [first, ...others] = matches;
  if (first === undefined) return err({ kind: "unknownCaller", sourceIp: address });
  if (others.length > 0) return err({ kind: "ambiguousCaller", sourceIp: address, pods: matches.map(podRef) });
  if (first.metadata.deletionTimestamp !== undefined) {
    return err({ kind: "callerTerminating", sourceIp: address, pod: podRef(first) });
  }
  return ok(first);
}

/**
 * The pod `/host/token` names by its `podns`/`podname` headers, which must be a live (Pending or Running,
 * not deleting) pod scheduled on this node. The original did not check this and handed out tokens for any
 * pod name MIC had AAIs for; podid at least binds the request to pods of the node the caller runs on.
 */
export function findPodOnNode(
  namespace: string,
  name: string,
  podsOnNode: readonly PodView[],
  options: AttributionOptions,
): Result<PodView, AttributionError> {
  const found = podsOnNode.filter(
    (p) =>
      p.metadata.namespace === namespace &&
      p.metadata.name === name &&
      p.nodeName === options.nodeName &&
      (p.phase === "Pending" || p.phase === "Running") &&
      p.metadata.deletionTimestamp === undefined,
  );
  // Two live objects with one name can only come from a stale cache; like IP ambiguity, never guess.
  const [pod, ...others] = found;
  return pod === undefined || others.length > 0 ? err({ kind: "namedPodNotFound", namespace, name }) : ok(pod);
}
