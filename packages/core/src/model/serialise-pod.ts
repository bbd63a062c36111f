import { serialiseObjectMeta } from "./serialise-object-meta.js";
import type { PodView } from "./types.js";
import type { WirePod } from "./wire-types.js";

/** A Pod as wire JSON, reduced to the fields podid reads (for fakes, fixtures and `podid explain`). */
export function serialisePod(pod: PodView): WirePod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: serialiseObjectMeta(pod.metadata),
    spec: {
      ...(pod.nodeName !== "" ? { nodeName: pod.nodeName } : {}),
      serviceAccountName: pod.serviceAccountName,
      ...(pod.hostNetwork ? { hostNetwork: true } : {}),
    },
    status: {
      phase: pod.phase,
      ...(pod.podIP !== "" ? { podIP: pod.podIP } : {}),
      ...(pod.podIPs.length > 0 ? { podIPs: pod.podIPs.map((ip) => ({ ip })) } : {}),
    },
  };
}
