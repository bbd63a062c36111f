/**
 * @podid/core — every rule of per-pod Azure identity as pure functions and state machines, plus the
 * ports (interfaces) that adapters implement. No runtime dependencies and no Node.js imports, so it
 * runs anywhere and custom controllers can embed it.
 * @packageDocumentation
 */
export * from "./result.js";
export * from "./model/index.js";
export * from "./azure-ids/index.js";
export * from "./matching/index.js";
export * from "./reconcile/index.js";
export * from "./lifecycle/index.js";
export * from "./nmi/index.js";
export * from "./token-cache/index.js";
export * from "./leader/index.js";
export * from "./metrics/index.js";
export * from "./compat/index.js";
export * from "./ports/index.js";
export * from "./time/index.js";
export * from "./interception/index.js";
