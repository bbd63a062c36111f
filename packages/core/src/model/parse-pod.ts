import type { Result } from "../result.js";
import { finishParse, readEnvelope } from "./envelope.js";
import type { PodPhase, PodView } from "./types.js";
import type { ValidationError, ValidationIssue } from "./validation.js";
import { addIssue, isJsonObject, jsonType, readBoolean, readObject, readString, type JsonObject } from "./wire-reader.js";

const PHASES: readonly PodPhase[] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

/**
 * `status.phase`: absent means `Pending` (a pod the kubelet has not reported on yet — the API server
 * defaults new pods to Pending); a string that is not a known phase means `Unknown`, so a future phase
 * never makes a pod unreadable.
 */
function readPhase(status: JsonObject, issues: ValidationIssue[]): PodPhase {
  const phase = readString(status, ["phase"], "status", issues);
  if (phase === "") return "Pending";
  return PHASES.find((p) => p === phase) ?? "Unknown";
}

/** `status.podIPs[].ip`, with `status.podIP` first when it is set and not in the list. */
function readPodIPs(status: JsonObject, issues: ValidationIssue[]): { podIP: string; podIPs: readonly string[] } {
  const ips: string[] = [];
  const list = status["podIPs"];
  if (Array.isArray(list)) {
    list.forEach((entry: unknown, index) => {
      const ip = isJsonObject(entry) ? entry["ip"] : undefined;
      if (typeof ip === "string") {
        if (ip !== "") ips.push(ip);
      } else addIssue(issues, "invalidFieldType", `status.podIPs[${index}].ip`, `expected an IP string, got ${jsonType(ip)}`);
    });
  } else if (list !== undefined && list !== null) {
    addIssue(issues, "invalidFieldType", "status.podIPs", `expected an array, got ${jsonType(list)}`);
  }
  const single = readString(status, ["podIP"], "status", issues);
  // The API server keeps podIPs[0] === podIP; tolerate objects where only one of them is set.
  const podIP = single !== "" ? single : (ips[0] ?? "");
  return { podIP, podIPs: podIP !== "" && !ips.includes(podIP) ? [podIP, ...ips] : ips };
}

/**
 * Parses the parts of a Pod podid uses: metadata (name and namespace required), `spec.nodeName` (`""`
 * while unscheduled), `spec.serviceAccountName` (falling back to the deprecated `serviceAccount`, then to
 * `default` as the API server would), `spec.hostNetwork`, `status.phase`, `status.podIP` and
 * `status.podIPs`.
 */
export function parsePod(raw: unknown): Result<PodView, ValidationError> {
  const envelope = readEnvelope(raw, { objectKind: "Pod", namespaced: true });
  if (!envelope.ok) return envelope;
  const { spec, metadata, issues, object } = envelope.value;
  const status = readObject(object, ["status"], "", issues) ?? {};
  const serviceAccountName = readString(spec, ["serviceAccountName", "serviceAccount"], "spec", issues);
  const { podIP, podIPs } = readPodIPs(status, issues);
  return finishParse("Pod", envelope.value, {
    kind: "Pod",
    metadata,
    nodeName: readString(spec, ["nodeName"], "spec", issues),
    serviceAccountName: serviceAccountName === "" ? "default" : serviceAccountName,
    hostNetwork: readBoolean(spec, ["hostNetwork"], "spec", issues),
    phase: readPhase(status, issues),
    podIP,
    podIPs,
  });
}
