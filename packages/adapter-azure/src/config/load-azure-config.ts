import { readFile } from "node:fs/promises";
import { err, type Result } from "@podid/core";
import type { AzureConfigError, AzureConfigProblem } from "./azure-config-error.js";
import { buildAzureConfig, type AzureConfig, type AzureSettings } from "./azure-config.js";
import { DEFAULT_CLOUD_NAME, knownCloud, parseEnvironmentFile, type CloudOverrides } from "./cloud-environment.js";
import { AZURE_ENV_VARS, AZURE_ENVIRONMENT_FILEPATH, readAzureJsonSettings, readEnvironmentSettings } from "./read-settings.js";

/** Where to read the cloud configuration from. */
export interface LoadAzureConfigOptions {
  /**
   * Path of `azure.json` (the original's `--cloudconfig`, default `/etc/kubernetes/azure.json` in its
   * manifests). Empty or absent: read the environment variables instead, as the original did.
   */
  readonly path?: string;
  /** Environment variables (default `process.env`); also consulted for `AZURE_ENVIRONMENT_FILEPATH` in file mode. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

async function readText(path: string): Promise<Result<string, AzureConfigError>> {
  try {
    return { ok: true, value: await readFile(path, "utf8") };
  } catch (e) {
    return err({ kind: "unreadable", path, message: (e as Error).message });
  }
}

/** Reads and parses the environment file when the settings name a cloud that is not built in. */
async function environmentFileFor(
  settings: AzureSettings,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Result<CloudOverrides | undefined, AzureConfigError>> {
  const cloudName = settings.cloud.trim() === "" ? DEFAULT_CLOUD_NAME : settings.cloud;
  const path = env[AZURE_ENVIRONMENT_FILEPATH] ?? "";
  if (knownCloud(cloudName) !== undefined || path === "") return { ok: true, value: undefined };
  const text = await readText(path);
  if (!text.ok) return text;
  const parsed = parseEnvironmentFile(text.value, AZURE_ENVIRONMENT_FILEPATH);
  return parsed.ok ? parsed : err({ kind: "invalid", source: path, problems: [parsed.error] });
}

function invalid(source: string, problems: readonly AzureConfigProblem[]): Result<never, AzureConfigError> {
  return err({ kind: "invalid", source, problems });
}

/**
 * Parses `azure.json` text into a configuration (the environment file, when the cloud needs one, is read
 * from `AZURE_ENVIRONMENT_FILEPATH` in `env`). `source` names the file in errors.
 */
export async function parseAzureJsonConfig(
  text: string,
  source: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Result<AzureConfig, AzureConfigError>> {
  const settings = readAzureJsonSettings(text);
  if (!settings.ok) return invalid(source, settings.error);
  const environmentFile = await environmentFileFor(settings.value, env);
  if (!environmentFile.ok) return environmentFile;
  return buildAzureConfig(settings.value, { kind: "file", name: source }, environmentFile.value);
}

/** Builds the configuration from environment variables only ({@link AZURE_ENV_VARS}). */
export async function environmentAzureConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Result<AzureConfig, AzureConfigError>> {
  const settings = readEnvironmentSettings(env);
  if (!settings.ok) return invalid("environment", settings.error);
  const environmentFile = await environmentFileFor(settings.value, env);
  if (!environmentFile.ok) return environmentFile;
  return buildAzureConfig(settings.value, { kind: "environment", name: "environment" }, environmentFile.value, AZURE_ENV_VARS);
}

/** Loads the configuration from `azure.json` when a path is given, else from the environment. */
export async function loadAzureConfig(options: LoadAzureConfigOptions = {}): Promise<Result<AzureConfig, AzureConfigError>> {
  const env = options.env ?? process.env;
  if (options.path === undefined || options.path === "") return environmentAzureConfig(env);
  const text = await readText(options.path);
  if (!text.ok) return text;
  return parseAzureJsonConfig(text.value, options.path, env);
}
