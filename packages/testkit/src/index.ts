export * from "./arbitraries/index.js";
export * from "./clock/index.js";
