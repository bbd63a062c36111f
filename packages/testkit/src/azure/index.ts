export * from "./system-clock.js";
export * from "./arm-wire-errors.js";
export * from "./fake-arm-server.js";
export * from "./imds-throttle.js";
export * from "./fake-imds-server.js";
export * from "./client-assertion.js";
export * from "./fake-aad-server.js";
