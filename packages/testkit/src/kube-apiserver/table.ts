/**
 * Server-side printing: the `meta.k8s.io` `Table` kubectl asks for (`Accept: application/json;as=Table;…`)
 * when it prints human-readable output, including in `kubectl get -w`. Rows carry a
 * `PartialObjectMetadata` (or the full object) so kubectl can add the NAMESPACE column for `-A`.
 *
 * Built-in kinds get a few of their usual columns (pods: Ready/Status/Restarts/Age, with `Terminating` once
 * `deletionTimestamp` is set); custom resources get Name plus their CRD's `additionalPrinterColumns`
 * (or Name and Age when the CRD declares none), as the real server prints them.
 * @packageDocumentation
 */
import { isJsonObject, objectAt, stringAt, valueAtPath, type JsonObject, type JsonValue, type KubeObject } from "./json.js";
import type { PrinterColumn, ResourceDefinition } from "./resource-definition.js";
import { ageOf } from "./time.js";

/** What the client asked for: Table version and how much of each object to embed in rows. */
export interface TableRequest {
  readonly version: "v1" | "v1beta1";
  readonly includeObject: "None" | "Metadata" | "Object";
}

interface Column {
  readonly name: string;
  readonly type: string;
  readonly format?: string;
  readonly description: string;
  readonly priority: number;
  readonly cell: (obj: KubeObject, now: Date) => JsonValue;
}

const nameColumn: Column = {
  name: "Name",
  type: "string",
  format: "name",
  description: "Name must be unique within a namespace.",
  priority: 0,
  cell: (obj) => stringAt(obj.metadata, "name") ?? "",
};

const ageColumn: Column = {
  name: "Age",
  type: "string",
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
  priority: 0,
  cell: (obj, now) => ageOf(obj.metadata["creationTimestamp"], now),
};

function column(name: string, cell: Column["cell"], priority = 0, type = "string"): Column {
  return { name, type, description: name, priority, cell };
}

function count(value: JsonValue | undefined): number {
  return isJsonObject(value) ? Object.keys(value).length : 0;
}

function podStatus(obj: KubeObject): string {
  if (stringAt(obj.metadata, "deletionTimestamp") !== undefined) return "Terminating";
  const status = objectAt(obj, "status");
  return stringAt(status, "reason") ?? stringAt(status, "phase") ?? "Unknown";
}

function podReady(obj: KubeObject): string {
  const containers = valueAtPath(obj, "spec.containers");
  const statuses = valueAtPath(obj, "status.containerStatuses");
  const total = Array.isArray(containers) ? containers.length : 0;
  const ready = Array.isArray(statuses) ? statuses.filter((s) => isJsonObject(s) && s["ready"] === true).length : 0;
  return `${ready}/${total}`;
}

function podRestarts(obj: KubeObject): number {
  const statuses = valueAtPath(obj, "status.containerStatuses");
  if (!Array.isArray(statuses)) return 0;
  return statuses.reduce<number>((sum, s) => sum + (isJsonObject(s) && typeof s["restartCount"] === "number" ? s["restartCount"] : 0), 0);
}

function nodeStatus(obj: KubeObject): string {
  const conditions = valueAtPath(obj, "status.conditions");
  const ready = Array.isArray(conditions) ? conditions.find((c) => isJsonObject(c) && c["type"] === "Ready") : undefined;
  const base = !isJsonObject(ready) ? "Unknown" : ready["status"] === "True" ? "Ready" : "NotReady";
  return valueAtPath(obj, "spec.unschedulable") === true ? `${base},SchedulingDisabled` : base;
}

function nodeRoles(obj: KubeObject): string {
  const labels = objectAt(obj.metadata, "labels") ?? {};
  const roles = Object.keys(labels)
    .filter((k) => k.startsWith("node-role.kubernetes.io/"))
    .map((k) => k.slice("node-role.kubernetes.io/".length))
    .filter((r) => r !== "");
  return roles.length === 0 ? "<none>" : roles.sort().join(",");
}

function text(value: JsonValue | undefined, fallback = "<none>"): JsonValue {
  if (value === undefined || value === null) return fallback;
  return value;
}

const BUILTIN_COLUMNS: Readonly<Record<string, readonly Column[]>> = {
  Pod: [
    nameColumn,
    column("Ready", podReady),
    column("Status", podStatus),
    column("Restarts", podRestarts, 0, "integer"),
    ageColumn,
    column("IP", (o) => text(valueAtPath(o, "status.podIP")), 1),
    column("Node", (o) => text(valueAtPath(o, "spec.nodeName")), 1),
  ],
  Namespace: [nameColumn, column("Status", (o) => text(valueAtPath(o, "status.phase"), "")), ageColumn],
  Node: [
    nameColumn,
    column("Status", nodeStatus),
    column("Roles", nodeRoles),
    ageColumn,
    column("Version", (o) => text(valueAtPath(o, "status.nodeInfo.kubeletVersion"), "")),
  ],
  ConfigMap: [nameColumn, column("Data", (o) => count(o["data"]) + count(o["binaryData"]), 0, "integer"), ageColumn],
  Secret: [nameColumn, column("Type", (o) => text(o["type"], "Opaque")), column("Data", (o) => count(o["data"]), 0, "integer"), ageColumn],
  Event: [
    column("Last Seen", (o, now) => ageOf(o["lastTimestamp"] ?? o["eventTime"] ?? o.metadata["creationTimestamp"], now)),
    column("Type", (o) => text(o["type"], "")),
    column("Reason", (o) => text(o["reason"], "")),
    column("Object", (o) => `${String(valueAtPath(o, "involvedObject.kind") ?? "").toLowerCase()}/${String(valueAtPath(o, "involvedObject.name") ?? "")}`),
    column("Message", (o) => text(o["message"], "")),
    { ...nameColumn, priority: 1 },
  ],
  Lease: [nameColumn, column("Holder", (o) => text(valueAtPath(o, "spec.holderIdentity"), "")), ageColumn],
  CustomResourceDefinition: [nameColumn, column("Created At", (o) => text(o.metadata["creationTimestamp"], ""), 0, "date")],
};

function customColumns(columns: readonly PrinterColumn[]): Column[] {
  return [
    nameColumn,
    ...columns.map((c): Column => ({
      name: c.name,
      type: c.type === "date" ? "date" : c.type,
      ...(c.format !== undefined ? { format: c.format } : {}),
      description: c.description ?? c.name,
      priority: c.priority ?? 0,
      cell: (obj, now) => {
        const value = valueAtPath(obj, c.jsonPath);
        if (value === undefined || value === null) return null;
        if (c.type === "date") return ageOf(value, now);
        if (typeof value === "object") return JSON.stringify(value);
        return value;
      },
    })),
  ];
}

function columnsFor(def: ResourceDefinition): readonly Column[] {
  if (def.printerColumns !== undefined) return customColumns(def.printerColumns);
  if (def.crdName === undefined) return BUILTIN_COLUMNS[def.kind] ?? [nameColumn, ageColumn];
  return [nameColumn, ageColumn];
}

/** `PartialObjectMetadata` of `obj` (what metadata-only clients and Table rows carry). */
export function partialObjectMetadata(obj: KubeObject, version: "v1" | "v1beta1" = "v1"): JsonObject {
  return { kind: "PartialObjectMetadata", apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

/** A `Table` of `objects` for `def`. */
export function toTable(
  def: ResourceDefinition,
  objects: readonly KubeObject[],
  listMetadata: JsonObject,
  request: TableRequest,
  now: Date,
): JsonObject {
  const columns = columnsFor(def);
  return {
    kind: "Table",
    apiVersion: `meta.k8s.io/${request.version}`,
    metadata: listMetadata,
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? "",
      description: c.description,
      priority: c.priority,
    })),
    rows: objects.map((obj) => {
      const row: JsonObject = { cells: columns.map((c) => c.cell(obj, now)) };
      if (request.includeObject === "Object") row["object"] = obj;
      else if (request.includeObject === "Metadata") row["object"] = partialObjectMetadata(obj, request.version);
      return row;
    }),
  };
}
