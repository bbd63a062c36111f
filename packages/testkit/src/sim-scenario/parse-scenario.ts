/**
 * Validation of `podid-sim` scenario files: pure functions from YAML text (or already parsed data) to a
 * {@link SimScenario} or the list of every problem found, each naming its field. Unknown keys are
 * problems too, so a misspelt field never silently falls back to a default.
 * @packageDocumentation
 */
import { err, ok, type ComputeTarget, type Result } from "@podid/core";
import { parseDocument } from "yaml";
import { readKeyVaults } from "./parse-key-vaults.js";
import { describe, join, Reader, type Raw } from "./scenario-reader.js";
import {
  SCENARIO_FAULT_OPERATIONS,
  type ScenarioArmFault,
  type ScenarioFaultOperation,
  type ScenarioIdentity,
  type ScenarioNode,
  type ScenarioProblem,
  type ScenarioTarget,
  type SimScenario,
} from "./scenario.js";

/** Values used when the file leaves them out. */
export const SCENARIO_DEFAULTS = {
  name: "podid-sim",
  tenantId: "72f988bf-0000-4000-8000-0000000051a0",
  location: "westeurope",
  servicePrincipal: { clientId: "5d2c1f3e-0000-4000-8000-0000000051a0", secret: "podid-sim-secret-not-real" },
  patchLatencyMs: 1000,
  getLatencyMs: 0,
  imdsAddress: "127.0.0.1",
} as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// ARM resource and group names: letters, digits and . _ - ( ), not ending with a dot.
const ARM_NAME = /^[A-Za-z0-9_().-]{1,90}$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const MAX_LATENCY_MS = 600_000;
const DEFAULT_FAULT_CODES: Readonly<Record<number, string>> = {
  400: "BadRequest",
  403: "AuthorizationFailed",
  404: "ResourceNotFound",
  409: "OperationNotAllowed",
  429: "TooManyRequests",
  500: "InternalServerError",
  503: "ServiceUnavailable",
};

const GUID_RULE = { pattern: GUID, what: "a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)" };
const ARM_NAME_RULE = { pattern: ARM_NAME, what: "an ARM name (letters, digits, . _ - ( ), up to 90 characters)" };
const NODE_NAME_RULE = { pattern: DNS_SUBDOMAIN, what: "a Kubernetes node name (lower-case DNS subdomain)" };

/** Parses scenario YAML (one document); syntax errors name their line and column. */
export function parseScenarioYaml(text: string): Result<SimScenario, readonly ScenarioProblem[]> {
  // prettyErrors puts "at line N, column M" into each message's first line.
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return err(document.errors.map((e) => ({ path: "", message: `not valid YAML: ${(e.message.split("\n")[0] ?? e.code).replace(/:$/, "")}` })));
  }
  return parseScenario(document.toJS() as unknown);
}

const TOP_FIELDS = ["name", "tenantId", "location", "servicePrincipal", "subscriptions", "nodes", "arm", "imds", "keyVaults", "manifests"];

/** Validates parsed scenario data into a {@link SimScenario}, or lists every problem found. */
export function parseScenario(raw: unknown): Result<SimScenario, readonly ScenarioProblem[]> {
  const r = new Reader();
  const top = r.object(raw, "", TOP_FIELDS);
  if (top === undefined) return err(r.problems);

  const name = r.optionalString(top["name"], "name", SCENARIO_DEFAULTS.name);
  const tenantId = r.optionalString(top["tenantId"], "tenantId", SCENARIO_DEFAULTS.tenantId, GUID_RULE);
  const location = r.optionalString(top["location"], "location", SCENARIO_DEFAULTS.location, { pattern: /^[a-z0-9]+$/, what: "an Azure region name (e.g. westeurope)" });
  const servicePrincipal = readServicePrincipal(r, top["servicePrincipal"]);

  const identities: ScenarioIdentity[] = [];
  const targets: ScenarioTarget[] = [];
  const targetPaths = new Map<ScenarioTarget, string>();
  const subscriptions = r.list(top["subscriptions"], "subscriptions");
  if (top["subscriptions"] === undefined || top["subscriptions"] === null) {
    r.problem("subscriptions", "required: the subscriptions with their scale sets, VMs and identities");
  } else if (Array.isArray(top["subscriptions"]) && subscriptions.length === 0) {
    r.problem("subscriptions", "needs at least one subscription");
  }
  // Identities first, so that scale sets and VMs of any subscription can name them.
  const subscriptionIds: (string | undefined)[] = subscriptions.map((value, i) => {
    const path = join("subscriptions", i);
    const sub = r.object(value, path, ["id", "identities", "scaleSets", "vms"]);
    if (sub === undefined) return undefined;
    const id = r.string(sub["id"], join(path, "id"), GUID_RULE);
    if (id !== undefined) identities.push(...readIdentities(r, sub["identities"], join(path, "identities"), id));
    return id;
  });
  checkUnique(r, identities.map((identity, i) => ({ key: identity.name.toLowerCase(), path: `identity "${identity.name}"`, index: i })), "identity name");
  subscriptions.forEach((value, i) => {
    const subscriptionId = subscriptionIds[i];
    if (subscriptionId === undefined || typeof value !== "object" || value === null) return;
    const sub = value as Raw;
    for (const kind of ["vmss", "vm"] as const) {
      const field = kind === "vmss" ? "scaleSets" : "vms";
      r.list(sub[field], join(join("subscriptions", i), field)).forEach((entry, j) => {
        const path = join(join(join("subscriptions", i), field), j);
        const target = readTarget(r, entry, path, kind, subscriptionId, identities);
        if (target !== undefined) {
          targets.push(target);
          targetPaths.set(target, path);
        }
      });
    }
  });
  if (subscriptions.length > 0 && targets.length === 0 && r.problems.length === 0) {
    r.problem("subscriptions", "needs at least one scale set or VM");
  }
  checkUnique(r, targets.map((t, i) => ({ key: t.target.name.toLowerCase(), path: targetPaths.get(t) ?? "", index: i })), "scale set/VM name (nodes refer to them by name)");
  const imdsPorts = targets.filter((t) => t.imdsPort !== 0).map((t, i) => ({ key: String(t.imdsPort), path: join(targetPaths.get(t) ?? "", "imds.port"), index: i }));
  checkUnique(r, imdsPorts, "IMDS port (each scale set or VM has its own IMDS)");

  const nodes = readNodes(r, top["nodes"], targets);
  const arm = readArm(r, top["arm"]);
  const imds = top["imds"] === undefined ? undefined : r.object(top["imds"], "imds", ["address"]);
  const imdsAddress =
    imds === undefined
      ? SCENARIO_DEFAULTS.imdsAddress
      : r.optionalString(imds["address"], "imds.address", SCENARIO_DEFAULTS.imdsAddress, { pattern: IPV4, what: "an IPv4 address (the fake IMDS binds it; keep it on loopback)" });
  const keyVaults = readKeyVaults(r, top["keyVaults"], identities);
  const manifests = r.list(top["manifests"], "manifests").flatMap((m, i) => {
    const value = r.string(m, join("manifests", i));
    return value === undefined ? [] : [value];
  });

  if (r.problems.length > 0) return err(r.problems);
  return ok({ name, tenantId, location, servicePrincipal, identities, targets, nodes, arm, imdsAddress, keyVaults, manifests });
}

function readServicePrincipal(r: Reader, value: unknown): SimScenario["servicePrincipal"] {
  if (value === undefined || value === null) return SCENARIO_DEFAULTS.servicePrincipal;
  const sp = r.object(value, "servicePrincipal", ["clientId", "secret"]);
  if (sp === undefined) return SCENARIO_DEFAULTS.servicePrincipal;
  return {
    clientId: r.optionalString(sp["clientId"], "servicePrincipal.clientId", SCENARIO_DEFAULTS.servicePrincipal.clientId, GUID_RULE),
    secret: r.optionalString(sp["secret"], "servicePrincipal.secret", SCENARIO_DEFAULTS.servicePrincipal.secret),
  };
}

function readIdentities(r: Reader, value: unknown, path: string, subscriptionId: string): ScenarioIdentity[] {
  return r.list(value, path).flatMap((entry, i) => {
    const at = join(path, i);
    const identity = r.object(entry, at, ["name", "resourceGroup", "clientId"]);
    if (identity === undefined) return [];
    const name = r.string(identity["name"], join(at, "name"), ARM_NAME_RULE);
    const resourceGroup = r.string(identity["resourceGroup"], join(at, "resourceGroup"), ARM_NAME_RULE);
    const clientId = identity["clientId"] === undefined ? undefined : r.string(identity["clientId"], join(at, "clientId"), GUID_RULE);
    if (name === undefined || resourceGroup === undefined || (identity["clientId"] !== undefined && clientId === undefined)) return [];
    const id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
    return [{ name, id, clientId }];
  });
}

function readTarget(
  r: Reader,
  value: unknown,
  path: string,
  kind: ComputeTarget["kind"],
  subscriptionId: string,
  identities: readonly ScenarioIdentity[],
): ScenarioTarget | undefined {
  const fields = ["name", "resourceGroup", "systemAssigned", "identities", "imds", ...(kind === "vmss" ? ["instances"] : [])];
  const raw = r.object(value, path, fields);
  if (raw === undefined) return undefined;
  const name = r.string(raw["name"], join(path, "name"), ARM_NAME_RULE);
  const resourceGroup = r.string(raw["resourceGroup"], join(path, "resourceGroup"), ARM_NAME_RULE);
  const systemAssigned = r.boolean(raw["systemAssigned"], join(path, "systemAssigned"), kind === "vmss");
  const attached = r.list(raw["identities"], join(path, "identities")).flatMap((ref, i) => {
    const at = join(join(path, "identities"), i);
    const text = r.string(ref, at);
    if (text === undefined) return [];
    const found = identities.find((identity) => identity.name.toLowerCase() === text.toLowerCase());
    if (found === undefined) {
      r.problem(at, `no identity named "${text}" under any subscription's identities (known: ${identities.map((x) => x.name).join(", ") || "none"})`);
      return [];
    }
    return [found.id];
  });
  const instances =
    kind === "vmss"
      ? r.list(raw["instances"], join(path, "instances")).flatMap((entry, i) => {
          const at = join(join(path, "instances"), i);
          if (typeof entry !== "number" || !Number.isInteger(entry) || entry < 0) {
            r.problem(at, `must be a scale-set instance id (a whole number ≥ 0), got ${describe(entry)}`);
            return [];
          }
          return [String(entry)];
        })
      : [];
  if (kind === "vmss") {
    if (raw["instances"] === undefined) r.problem(join(path, "instances"), "required: the scale set's instance ids, e.g. [0, 1, 2]");
    checkUnique(r, instances.map((id, i) => ({ key: id, path: join(join(path, "instances"), i), index: i })), "instance id");
  }
  let imdsPort = 0;
  if (raw["imds"] !== undefined) {
    const imds = r.object(raw["imds"], join(path, "imds"), ["port"]);
    if (imds !== undefined) imdsPort = r.integer(imds["port"], join(path, "imds.port"), 0, 65535, 0);
  }
  if (name === undefined || resourceGroup === undefined) return undefined;
  return { target: { kind, subscriptionId, resourceGroup, name }, systemAssigned, identities: attached, instances, imdsPort };
}

function readNodes(r: Reader, value: unknown, targets: readonly ScenarioTarget[]): ScenarioNode[] {
  const nodes: ScenarioNode[] = [];
  const placements = new Map<string, string>();
  r.list(value, "nodes").forEach((entry, i) => {
    const path = join("nodes", i);
    const raw = r.object(entry, path, ["name", "scaleSet", "instance", "vm", "labels"]);
    if (raw === undefined) return;
    const name = r.string(raw["name"], join(path, "name"), NODE_NAME_RULE);
    const labels = readLabels(r, raw["labels"], join(path, "labels"));
    const onScaleSet = raw["scaleSet"] !== undefined;
    if (onScaleSet === (raw["vm"] !== undefined)) {
      r.problem(path, "needs exactly one of scaleSet (with instance) or vm");
      return;
    }
    const kind = onScaleSet ? "vmss" : "vm";
    const field = onScaleSet ? "scaleSet" : "vm";
    const targetName = r.string(raw[field], join(path, field));
    if (targetName === undefined || name === undefined) return;
    const target = targets.find((t) => t.target.kind === kind && t.target.name.toLowerCase() === targetName.toLowerCase());
    if (target === undefined) {
      const known = targets.filter((t) => t.target.kind === kind).map((t) => t.target.name);
      r.problem(join(path, field), `no ${onScaleSet ? "scale set" : "VM"} named "${targetName}" (known: ${known.join(", ") || "none"})`);
      return;
    }
    let instance: string | undefined;
    if (onScaleSet) {
      const rawInstance = raw["instance"];
      if (typeof rawInstance !== "number" || !target.instances.includes(String(rawInstance))) {
        r.problem(join(path, "instance"), `must be one of ${target.target.name}'s instances (${target.instances.join(", ") || "none listed"}), got ${describe(rawInstance)}`);
        return;
      }
      instance = String(rawInstance);
    } else if (raw["instance"] !== undefined) {
      r.problem(join(path, "instance"), "only nodes on a scale set have an instance");
      return;
    }
    const placement = `${kind}/${target.target.name.toLowerCase()}/${instance ?? ""}`;
    const other = placements.get(placement);
    if (other !== undefined) {
      r.problem(path, `runs on the same ${onScaleSet ? "instance" : "VM"} as node "${other}"`);
      return;
    }
    placements.set(placement, name);
    nodes.push({ name, target: target.target, instance, labels });
  });
  checkUnique(r, nodes.map((n, i) => ({ key: n.name, path: `node "${n.name}"`, index: i })), "node name");
  return nodes;
}

function readLabels(r: Reader, value: unknown, path: string): Readonly<Record<string, string>> {
  if (value === undefined || value === null) return {};
  const labels = r.object(value, path, Object.keys(typeof value === "object" && value !== null ? value : {}));
  if (labels === undefined) return {};
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(labels)) {
    if (typeof v !== "string") r.problem(join(path, key), `label values must be strings, got ${describe(v)} (quote it in YAML)`);
    else out[key] = v;
  }
  return out;
}

function readArm(r: Reader, value: unknown): SimScenario["arm"] {
  const defaults = { patchLatencyMs: SCENARIO_DEFAULTS.patchLatencyMs, getLatencyMs: SCENARIO_DEFAULTS.getLatencyMs, faults: [] };
  if (value === undefined || value === null) return defaults;
  const arm = r.object(value, "arm", ["patchLatencyMs", "getLatencyMs", "faults"]);
  if (arm === undefined) return defaults;
  const faults = r.list(arm["faults"], "arm.faults").flatMap((entry, i) => {
    const fault = readFault(r, entry, join("arm.faults", i));
    return fault === undefined ? [] : [fault];
  });
  return {
    patchLatencyMs: r.integer(arm["patchLatencyMs"], "arm.patchLatencyMs", 0, MAX_LATENCY_MS, defaults.patchLatencyMs),
    getLatencyMs: r.integer(arm["getLatencyMs"], "arm.getLatencyMs", 0, MAX_LATENCY_MS, defaults.getLatencyMs),
    faults,
  };
}

function readFault(r: Reader, value: unknown, path: string): ScenarioArmFault | undefined {
  const raw = r.object(value, path, ["operation", "nth", "status", "code", "message", "retryAfterSeconds"]);
  if (raw === undefined) return undefined;
  const operation = raw["operation"];
  if (typeof operation !== "string" || !(SCENARIO_FAULT_OPERATIONS as readonly string[]).includes(operation)) {
    r.problem(join(path, "operation"), `must be one of ${SCENARIO_FAULT_OPERATIONS.join(", ")}, got ${describe(operation)}`);
    return undefined;
  }
  if (raw["nth"] === undefined) r.problem(join(path, "nth"), "required: which request of that operation fails (1 = the first)");
  if (raw["status"] === undefined) r.problem(join(path, "status"), "required: the HTTP status ARM answers (e.g. 429)");
  const before = r.problems.length;
  const nth = r.integer(raw["nth"], join(path, "nth"), 1, 1_000_000, 1);
  const status = r.integer(raw["status"], join(path, "status"), 400, 599, 500);
  const retryAfterSeconds = raw["retryAfterSeconds"] === undefined ? undefined : r.integer(raw["retryAfterSeconds"], join(path, "retryAfterSeconds"), 0, 3600, 0);
  const code = r.optionalString(raw["code"], join(path, "code"), DEFAULT_FAULT_CODES[status] ?? "InternalServerError", { pattern: /^[A-Za-z][A-Za-z0-9]*$/, what: "an ARM error code (e.g. TooManyRequests)" });
  const message = r.optionalString(raw["message"], join(path, "message"), `injected by the podid-sim scenario (${operation} #${nth})`);
  if (r.problems.length > before || raw["nth"] === undefined || raw["status"] === undefined) return undefined;
  return { operation: operation as ScenarioFaultOperation, nth, status, code, message, retryAfterSeconds };
}

function checkUnique(r: Reader, entries: readonly { readonly key: string; readonly path: string; readonly index: number }[], what: string): void {
  const seen = new Map<string, string>();
  for (const entry of entries) {
    const first = seen.get(entry.key);
    if (first !== undefined) r.problem(entry.path, `duplicate ${what} "${entry.key}" (also at ${first})`);
    else seen.set(entry.key, entry.path);
  }
}
