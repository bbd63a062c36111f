export * from "./config.js";
export * from "./elector.js";
