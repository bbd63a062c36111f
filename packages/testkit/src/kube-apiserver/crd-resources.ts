/**
 * Reads an `apiextensions.k8s.io/v1` CustomResourceDefinition into the resource definitions it serves, and
 * computes the status the real apiextensions controllers would write (names accepted, established).
 *
 * Validated like the real server on create/update: `metadata.name` must be `<plural>.<group>`, scope must be
 * `Namespaced` or `Cluster`, exactly one version must be the storage version, and names must be lowercase.
 * The OpenAPI schemas are stored but NOT enforced (no pruning, no validation of custom objects).
 * @packageDocumentation
 */
import { isJsonObject, objectAt, stringAt, stringsAt, type JsonObject, type JsonValue, type KubeObject } from "./json.js";
import { STANDARD_VERBS, type PrinterColumn, type ResourceDefinition } from "./resource-definition.js";
import { invalid } from "./status.js";

const CRD_SUBJECT = { resource: "customresourcedefinitions", group: "apiextensions.k8s.io" } as const;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The served definitions of a CRD; throws a 422 `ApiError` when the CRD is invalid. */
export function crdResourceDefinitions(crd: KubeObject): ResourceDefinition[] {
  const name = stringAt(crd.metadata, "name") ?? "";
  const subject = { ...CRD_SUBJECT, name };
  const causes: { field: string; message: string }[] = [];
  const spec = objectAt(crd, "spec");
  const names = objectAt(spec, "names");
  const group = stringAt(spec, "group") ?? "";
  const plural = stringAt(names, "plural") ?? "";
  const kind = stringAt(names, "kind") ?? "";
  const scope = stringAt(spec, "scope") ?? "";
  if (group === "" || !group.includes(".")) causes.push({ field: "spec.group", message: "should be a domain with at least one dot" });
  if (!DNS_LABEL.test(plural)) causes.push({ field: "spec.names.plural", message: "Invalid value: a lowercase RFC 1123 label is required" });
  if (kind === "") causes.push({ field: "spec.names.kind", message: "Required value" });
  if (scope !== "Namespaced" && scope !== "Cluster") causes.push({ field: "spec.scope", message: 'Unsupported value: supported values: "Cluster", "Namespaced"' });
  if (name !== `${plural}.${group}`) causes.push({ field: "metadata.name", message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group` });
  const singular = stringAt(names, "singular") ?? kind.toLowerCase();
  if (!DNS_LABEL.test(singular)) causes.push({ field: "spec.names.singular", message: "Invalid value: a lowercase RFC 1123 label is required" });
  const versions = Array.isArray(spec?.["versions"]) ? (spec["versions"] as JsonValue[]).filter(isJsonObject) : [];
  if (versions.length === 0) causes.push({ field: "spec.versions", message: "Invalid value: must have exactly one version marked as storage version" });
  const storageCount = versions.filter((v) => v["storage"] === true).length;
  if (versions.length > 0 && storageCount !== 1) causes.push({ field: "spec.versions", message: "Invalid value: must have exactly one version marked as storage version" });
  const seen = new Set<string>();
  for (const [i, v] of versions.entries()) {
    const vname = stringAt(v, "name") ?? "";
    if (!DNS_LABEL.test(vname)) causes.push({ field: `spec.versions[${i}].name`, message: "Invalid value: a DNS-1035 label is required" });
    if (seen.has(vname)) causes.push({ field: `spec.versions[${i}].name`, message: "Duplicate value" });
    seen.add(vname);
  }
  if (causes.length > 0) throw invalid(subject, causes);
  const shortNames = stringsAt(names, "shortNames");
  const categories = stringsAt(names, "categories");
  const listKind = stringAt(names, "listKind") ?? `${kind}List`;
  return versions
    .filter((v) => v["served"] !== false)
    .map((v): ResourceDefinition => {
      const columns = printerColumns(v);
      return {
        group,
        version: stringAt(v, "name") ?? "",
        plural,
        singular,
        kind,
        listKind,
        namespaced: scope === "Namespaced",
        shortNames,
        categories,
        verbs: STANDARD_VERBS,
        statusSubresource: objectAt(objectAt(v, "subresources"), "status") !== undefined,
        strategicMerge: false,
        ...(columns.length > 0 ? { printerColumns: columns } : {}),
        crdName: name,
      };
    });
}

function printerColumns(version: JsonObject): PrinterColumn[] {
  const raw = version["additionalPrinterColumns"];
  if (!Array.isArray(raw)) return [];
  return raw.filter(isJsonObject).map((c) => {
    const description = stringAt(c, "description");
    const format = stringAt(c, "format");
    const priority = c["priority"];
    return {
      name: stringAt(c, "name") ?? "",
      type: stringAt(c, "type") ?? "string",
      jsonPath: stringAt(c, "jsonPath") ?? "",
      ...(description !== undefined ? { description } : {}),
      ...(format !== undefined ? { format } : {}),
      ...(typeof priority === "number" ? { priority } : {}),
    };
  });
}

/**
 * The status the apiextensions controllers converge to for a valid CRD: `NamesAccepted` and `Established`
 * conditions, `acceptedNames` equal to `spec.names`, and `storedVersions` including the storage version.
 * Written synchronously so `kubectl wait --for condition=established` returns at once.
 */
export function crdStatus(crd: KubeObject, previous: KubeObject | undefined, now: string): JsonObject {
  const spec = objectAt(crd, "spec");
  const names = objectAt(spec, "names") ?? {};
  const versions = Array.isArray(spec?.["versions"]) ? (spec["versions"] as JsonValue[]).filter(isJsonObject) : [];
  const storage = versions.find((v) => v["storage"] === true);
  const stored = new Set(stringsAt(objectAt(previous, "status"), "storedVersions"));
  const storageName = stringAt(storage, "name");
  if (storageName !== undefined) stored.add(storageName);
  // As the API server does, a condition keeps its lastTransitionTime until its status changes: an
  // unchanged CRD re-applied a second later stays unchanged.
  const previousConditions = Array.isArray(objectAt(previous, "status")?.["conditions"])
    ? (objectAt(previous, "status")?.["conditions"] as JsonValue[]).filter(isJsonObject)
    : [];
  const condition = (type: string, reason: string, message: string): JsonObject => {
    const before = previousConditions.find((c) => c["type"] === type && c["status"] === "True");
    return { type, status: "True", lastTransitionTime: stringAt(before, "lastTransitionTime") ?? now, reason, message };
  };
  const accepted: JsonObject = { ...names };
  if (accepted["singular"] === undefined && typeof names["kind"] === "string") accepted["singular"] = names["kind"].toLowerCase();
  if (accepted["listKind"] === undefined && typeof names["kind"] === "string") accepted["listKind"] = `${names["kind"]}List`;
  return {
    conditions: [
      condition("NamesAccepted", "NoConflicts", "no conflicts found"),
      condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ],
    acceptedNames: accepted,
    storedVersions: [...stored],
  };
}
