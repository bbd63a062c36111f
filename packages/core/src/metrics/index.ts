export * from "./metric-names.js";
