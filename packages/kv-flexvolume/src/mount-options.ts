/**
 * The `mount` call's JSON options, as kubelet passes them to a FlexVolume driver: the volume's `options` from
 * the pod spec (the original `azure/kv` driver's lower-case keys) plus what kubelet adds (`kubernetes.io/…`),
 * checked as the original driver checked them. Pure: the environment is passed in.
 * packages/kv-flexvolume/README.md documents every option.
 */
import { cloudByName, KEY_VAULT_CLOUDS, type KeyVaultCloud } from "./clouds.js";
import { fail, ok, type Result } from "./result.js";
import { parseVaultObjects, type VaultObject } from "./vault-objects.js";

/** NMI's port when neither `nmiport` nor `PODID_NMI_PORT` names one (NMI's default, as in the original). */
export const DEFAULT_NMI_PORT = 2579;

/** How the driver authenticates to Key Vault. */
export type MountAuth =
  | {
      readonly mode: "podIdentity";
      readonly podName: string;
      readonly podNamespace: string;
      /** NMI's port on the node's loopback. */
      readonly nmiPort: number;
    }
  | { readonly mode: "servicePrincipal"; readonly clientId: string; readonly clientSecret: string }
  | { readonly mode: "vmManagedIdentity" };

/** A checked mount request. */
export interface MountOptions {
  readonly vaultName: string;
  readonly tenantId: string;
  readonly cloud: KeyVaultCloud;
  readonly objects: readonly VaultObject[];
  readonly auth: MountAuth;
  /** The pod's UID when kubelet passed it (for log lines). */
  readonly podUid: string | undefined;
  /** Option keys this driver does not know (logged as a warning; kubelet's own keys are not listed). */
  readonly unrecognised: readonly string[];
}

/** Keys of the original driver, plus the legacy singular spellings it still read. */
const DRIVER_KEYS = new Set([
  "usepodidentity",
  "usevmmanagedidentity",
  "vmmanagedidentityclientid",
  "keyvaultname",
  "keyvaultobjectnames",
  "keyvaultobjectname",
  "keyvaultobjecttypes",
  "keyvaultobjecttype",
  "keyvaultobjectversions",
  "keyvaultobjectversion",
  "keyvaultobjectaliases",
  "tenantid",
  "cloudname",
  "nmiport",
  // Read by drivers before v0.0.14 and still in most manifests; accepted and not used (the vault URL needs neither).
  "resourcegroup",
  "subscriptionid",
]);
const KUBELET_PREFIX = "kubernetes.io/";
const SECRET_PREFIX = "kubernetes.io/secret/";
/** Key Vault names: 3–24 letters, digits and hyphens (the original's check). */
const VAULT_NAME = /^[-a-zA-Z0-9]{3,24}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Go's `strconv.ParseBool` spellings, which the original's boolean options accepted. */
export function parseGoBool(value: string): boolean | undefined {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  return undefined;
}

/** A TCP port from decimal text, or `undefined`. */
export function parsePort(value: string): number | undefined {
  if (!/^\d{1,5}$/.test(value.trim())) return undefined;
  const port = Number(value.trim());
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** Parses kubelet's JSON argument into flat string options. */
export function parseOptionsJson(json: string): Result<Readonly<Record<string, string>>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    return fail(`mount options are not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return fail("mount options must be a JSON object of strings");
  const entries = Object.entries(parsed);
  const notString = entries.find(([, value]) => typeof value !== "string");
  if (notString !== undefined) {
    const [key, value] = notString;
    return fail(`option ${JSON.stringify(key)} must be a string, got ${value === null ? "null" : typeof value} (quote it in the pod spec)`);
  }
  // fromEntries defines own properties, so a key such as "__proto__" stays an ordinary option.
  return ok(Object.fromEntries(entries) as Record<string, string>);
}

/** The environment the driver reads: `PODID_NMI_PORT`. */
export interface MountEnvironment {
  readonly PODID_NMI_PORT?: string | undefined;
}

/** Checks the options of one `mount` call, in the original driver's order, and names the first problem. */
export function parseMountOptions(options: Readonly<Record<string, string>>, env: MountEnvironment): Result<MountOptions> {
  const caseSlip = Object.keys(options).find((key) => !DRIVER_KEYS.has(key) && DRIVER_KEYS.has(key.toLowerCase()));
  if (caseSlip !== undefined) return fail(`option ${JSON.stringify(caseSlip)} must be written in lower case: ${JSON.stringify(caseSlip.toLowerCase())}`);
  const get = (key: string): string | undefined => {
    const value = Object.hasOwn(options, key) ? options[key]?.trim() : undefined;
    return value === "" ? undefined : value;
  };

  const tenantId = get("tenantid");
  if (tenantId === undefined) return fail(`option "tenantid" is required: the Key Vault's Azure AD tenant id`);
  const vaultName = get("keyvaultname");
  if (vaultName === undefined) return fail(`option "keyvaultname" is required: the Key Vault's name`);
  if (!VAULT_NAME.test(vaultName)) return fail(`option "keyvaultname" must be 3-24 letters, digits or hyphens, got ${JSON.stringify(vaultName)}`);
  const objects = parseVaultObjects({
    names: get("keyvaultobjectnames") ?? get("keyvaultobjectname"),
    types: get("keyvaultobjecttypes") ?? get("keyvaultobjecttype"),
    versions: get("keyvaultobjectversions") ?? get("keyvaultobjectversion"),
    aliases: get("keyvaultobjectaliases"),
  });
  if (!objects.ok) return objects;

  const cloudName = get("cloudname") ?? "";
  const cloud = cloudByName(cloudName);
  if (cloud === undefined) return fail(`option "cloudname" is ${JSON.stringify(cloudName)}: podid-kv knows ${KEY_VAULT_CLOUDS.map((c) => c.name).join(", ")}`);

  const auth = parseAuth(options, get, env);
  if (!auth.ok) return auth;

  const unrecognised = Object.keys(options).filter((key) => !DRIVER_KEYS.has(key) && !key.startsWith(KUBELET_PREFIX));
  return ok({ vaultName, tenantId, cloud, objects: objects.value, auth: auth.value, podUid: get("kubernetes.io/pod.uid"), unrecognised });
}

function parseBoolOption(key: string, get: (key: string) => string | undefined): Result<boolean> {
  const raw = get(key);
  if (raw === undefined) return ok(false);
  const value = parseGoBool(raw);
  return value === undefined ? fail(`option ${JSON.stringify(key)} must be "true" or "false", got ${JSON.stringify(raw)}`) : ok(value);
}

function parseAuth(options: Readonly<Record<string, string>>, get: (key: string) => string | undefined, env: MountEnvironment): Result<MountAuth> {
  const podIdentity = parseBoolOption("usepodidentity", get);
  if (!podIdentity.ok) return podIdentity;
  const vmIdentity = parseBoolOption("usevmmanagedidentity", get);
  if (!vmIdentity.ok) return vmIdentity;
  if (podIdentity.value && vmIdentity.value) return fail(`options "usepodidentity" and "usevmmanagedidentity" are both "true": choose one`);

  if (podIdentity.value) {
    const podName = get("kubernetes.io/pod.name");
    const podNamespace = get("kubernetes.io/pod.namespace");
    if (podName === undefined || podNamespace === undefined) {
      return fail(`pod identity mode needs the pod's name and namespace (kubernetes.io/pod.name, kubernetes.io/pod.namespace), which kubelet passes on mount`);
    }
    const nmiPort = resolveNmiPort(get("nmiport"), env.PODID_NMI_PORT);
    if (!nmiPort.ok) return nmiPort;
    return ok({ mode: "podIdentity", podName, podNamespace, nmiPort: nmiPort.value });
  }
  if (vmIdentity.value) return ok({ mode: "vmManagedIdentity" });

  const clientId = decodeSecretKey(options, "clientid");
  if (!clientId.ok) return clientId;
  const clientSecret = decodeSecretKey(options, "clientsecret");
  if (!clientSecret.ok) return clientSecret;
  if (clientId.value === undefined || clientSecret.value === undefined) {
    return fail(`service-principal mode (usepodidentity is not "true") needs a secretRef Secret with the keys clientid and clientsecret; for the pod's own identity set usepodidentity: "true"`);
  }
  return ok({ mode: "servicePrincipal", clientId: clientId.value, clientSecret: clientSecret.value });
}

/** `nmiport` option, else `PODID_NMI_PORT`, else NMI's default. */
export function resolveNmiPort(option: string | undefined, envPort: string | undefined): Result<number> {
  if (option !== undefined) {
    const port = parsePort(option);
    return port === undefined ? fail(`option "nmiport" must be a TCP port (1-65535), got ${JSON.stringify(option)}`) : ok(port);
  }
  if (envPort !== undefined && envPort.trim() !== "") {
    const port = parsePort(envPort);
    return port === undefined ? fail(`environment variable PODID_NMI_PORT must be a TCP port (1-65535), got ${JSON.stringify(envPort)}`) : ok(port);
  }
  return ok(DEFAULT_NMI_PORT);
}

/** A `secretRef` key kubelet passed base64-encoded as `kubernetes.io/secret/<key>`; `undefined` when absent. */
function decodeSecretKey(options: Readonly<Record<string, string>>, key: string): Result<string | undefined> {
  const raw = Object.hasOwn(options, `${SECRET_PREFIX}${key}`) ? options[`${SECRET_PREFIX}${key}`] : undefined;
  if (raw === undefined || raw === "") return ok(undefined);
  if (!BASE64.test(raw)) return fail(`${SECRET_PREFIX}${key} is not base64 (kubelet passes each secretRef key base64-encoded)`);
  const value = Buffer.from(raw, "base64").toString("utf8").trim();
  return ok(value === "" ? undefined : value);
}
