export * from "./run-command.js";
export * from "./netns-names.js";
export * from "./netns-support.js";
export * from "./netns-process.js";
export * from "./netns-handle.js";
export * from "./netns-topology.js";
export * from "./netns-http.js";
