export * from "./key.js";
export * from "./config.js";
export * from "./expiry.js";
export * from "./cache.js";
export * from "./upstream-budget.js";
export * from "./pod-rate-limiter.js";
