export * from "./mic-options.js";
export * from "./leader-fencing.js";
export * from "./mic-controller.js";
