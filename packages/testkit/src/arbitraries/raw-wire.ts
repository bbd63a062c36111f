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
  serviceAccounts: "ServiceAccounts",
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
