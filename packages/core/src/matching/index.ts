export * from "./types.js";
export * from "./exceptions.js";
export * from "./namespaced.js";
