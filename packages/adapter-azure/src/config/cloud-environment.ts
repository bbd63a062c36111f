import { err, ok, type Result } from "@podid/core";
import type { AzureConfigProblem } from "./azure-config-error.js";

/**
 * The endpoints of one Azure cloud that podid needs: where ARM is, where AAD issues tokens, and which
 * audience ARM tokens must carry.
 */
export interface CloudEnvironment {
  /** The cloud's name, e.g. `AzurePublicCloud`, or the `name` of a custom environment. */
  readonly name: string;
  /** ARM's base URL without a trailing slash, e.g. `https://management.azure.com`. */
  readonly resourceManagerEndpoint: string;
  /** AAD's authority host without a trailing slash, e.g. `https://login.microsoftonline.com`. */
  readonly activeDirectoryAuthorityHost: string;
  /** The scope of ARM tokens, e.g. `https://management.azure.com/.default`. */
  readonly resourceManagerScope: string;
  /**
   * True when any endpoint is not one of the built-in clouds' (custom/sovereign/Azure Stack clouds and
   * the test fakes). AAD instance discovery only knows the public authorities, so it is disabled for these.
   */
  readonly custom: boolean;
}

/**
 * Endpoint overrides for a cloud: a go-autorest environment file (`AZURE_ENVIRONMENT_FILEPATH`, as the
 * original read it for `AzureStackCloud`) or podid's extra `azure.json` fields. Missing fields keep the
 * base cloud's value.
 */
export interface CloudOverrides {
  readonly name?: string;
  readonly resourceManagerEndpoint?: string;
  readonly activeDirectoryEndpoint?: string;
  /** The ARM token audience (go-autorest `tokenAudience`); `/.default` is appended to form the scope. */
  readonly tokenAudience?: string;
}

function scopeFor(audience: string): string {
  return `${trimSlashes(audience)}/.default`;
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, "");
}

function builtIn(name: string, arm: string, aad: string): CloudEnvironment {
  return { name, resourceManagerEndpoint: arm, activeDirectoryAuthorityHost: aad, resourceManagerScope: scopeFor(arm), custom: false };
}

/**
 * The clouds the original knew by name (go-autorest `EnvironmentFromName`), with the endpoints podid uses.
 * Microsoft Cloud Germany closed in 2021 and is not listed.
 */
export const KNOWN_CLOUDS: Readonly<Record<string, CloudEnvironment>> = {
  AzurePublicCloud: builtIn("AzurePublicCloud", "https://management.azure.com", "https://login.microsoftonline.com"),
  AzureChinaCloud: builtIn("AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
  AzureUSGovernmentCloud: builtIn("AzureUSGovernmentCloud", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
};

/** The cloud used when `cloud` is empty (the original's default). */
export const DEFAULT_CLOUD_NAME = "AzurePublicCloud";

/** The cloud name go-autorest resolves through `AZURE_ENVIRONMENT_FILEPATH`. */
export const AZURE_STACK_CLOUD_NAME = "AzureStackCloud";

/** The built-in cloud called `name` (case-insensitive, as go-autorest), or `undefined`. */
export function knownCloud(name: string): CloudEnvironment | undefined {
  const wanted = name.trim().toLowerCase();
  return Object.values(KNOWN_CLOUDS).find((cloud) => cloud.name.toLowerCase() === wanted);
}

/** True when `url` is one of the built-in clouds' AAD authority hosts (ignoring a trailing slash and case). */
export function isKnownAuthorityHost(url: string): boolean {
  const wanted = trimSlashes(url).toLowerCase();
  return Object.values(KNOWN_CLOUDS).some((cloud) => cloud.activeDirectoryAuthorityHost === wanted);
}

function httpsUrl(value: string, field: string): Result<string, AzureConfigProblem> {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return err({ field, reason: "invalidValue", message: `${field} "${value}" is not an absolute URL` });
  }
  // The Azure SDK refuses to send bearer tokens over http and @azure/identity refuses http authorities.
  if (parsed.protocol !== "https:") {
    return err({ field, reason: "invalidValue", message: `${field} "${value}" must use https (the Azure SDKs refuse http)` });
  }
  return ok(trimSlashes(value));
}

/**
 * Reads a go-autorest environment file (the JSON `AZURE_ENVIRONMENT_FILEPATH` points at). Only the fields
 * podid needs are read; `tokenAudience` falls back to `serviceManagementEndpoint` (the audience the
 * original requested ARM tokens for).
 */
export function parseEnvironmentFile(text: string, field: string): Result<CloudOverrides, AzureConfigProblem> {
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (e) {
    return err({ field, reason: "invalidValue", message: `environment file is not JSON: ${(e as Error).message}` });
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return err({ field, reason: "invalidValue", message: "environment file must hold a JSON object" });
  }
  const record = raw as Record<string, unknown>;
  const stringField = (key: string): string | undefined => {
    const value = record[key];
    return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
  };
  const audience = stringField("tokenAudience") ?? stringField("serviceManagementEndpoint");
  const overrides: CloudOverrides = {
    ...(stringField("name") !== undefined ? { name: stringField("name") as string } : {}),
    ...(stringField("resourceManagerEndpoint") !== undefined ? { resourceManagerEndpoint: stringField("resourceManagerEndpoint") as string } : {}),
    ...(stringField("activeDirectoryEndpoint") !== undefined ? { activeDirectoryEndpoint: stringField("activeDirectoryEndpoint") as string } : {}),
    ...(audience !== undefined ? { tokenAudience: audience } : {}),
  };
  if (overrides.resourceManagerEndpoint === undefined || overrides.activeDirectoryEndpoint === undefined) {
    return err({
      field,
      reason: "missing",
      message: "environment file needs resourceManagerEndpoint and activeDirectoryEndpoint",
    });
  }
  return ok(overrides);
}

/**
 * Resolves the cloud from its name and optional overrides. A built-in name gives its endpoints; any other
 * name (e.g. `AzureStackCloud`) needs an environment file or explicit endpoints, as in go-autorest. Explicit
 * field overrides win over the environment file, which wins over the named cloud. The token audience of a
 * custom cloud defaults to its ARM endpoint; a built-in cloud keeps its own.
 */
export function resolveCloudEnvironment(
  name: string,
  environmentFile: CloudOverrides | undefined,
  fields: CloudOverrides,
): Result<CloudEnvironment, AzureConfigProblem> {
  const requested = name.trim() === "" ? DEFAULT_CLOUD_NAME : name.trim();
  const base = knownCloud(requested);
  const merged: CloudOverrides = { ...(base === undefined ? environmentFile : {}), ...definedOnly(fields) };
  const armRaw = merged.resourceManagerEndpoint ?? base?.resourceManagerEndpoint;
  const aadRaw = merged.activeDirectoryEndpoint ?? base?.activeDirectoryAuthorityHost;
  if (armRaw === undefined || aadRaw === undefined) {
    return err({
      field: "cloud",
      reason: "invalidValue",
      message: `unknown cloud "${requested}": use one of ${Object.keys(KNOWN_CLOUDS).join(", ")}, or describe it with AZURE_ENVIRONMENT_FILEPATH (as for ${AZURE_STACK_CLOUD_NAME}) or resourceManagerEndpoint/activeDirectoryEndpoint`,
    });
  }
  const arm = httpsUrl(armRaw, "resourceManagerEndpoint");
  if (!arm.ok) return arm;
  const aad = httpsUrl(aadRaw, "activeDirectoryEndpoint");
  if (!aad.ok) return aad;
  // A built-in cloud keeps its audience when only its endpoint moves (a proxy, a test fake): ARM tokens
  // are still issued for the cloud's ARM.
  const scope = merged.tokenAudience !== undefined ? scopeFor(merged.tokenAudience) : (base?.resourceManagerScope ?? scopeFor(arm.value));
  const custom =
    base === undefined ||
    arm.value.toLowerCase() !== base.resourceManagerEndpoint ||
    aad.value.toLowerCase() !== base.activeDirectoryAuthorityHost ||
    scope !== base.resourceManagerScope;
  return ok({
    name: merged.name ?? base?.name ?? requested,
    resourceManagerEndpoint: arm.value,
    activeDirectoryAuthorityHost: aad.value,
    resourceManagerScope: scope,
    custom,
  });
}

function definedOnly(overrides: CloudOverrides): CloudOverrides {
  return Object.fromEntries(Object.entries(overrides).filter(([, v]) => typeof v === "string" && v.trim() !== "")) as CloudOverrides;
}
