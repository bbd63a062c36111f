import fc from "fast-check";
import {
  serialiseAzureAssignedIdentity,
  serialiseAzureIdentity,
  serialiseAzureIdentityBinding,
  serialiseAzurePodIdentityException,
  serialiseNode,
  serialisePod,
} from "@podid/core";
import { azureAssignedIdentityArb, type AzureAssignedIdentityArbOptions } from "./azure-assigned-identity.js";
import { azureIdentityArb, type AzureIdentityArbOptions } from "./azure-identity.js";
import { azureIdentityBindingArb, type AzureIdentityBindingArbOptions } from "./azure-identity-binding.js";
import { azurePodIdentityExceptionArb, type AzurePodIdentityExceptionArbOptions } from "./azure-pod-identity-exception.js";
import { nodeArb, type NodeArbOptions } from "./node.js";
import { podArb, type PodArbOptions } from "./pod.js";

/** Decoded JSON as an API server returns it. */
export type RawObject = Record<string, unknown>;

/** Pre-1.6 (PascalCase) names of AzureIdentity spec fields, by current name. */
const LEGACY_IDENTITY_SPEC: Readonly<Record<string, string>> = {
  type: "Type",
  resourceID: "ResourceID",
  clientID: "ClientID",
  clientPassword: "ClientPassword",
  tenantID: "TenantID",
  auxiliaryTenantIDs: "AuxiliaryTenantIDs",
  adEndpoint: "ADEndpoint",
  adResourceID: "ADResourceID",
};

/** Pre-1.6 names of AzureIdentityBinding spec fields. */
const LEGACY_BINDING_SPEC: Readonly<Record<string, string>> = { azureIdentity: "AzureIdentity", selector: "Selector", weight: "Weight" };

/** Pre-1.6 names of AzurePodIdentityException spec fields. */
const LEGACY_EXCEPTION_SPEC: Readonly<Record<string, string>> = { podLabels: "PodLabels" };

/** Pre-1.6 names of AzureAssignedIdentity spec fields. */
const LEGACY_ASSIGNED_SPEC: Readonly<Record<string, string>> = {
  azureIdentityRef: "AzureIdentityRef",
  azureBindingRef: "AzureBindingRef",
  pod: "Pod",
  podNamespace: "PodNamespace",
  nodename: "NodeName",
};

function isRecord(value: unknown): value is RecordLike {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
type RecordLike = Readonly<Record<string, unknown>>;

function renameKeys(obj: RecordLike, names: Readonly<Record<string, string>>, mapValue: (key: string, v: unknown) => unknown): RawObject {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [names[k] ?? k, mapValue(k, v)]));
}

/**
 * The pre-1.6 PascalCase variant of a camelCase wire object of one of the four custom resources: spec
 * field names become `ResourceID`, `ClientID`, `Selector`, `PodLabels`, `AzureIdentityRef`, `NodeName`, …
 * (embedded identities and bindings too). Metadata and status are unchanged (they never were PascalCase);
 * other kinds are returned as a copy. podid must parse both spellings to the same model.
 */
export function toLegacyPascalCase(wire: object): RawObject {
  const raw = wire as RecordLike;
  const kind = raw["kind"];
  const spec = raw["spec"];
  if (!isRecord(spec)) return { ...raw };
  let legacySpec: RawObject;
  switch (kind) {
    case "AzureIdentity":
      legacySpec = renameKeys(spec, LEGACY_IDENTITY_SPEC, (_k, v) => v);
      break;
    case "AzureIdentityBinding":
      legacySpec = renameKeys(spec, LEGACY_BINDING_SPEC, (_k, v) => v);
      break;
    case "AzurePodIdentityException":
      legacySpec = renameKeys(spec, LEGACY_EXCEPTION_SPEC, (_k, v) => v);
      break;
    case "AzureAssignedIdentity":
      legacySpec = renameKeys(spec, LEGACY_ASSIGNED_SPEC, (k, v) =>
        (k === "azureIdentityRef" || k === "azureBindingRef") && isRecord(v) ? toLegacyPascalCase(v) : v,
      );
      break;
    default:
      return { ...raw };
  }
  return { ...raw, spec: legacySpec };
}

/** Wire JSON in camelCase or, at random, legacy PascalCase. */
function eitherCase(wire: RecordLike): fc.Arbitrary<RawObject> {
  return fc.boolean().map((legacy) => (legacy ? toLegacyPascalCase(wire) : { ...wire }));
}

/** Copies wire output into a plain JSON value (as if it went through the API server). */
function asJson(value: unknown): RecordLike {
  return JSON.parse(JSON.stringify(value)) as RecordLike;
}

/** Raw JSON of a valid AzureIdentity, randomly camelCase or legacy PascalCase. */
export function rawAzureIdentityArb(options: AzureIdentityArbOptions = {}): fc.Arbitrary<RawObject> {
  return azureIdentityArb(options).chain((m) => eitherCase(asJson(serialiseAzureIdentity(m))));
}

/** Raw JSON of a valid AzureIdentityBinding, randomly camelCase or legacy PascalCase. */
export function rawAzureIdentityBindingArb(options: AzureIdentityBindingArbOptions = {}): fc.Arbitrary<RawObject> {
  return azureIdentityBindingArb(options).chain((m) => eitherCase(asJson(serialiseAzureIdentityBinding(m))));
}

/** Raw JSON of a valid AzurePodIdentityException, randomly camelCase or legacy PascalCase. */
export function rawAzurePodIdentityExceptionArb(options: AzurePodIdentityExceptionArbOptions = {}): fc.Arbitrary<RawObject> {
  return azurePodIdentityExceptionArb(options).chain((m) => eitherCase(asJson(serialiseAzurePodIdentityException(m))));
}

/** Raw JSON of a valid AzureAssignedIdentity, randomly in the current or the pre-1.6 format. */
export function rawAzureAssignedIdentityArb(options: AzureAssignedIdentityArbOptions = {}): fc.Arbitrary<RawObject> {
  return azureAssignedIdentityArb(options).chain((m) => eitherCase(asJson(serialiseAzureAssignedIdentity(m))));
}

/** Raw JSON of a valid Pod (core objects have a single spelling). */
export function rawPodArb(options: PodArbOptions = {}): fc.Arbitrary<RawObject> {
  return podArb(options).map((m) => ({ ...asJson(serialisePod(m)) }));
}

/** Raw JSON of a valid Node. */
export function rawNodeArb(options: NodeArbOptions = {}): fc.Arbitrary<RawObject> {
  return nodeArb(options).map((m) => ({ ...asJson(serialiseNode(m)) }));
}
