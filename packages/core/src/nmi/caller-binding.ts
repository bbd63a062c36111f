import { err, ok, type Result } from "../result.js";
import type { PodView } from "../model/types.js";
import { podRef, type AttributionError, type PodRef } from "./caller-attribution.js";

/**
 * Binding cached decisions to a pod's UID. Pod IPs are reused as soon as a pod is gone, so anything NMI
 * remembers about "the caller at 10.244.1.7" (a pending wait, a cached identity choice or token) must be
 * keyed by the pod UID and re-checked against the pod currently holding the address.
 * @packageDocumentation
 */

/**
 * Confirms that `caller` — the pod attributed to the current request — is the pod a cached decision was
 * made for (`boundTo`). Different UIDs, or a UID missing on either side, is `callerChanged`: fail closed,
 * since an IP reused by a new pod must never inherit the previous pod's identity.
 */
export function verifyCallerBinding(boundTo: PodRef, caller: PodView): Result<PodView, AttributionError> {
  const actual = podRef(caller);
  if (boundTo.uid === "" || actual.uid === "" || boundTo.uid !== actual.uid) {
    return err({ kind: "callerChanged", expected: boundTo, actual });
  }
  return ok(caller);
}
