/**
 * @podid/mic-runner — the podid controller (MIC): the controller engine, the original's flags, and the
 * composition root that runs it on adapter-k8s and adapter-azure (`composeMic`, used by `podid-mic` and,
 * in-process, by tests and the demo).
 * @packageDocumentation
 */
export * from "./controller/index.js";
export * from "./version.js";
export * from "./config/mic-config.js";
export * from "./config/parse-mic-flags.js";
export * from "./observability/mic-metrics.js";
export * from "./observability/mic-logging.js";
export * from "./composition/mic-ports.js";
export * from "./composition/replaceable-compute.js";
export * from "./composition/cloud-config-source.js";
export * from "./composition/leader-controller-loop.js";
export * from "./composition/compose-mic.js";
