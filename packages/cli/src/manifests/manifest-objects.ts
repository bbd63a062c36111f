/**
 * Turns manifest entries into the typed objects core's rules read, with core's own parsers: identities,
 * bindings, exceptions, AzureAssignedIdentities, pods, nodes — plus the one kind only `podid plan` knows,
 * the identity block of a VM or scale set. Objects that fail validation are kept as findings with the
 * `FILE:LINE` of the offending field.
 * @packageDocumentation
 */
import {
  API_GROUP,
  computeTargetKey,
  describeValidationError,
  identityKey,
  KIND,
  parseAzureAssignedIdentity,
  parseAzureIdentity,
  parseAzureIdentityBinding,
  parseAzurePodIdentityException,
  parseComputeTargetId,
  parseNode,
  parsePod,
  parseProviderId,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type AzurePodIdentityException,
  type ComputeIdentityState,
  type ComputeTarget,
  type NodeView,
  type PodView,
  type ResourceIdentityType,
  type Result,
  type ValidationError,
} from "@podid/core";
import { formatLocation, type ManifestEntry, type SourceLocation } from "./load-manifests.js";

/** `kind` of the document that gives the current identities of a scale set (see README). */
export const SCALE_SET_IDENTITIES_KIND = "VirtualMachineScaleSetIdentities";
/** `kind` of the document that gives the current identities of a standalone VM. */
export const VM_IDENTITIES_KIND = "VirtualMachineIdentities";

/** A parsed object and the manifest position it came from. */
export interface Located<T> {
  readonly value: T;
  readonly at: SourceLocation;
}

/** The current identity block of one VM or scale set, as given in a manifest. */
export interface ComputeIdentityDocument {
  readonly target: ComputeTarget;
  /** Canonical key (`computeTargetKey`). */
  readonly key: string;
  readonly state: ComputeIdentityState;
}

/** An object that failed validation: what it is, the one-sentence reason, and where. */
export interface InvalidObject {
  readonly objectKind: string;
  readonly namespace: string;
  readonly name: string;
  /** Position of the first offending field (or of the object). */
  readonly at: SourceLocation;
  /** `describeValidationError` text (or an equivalent sentence for plan-only kinds). */
  readonly message: string;
  /** The validation reasons, e.g. `malformedResourceID` (plan-only kinds use `invalidComputeIdentities`). */
  readonly reasons: readonly string[];
}

/** Everything read from the manifests, by kind. */
export interface ManifestObjects {
  readonly identities: readonly Located<AzureIdentity>[];
  readonly bindings: readonly Located<AzureIdentityBinding>[];
  readonly exceptions: readonly Located<AzurePodIdentityException>[];
  readonly assignedIdentities: readonly Located<AzureAssignedIdentity>[];
  readonly pods: readonly Located<PodView>[];
  readonly nodes: readonly Located<NodeView>[];
  readonly compute: readonly Located<ComputeIdentityDocument>[];
  readonly invalid: readonly InvalidObject[];
  /** Things worth a line in the output that do not change the plan (ignored kinds, duplicates). */
  readonly notes: readonly string[];
}

/** Options of {@link readManifestObjects}. */
export interface ReadManifestOptions {
  /** Namespace of namespaced objects that name none (kubectl's `-n`, default `default`). */
  readonly defaultNamespace: string;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringField(object: JsonObject, key: string): string | undefined {
  const value = object[key];
  return typeof value === "string" ? value : undefined;
}

/** A copy of `raw` whose `metadata.namespace` is `namespace` when it had none (what `kubectl apply` does). */
function withDefaultNamespace(raw: JsonObject, namespace: string): JsonObject {
  const metadata = raw["metadata"];
  if (!isObject(metadata)) return raw;
  const current = metadata["namespace"];
  if (typeof current === "string" && current !== "") return raw;
  return { ...raw, metadata: { ...metadata, namespace } };
}

function invalidFrom(error: ValidationError, entry: ManifestEntry): InvalidObject {
  const first = error.issues[0];
  return {
    objectKind: error.objectKind,
    namespace: error.namespace,
    name: error.name,
    at: first === undefined ? entry.at : entry.locate(first.field),
    message: describeValidationError(error),
    reasons: error.issues.map((issue) => issue.nestedReason ?? issue.reason),
  };
}

const IDENTITY_TYPES: readonly ResourceIdentityType[] = ["None", "SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned"];

function readIdentityType(value: unknown): ResourceIdentityType | undefined {
  if (typeof value !== "string") return undefined;
  const normalised = value.split(",").map((part) => part.trim().toLowerCase()).sort().join(",");
  return IDENTITY_TYPES.find((type) => type.split(",").map((part) => part.trim().toLowerCase()).sort().join(",") === normalised);
}

/**
 * Reads a compute identity document: either podid's own
 * `{kind: VirtualMachineScaleSetIdentities | VirtualMachineIdentities, id, type?, userAssignedIdentities}`
 * (ids as a list, or as ARM's map of id → details), or an ARM resource as `az vmss show -o json` prints it
 * (`id` plus `identity: {type, userAssignedIdentities: {…}}`). Without `type`, the block is `UserAssigned`
 * when identities are listed and `None` otherwise.
 */
function readComputeDocument(raw: JsonObject, entry: ManifestEntry, expectedKind: "vm" | "vmss" | undefined): Result<ComputeIdentityDocument, InvalidObject> {
  const problem = (field: string, message: string): Result<never, InvalidObject> => ({
    ok: false,
    error: {
      objectKind: expectedKind === "vm" ? VM_IDENTITIES_KIND : expectedKind === "vmss" ? SCALE_SET_IDENTITIES_KIND : "compute resource",
      namespace: "",
      name: stringField(raw, "id") ?? "",
      at: entry.locate(field),
      message,
      reasons: ["invalidComputeIdentities"],
    },
  });
  const id = stringField(raw, "id") ?? "";
  const target = parseComputeTargetId(id);
  if (!target.ok) return problem("id", `id: ${target.error.message}`);
  if (expectedKind !== undefined && target.value.kind !== expectedKind) {
    const want = expectedKind === "vm" ? "a virtual machine" : "a virtual machine scale set";
    return problem("id", `id: ${id} is not ${want}; use kind ${target.value.kind === "vm" ? VM_IDENTITIES_KIND : SCALE_SET_IDENTITIES_KIND}`);
  }
  const block = expectedKind === undefined ? raw["identity"] : raw;
  const base = expectedKind === undefined ? "identity." : "";
  const source = isObject(block) ? block : {};
  const listed = source["userAssignedIdentities"];
  const ids: string[] = [];
  if (Array.isArray(listed)) {
    for (const item of listed) {
      if (typeof item !== "string") return problem(`${base}userAssignedIdentities`, "userAssignedIdentities must list identity resource ids");
      ids.push(item);
    }
  } else if (isObject(listed)) {
    ids.push(...Object.keys(listed));
  } else if (listed !== undefined && listed !== null) {
    return problem(`${base}userAssignedIdentities`, "userAssignedIdentities must be a list of identity resource ids");
  }
  for (const [index, item] of ids.entries()) {
    if (identityKey(item) === undefined) {
      return problem(`${base}userAssignedIdentities${Array.isArray(listed) ? `[${index}]` : ""}`, `userAssignedIdentities: ${JSON.stringify(item)} is not a user-assigned identity resource id`);
    }
  }
  const rawType = source["type"];
  let type: ResourceIdentityType;
  if (rawType === undefined || rawType === null) type = ids.length > 0 ? "UserAssigned" : "None";
  else {
    const parsed = readIdentityType(rawType);
    if (parsed === undefined) return problem(`${base}type`, `type: ${JSON.stringify(rawType)} is not one of ${IDENTITY_TYPES.join(" | ")}`);
    type = parsed;
  }
  if (ids.length > 0 && (type === "None" || type === "SystemAssigned")) {
    return problem(`${base}type`, `type ${type} cannot carry user-assigned identities; use ${type === "None" ? "UserAssigned" : "SystemAssigned, UserAssigned"}`);
  }
  const provisioningState = stringField(source, "provisioningState") ?? (isObject(raw["properties"]) ? stringField(raw["properties"], "provisioningState") : undefined);
  return {
    ok: true,
    value: {
      target: target.value,
      key: computeTargetKey(target.value),
      state: { type, userAssignedIdentityIds: ids, ...(provisioningState !== undefined ? { provisioningState } : {}) },
    },
  };
}

function groupOf(apiVersion: string | undefined): string {
  if (apiVersion === undefined) return "";
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** Keeps the last object per key (later manifests win, as with `kubectl apply`) and notes what was replaced. */
class LastWins<T> {
  readonly #items = new Map<string, Located<T>>();
  add(key: string, item: Located<T>, what: string, notes: string[]): void {
    const previous = this.#items.get(key);
    if (previous !== undefined) notes.push(`${formatLocation(item.at)}: ${what} also defined at ${formatLocation(previous.at)}; the later one is used`);
    this.#items.set(key, item);
  }
  values(): Located<T>[] {
    return [...this.#items.values()];
  }
}

/**
 * Classifies and validates manifest entries with core's parsers. Kinds podid does not read (Deployments,
 * Services…) are noted and skipped; every object that fails validation becomes an {@link InvalidObject}
 * positioned at its first offending field. A node with a non-empty but malformed `spec.providerID` is
 * invalid too (its pods could never be assigned).
 */
export function readManifestObjects(entries: readonly ManifestEntry[], options: ReadManifestOptions): ManifestObjects {
  const notes: string[] = [];
  const invalid: InvalidObject[] = [];
  const identities = new LastWins<AzureIdentity>();
  const bindings = new LastWins<AzureIdentityBinding>();
  const exceptions = new LastWins<AzurePodIdentityException>();
  const assigned = new LastWins<AzureAssignedIdentity>();
  const pods = new LastWins<PodView>();
  const nodes = new LastWins<NodeView>();
  const compute = new LastWins<ComputeIdentityDocument>();

  const namespaced = <T extends { readonly metadata: { readonly namespace: string; readonly name: string } }>(
    entry: ManifestEntry,
    raw: JsonObject,
    parse: (raw: unknown) => Result<T, ValidationError>,
    into: LastWins<T>,
    kind: string,
  ): void => {
    const parsed = parse(withDefaultNamespace(raw, options.defaultNamespace));
    if (!parsed.ok) {
      invalid.push(invalidFrom(parsed.error, entry));
      return;
    }
    const { namespace, name } = parsed.value.metadata;
    into.add(`${namespace}/${name}`, { value: parsed.value, at: entry.at }, `${kind} ${namespace}/${name}`, notes);
  };

  for (const entry of entries) {
    const raw = entry.value;
    if (!isObject(raw)) {
      invalid.push({ objectKind: "document", namespace: "", name: "", at: entry.at, message: "expected a Kubernetes object (a YAML mapping)", reasons: ["notAnObject"] });
      continue;
    }
    const kind = stringField(raw, "kind");
    const apiVersion = stringField(raw, "apiVersion");
    const group = groupOf(apiVersion);
    if (kind === undefined) {
      if (typeof raw["id"] === "string" && isObject(raw["identity"])) {
        const parsed = readComputeDocument(raw, entry, undefined);
        if (parsed.ok) compute.add(parsed.value.key, { value: parsed.value, at: entry.at }, `identities of ${parsed.value.target.name}`, notes);
        else invalid.push(parsed.error);
      } else {
        invalid.push({ objectKind: "document", namespace: "", name: "", at: entry.at, message: "document has no kind", reasons: ["wrongKind"] });
      }
      continue;
    }
    const isCrd = group === API_GROUP;
    switch (kind) {
      case KIND.AzureIdentity:
        if (isCrd) {
          namespaced(entry, raw, (r) => parseAzureIdentity(r), identities, kind);
          continue;
        }
        break;
      case KIND.AzureIdentityBinding:
        if (isCrd) {
          namespaced(entry, raw, (r) => parseAzureIdentityBinding(r), bindings, kind);
          continue;
        }
        break;
      case KIND.AzurePodIdentityException:
        if (isCrd) {
          namespaced(entry, raw, parseAzurePodIdentityException, exceptions, kind);
          continue;
        }
        break;
      case KIND.AzureAssignedIdentity:
        if (isCrd) {
          namespaced(entry, raw, parseAzureAssignedIdentity, assigned, kind);
          continue;
        }
        break;
      case "Pod":
        if (group === "") {
          namespaced(entry, raw, parsePod, pods, kind);
          continue;
        }
        break;
      case "Node":
        if (group === "") {
          const parsed = parseNode(raw);
          if (!parsed.ok) invalid.push(invalidFrom(parsed.error, entry));
          else if (parsed.value.providerID !== "" && !parseProviderId(parsed.value.providerID).ok) {
            const reason = parseProviderId(parsed.value.providerID);
            invalid.push({
              objectKind: "Node",
              namespace: "",
              name: parsed.value.metadata.name,
              at: entry.locate("spec.providerID"),
              message: `Node ${parsed.value.metadata.name} is invalid: spec.providerID: ${reason.ok ? "" : reason.error.message}`,
              reasons: ["invalidProviderId"],
            });
          } else nodes.add(parsed.value.metadata.name, { value: parsed.value, at: entry.at }, `Node ${parsed.value.metadata.name}`, notes);
          continue;
        }
        break;
      case SCALE_SET_IDENTITIES_KIND:
      case VM_IDENTITIES_KIND: {
        const parsed = readComputeDocument(raw, entry, kind === VM_IDENTITIES_KIND ? "vm" : "vmss");
        if (parsed.ok) compute.add(parsed.value.key, { value: parsed.value, at: entry.at }, `${kind} ${parsed.value.target.name}`, notes);
        else invalid.push(parsed.error);
        continue;
      }
    }
    if (isCrd) {
      notes.push(`${formatLocation(entry.at)}: ${apiVersion ?? ""} ${kind} is not a kind podid reads; skipped`);
    } else {
      notes.push(`${formatLocation(entry.at)}: ${kind}${apiVersion === undefined ? "" : ` (${apiVersion})`} skipped: plan reads AzureIdentity, AzureIdentityBinding, AzurePodIdentityException, AzureAssignedIdentity, Pod, Node, ${SCALE_SET_IDENTITIES_KIND} and ${VM_IDENTITIES_KIND}`);
    }
  }
  return {
    identities: identities.values(),
    bindings: bindings.values(),
    exceptions: exceptions.values(),
    assignedIdentities: assigned.values(),
    pods: pods.values(),
    nodes: nodes.values(),
    compute: compute.values(),
    invalid,
    notes,
  };
}
