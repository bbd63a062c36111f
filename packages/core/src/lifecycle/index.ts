export * from "./assigned-identity-lifecycle.js";
