export * from "./types.js";
export * from "./errors.js";
export * from "./user-assigned-identity-id.js";
export * from "./provider-id.js";
export * from "./compute-target.js";
