import fc from "fast-check";
import { BINDING_LABEL, type PodPhase, type PodView } from "@podid/core";
import { labelsArb, objectMetaArb, plainRecord } from "./object-meta.js";
import { NAMESPACE_POOL, SELECTOR_POOL, SERVICE_ACCOUNT_POOL } from "./pools.js";

/** Every pod phase. */
export const POD_PHASES: readonly PodPhase[] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

/** Options of {@link podArb}. */
export interface PodArbOptions {
  /** Namespaces to draw from (default {@link NAMESPACE_POOL}). */
  readonly namespaces?: readonly string[];
  /** Pod names (default: any DNS-1123 label). */
  readonly names?: readonly string[];
  /** Values for the `aadpodidbinding` label (default {@link SELECTOR_POOL}); a pod may also lack the label. */
  readonly selectors?: readonly string[];
  /** Node names a scheduled pod runs on (default: a few AKS-like names); `[]` means every pod is unscheduled (Pending). */
  readonly nodeNames?: readonly string[];
  /** Phases to draw from (default: mostly Running, all phases possible). */
  readonly phases?: readonly PodPhase[];
  /** Whether `deletionTimestamp` may be set (default false). */
  readonly allowDeleting?: boolean;
}

/** Node names used when {@link PodArbOptions.nodeNames} is not given. */
const DEFAULT_NODE_NAMES = ["aks-nodepool1-12345678-vmss000000", "aks-nodepool1-12345678-vmss000001", "aks-system-87654321-0"];

/** Pod IPs: one IPv4 address from the pod CIDR, sometimes also an IPv6 address (dual stack). */
const podIPsArb: fc.Arbitrary<readonly string[]> = fc
  .tuple(fc.nat(255), fc.integer({ min: 1, max: 254 }), fc.option(fc.integer({ min: 1, max: 0xffff }), { freq: 4 }))
  .map(([a, b, v6]) => (v6 === null ? [`10.244.${a}.${b}`] : [`10.244.${a}.${b}`, `fd00::${v6.toString(16)}`]));

/** A host-network pod uses its node's address. */
const hostIPArb: fc.Arbitrary<readonly string[]> = fc.integer({ min: 4, max: 254 }).map((n) => [`10.240.0.${n}`]);

/**
 * A valid pod as `parsePod` would produce it: labels may include `aadpodidbinding` from a small selector
 * pool; unscheduled pods (`nodeName ""`) are Pending without IPs; `podIPs[0] === podIP` whenever set.
 */
export function podArb(options: PodArbOptions = {}): fc.Arbitrary<PodView> {
  const selectors = options.selectors ?? SELECTOR_POOL;
  const nodeNames = options.nodeNames ?? DEFAULT_NODE_NAMES;
  const phaseArb =
    nodeNames.length === 0
      ? fc.constant<PodPhase>("Pending")
      : options.phases !== undefined && options.phases.length > 0
      ? fc.constantFrom(...options.phases)
      : fc.oneof(
          { arbitrary: fc.constant<PodPhase>("Running"), weight: 6 },
          { arbitrary: fc.constantFrom(...POD_PHASES), weight: 4 },
        );
  const selectorArb =
    selectors.length > 0
      ? fc.option(fc.constantFrom(...selectors), { freq: 5, nil: undefined })
      : fc.constant(undefined);
  return plainRecord({
      metadata: objectMetaArb({
        namespaces: options.namespaces ?? NAMESPACE_POOL,
        names: options.names ?? [],
        allowDeleting: options.allowDeleting ?? false,
      }),
      otherLabels: labelsArb,
      selector: selectorArb,
      phase: phaseArb,
      scheduledOn: nodeNames.length === 0 ? fc.constant("") : fc.option(fc.constantFrom(...nodeNames), { freq: 8, nil: "" }),
      serviceAccountName: fc.constantFrom(...SERVICE_ACCOUNT_POOL),
      hostNetwork: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
      podIPs: podIPsArb,
      hostIPs: hostIPArb,
      hasIP: fc.boolean(),
    })
    .map((p): PodView => {
      // Unscheduled pods can only be Pending; scheduled Pending pods may not have an IP yet.
      const nodeName = p.phase === "Pending" ? p.scheduledOn : p.scheduledOn === "" ? nodeNames[0] ?? "node-0" : p.scheduledOn;
      const ips = nodeName === "" || (p.phase === "Pending" && !p.hasIP) ? [] : p.hostNetwork ? p.hostIPs : p.podIPs;
      const labels = p.selector === undefined ? p.otherLabels : { ...p.otherLabels, [BINDING_LABEL]: p.selector };
      return {
        kind: "Pod",
        metadata: { ...p.metadata, labels },
        nodeName,
        serviceAccountName: p.serviceAccountName,
        hostNetwork: p.hostNetwork,
        phase: p.phase,
        podIP: ips[0] ?? "",
        podIPs: ips,
      };
    });
}
