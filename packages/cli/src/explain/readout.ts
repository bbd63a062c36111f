/**
 * What `podid explain` read from the cluster (and, optionally, from ARM), before any reasoning: objects
 * are kept with their raw JSON so that invalid ones can still be named and explained.
 * @packageDocumentation
 */
import type {
  AzureAssignedIdentity,
  AzureIdentity,
  AzureIdentityBinding,
  AzurePodIdentityException,
  NodeView,
  PodView,
  Result,
  ValidationError,
} from "@podid/core";
import type { CloudFacts, EventView } from "./explanation-types.js";

/** An object as read: raw JSON plus core's parse result. */
export interface Parsed<T> {
  readonly raw: unknown;
  readonly result: Result<T, ValidationError>;
}

/** Everything read from the cluster that explain reasons about. */
export interface ClusterObjects {
  readonly identities: readonly Parsed<AzureIdentity>[];
  readonly bindings: readonly Parsed<AzureIdentityBinding>[];
  /** Valid exceptions (of the pod's namespace for `explain pod`). */
  readonly exceptions: readonly AzurePodIdentityException[];
  /** Valid AzureAssignedIdentities. */
  readonly assigned: readonly AzureAssignedIdentity[];
  /** Events of the bindings and AzureAssignedIdentities involved. */
  readonly events: readonly EventView[];
}

/** Input of `explainPod`. */
export interface PodReadout extends ClusterObjects {
  readonly pod: PodView;
  readonly podRaw: unknown;
  /** The pod's node: absent while unscheduled; `view` absent when the Node object does not exist. */
  readonly node?: { readonly name: string; readonly view?: NodeView };
  /** The pod's VM/VMSS as ARM reports it (only with cloud access and a resolvable node). */
  readonly cloud?: CloudFacts;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A string field of a raw object's `spec`, trying each name in turn (camelCase, then legacy PascalCase). */
export function rawSpecString(raw: unknown, names: readonly string[]): string {
  if (!isObject(raw) || !isObject(raw["spec"])) return "";
  for (const name of names) {
    const value = raw["spec"][name];
    if (typeof value === "string") return value;
  }
  return "";
}

/** `Kind/name` of the raw object's controller owner (or first owner), or null. */
export function rawOwner(raw: unknown): string | null {
  if (!isObject(raw) || !isObject(raw["metadata"])) return null;
  const owners = raw["metadata"]["ownerReferences"];
  if (!Array.isArray(owners)) return null;
  const all = owners.filter(isObject);
  const owner = all.find((o) => o["controller"] === true) ?? all[0];
  if (owner === undefined) return null;
  const kind = typeof owner["kind"] === "string" ? owner["kind"] : "";
  const name = typeof owner["name"] === "string" ? owner["name"] : "";
  return kind === "" || name === "" ? null : `${kind}/${name}`;
}

/** Namespace and name of an object as far as they could be read (valid or not). */
export function parsedRef<T extends { readonly metadata: { readonly namespace: string; readonly name: string } }>(parsed: Parsed<T>): { namespace: string; name: string } {
  return parsed.result.ok
    ? { namespace: parsed.result.value.metadata.namespace, name: parsed.result.value.metadata.name }
    : { namespace: parsed.result.error.namespace, name: parsed.result.error.name };
}

/** RFC 3339 in UTC to the second (`2024-05-01T10:00:00Z`), or the input when it is not a date. */
export function formatTimestamp(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return value;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A short age such as `45s`, `12m`, `3h5m`, `2d` between `fromIso` and `nowMs`. */
export function formatAge(fromIso: string, nowMs: number): string {
  const from = Date.parse(fromIso);
  if (Number.isNaN(from)) return "unknown age";
  const seconds = Math.max(0, Math.floor((nowMs - from) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${minutes % 60 === 0 ? "" : `${minutes % 60}m`}`;
  return `${Math.floor(hours / 24)}d`;
}
