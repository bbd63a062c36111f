import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { AzureConfig } from "../config/azure-config.js";
import { retryAfterCapturePolicy } from "./retry-after-policy.js";

/** The SDK's own retries (5xx, 408, network errors); 429 is never among them (see `retryAfterCapturePolicy`). */
export interface ArmRetryOptions {
  /** Retries after the first attempt (default 3, as the original's autorest client). */
  readonly maxRetries?: number;
  /** First backoff delay (default 1 s; doubles with jitter). */
  readonly retryDelayInMs?: number;
  /** Longest backoff delay (default 30 s). */
  readonly maxRetryDelayInMs?: number;
}

/** Where ARM is and how to authenticate to it; shared by the compute and identity-catalogue adapters. */
export interface ArmClientSettings {
  /** ARM base URL, e.g. `https://management.azure.com` (a custom cloud's or a fake's). */
  readonly endpoint: string;
  /** The ARM token scope, e.g. `https://management.azure.com/.default` (does not follow `endpoint`). */
  readonly scope: string;
  readonly retry?: ArmRetryOptions;
  /** Prepended to the SDK's user agent (default `podid`). */
  readonly userAgentPrefix?: string;
}

/** The defaults used when {@link ArmRetryOptions} leaves a field out. */
export const DEFAULT_ARM_RETRY: Required<ArmRetryOptions> = { maxRetries: 3, retryDelayInMs: 1_000, maxRetryDelayInMs: 30_000 };

/** ARM settings of a loaded cloud configuration. */
export function armClientSettings(config: AzureConfig, retry?: ArmRetryOptions): ArmClientSettings {
  return {
    endpoint: config.cloud.resourceManagerEndpoint,
    scope: config.cloud.resourceManagerScope,
    ...(retry !== undefined ? { retry } : {}),
  };
}

/** The pipeline options both SDKs accept: retries, the Retry-After capture policy, the user agent. */
export function armPipelineOptions(settings: ArmClientSettings): {
  retryOptions: Required<ArmRetryOptions>;
  additionalPolicies: { policy: PipelinePolicy; position: "perCall" | "perRetry" }[];
  userAgentOptions: { userAgentPrefix: string };
} {
  return {
    retryOptions: { ...DEFAULT_ARM_RETRY, ...settings.retry },
    additionalPolicies: [{ policy: retryAfterCapturePolicy(), position: "perRetry" }],
    userAgentOptions: { userAgentPrefix: settings.userAgentPrefix ?? "podid" },
  };
}
