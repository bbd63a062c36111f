export * from "./arbitraries/index.js";
export * from "./scenarios/index.js";
export * from "./clock/index.js";
export * from "./fakes/index.js";
