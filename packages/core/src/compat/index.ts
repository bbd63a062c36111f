export * from "./go-flag-syntax.js";
export * from "./go-duration.js";
export * from "./flag-values.js";
export * from "./command-line.js";
