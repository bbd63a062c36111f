import {
  NMI_DECISION_DEFAULTS,
  type NmiDecisionOptions,
  type PodRateLimiterConfig,
  type TokenCacheConfig,
  type UpstreamBudgetConfig,
} from "@podid/core";
import type { OperationMode } from "../config/nmi-config.js";

/**
 * Configuration of the token server alone (what `buildNmiApp` needs), independent of flags and ports.
 * @packageDocumentation
 */

/** What the token server needs to know. */
export interface NmiAppConfig {
  /** This node's name: only its pods can be callers. */
  readonly nodeName: string;
  readonly operationMode: OperationMode;
  /** `--forceNamespaced`: pod, binding and identity must share a namespace (standard mode). */
  readonly forceNamespaced: boolean;
  /** Options of core's decision functions (Metadata header, waits, Retry-After, `/host/token`, instance block). */
  readonly decisions: NmiDecisionOptions;
  /** Where requests that are not NMI's own are forwarded (IMDS; a loopback stand-in in tests). */
  readonly metadataAddress: string;
  readonly metadataPort: number;
  /** Timeout of one forwarded request (the original had none; a hung IMDS would pin the pod's request forever). */
  readonly proxyTimeoutMs: number;
  /** Overrides of core's token-cache defaults. */
  readonly tokenCache: Partial<TokenCacheConfig>;
  /** Overrides of core's upstream budget (IMDS: 20/s, 5 concurrent). */
  readonly upstreamBudget: Partial<UpstreamBudgetConfig>;
  /** Per-pod token bucket, or `false` to turn the per-pod limit off. */
  readonly podRateLimit: Partial<PodRateLimiterConfig> | false;
  /** Largest request body accepted (IMDS requests have none; bodies are only forwarded). */
  readonly bodyLimitBytes: number;
  /**
   * Reuse token-path decisions while the caches are unchanged (see `DecisionMemo`); on by default. Off
   * re-decides every request from scratch (the differential test compares both).
   */
  readonly memoiseDecisions: boolean;
}

/** Defaults for everything but the node name. */
export const NMI_APP_CONFIG_DEFAULTS: Omit<NmiAppConfig, "nodeName"> = {
  operationMode: "standard",
  forceNamespaced: false,
  decisions: NMI_DECISION_DEFAULTS,
  metadataAddress: "169.254.169.254",
  metadataPort: 80,
  proxyTimeoutMs: 30_000,
  tokenCache: {},
  upstreamBudget: {},
  podRateLimit: {},
  bodyLimitBytes: 64 * 1024,
  memoiseDecisions: true,
};

/** A complete {@link NmiAppConfig} from the node name and any overrides. */
export function defineNmiAppConfig(config: Partial<NmiAppConfig> & { readonly nodeName: string }): NmiAppConfig {
  return { ...NMI_APP_CONFIG_DEFAULTS, ...config };
}
