import {
  AzureConfigWatcher,
  describeAzureConfigError,
  environmentAzureConfig,
  type AzureConfig,
  type AzureConfigError,
} from "@podid/adapter-azure";
import { ok, type LoggerPort, type Result, type Unsubscribe } from "@podid/core";
import type { CloudConfigSource } from "./mic-ports.js";

/** Options of {@link openCloudConfig}. */
export interface OpenCloudConfigOptions {
  /** `--cloudconfig`: the `azure.json` path; `""` reads the environment variables once, as the original. */
  readonly path: string;
  /** Environment (the variables of `--cloudconfig=""`, and `AZURE_ENVIRONMENT_FILEPATH`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: LoggerPort;
  /** Poll interval of the file watcher's fallback (default the watcher's 10 s). */
  readonly pollIntervalMs?: number;
}

/** A source that never changes (environment variables, or a configuration given by a test or the demo). */
export function staticCloudConfig(config: AzureConfig): CloudConfigSource {
  return { current: config, onChange: () => () => undefined, close: () => undefined };
}

/**
 * Loads the cloud configuration MIC starts with: `azure.json` (then watched: a valid new version is
 * announced to listeners, an invalid one is logged and the old one stays in force) or the environment.
 * Fails when the first load fails — MIC cannot do anything without ARM, and the original exited too.
 */
export async function openCloudConfig(options: OpenCloudConfigOptions): Promise<Result<CloudConfigSource, AzureConfigError>> {
  if (options.path === "") {
    const loaded = await environmentAzureConfig(options.env);
    return loaded.ok ? ok(staticCloudConfig(loaded.value)) : loaded;
  }
  const listeners = new Set<(config: AzureConfig) => void>();
  const started = await AzureConfigWatcher.start({
    path: options.path,
    env: options.env,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    onChange: (config) => {
      options.logger.info({ path: options.path, source: config.source, cloud: config.cloud.name }, "cloud configuration changed; rebuilding the ARM client");
      for (const listener of [...listeners]) listener(config);
    },
    onError: (error) => options.logger.error({ path: options.path, error: describeAzureConfigError(error) }, "cloud configuration reload failed; keeping the previous one"),
  });
  if (!started.ok) return started;
  const watcher = started.value;
  return ok({
    get current() {
      return watcher.current;
    },
    onChange(listener: (config: AzureConfig) => void): Unsubscribe {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close: () => watcher.close(),
  });
}
