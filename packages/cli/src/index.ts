/**
 * `podid explain` and `podid plan` as a library: the program, the pure explain/plan functions and their
 * typed results.
 * @packageDocumentation
 */
export * from "./cli-io.js";
export * from "./program.js";
export * from "./manifests/load-manifests.js";
export * from "./manifests/manifest-objects.js";
export * from "./plan/offline-plan.js";
export * from "./plan/render-plan.js";
export * from "./explain/explanation-types.js";
export * from "./explain/readout.js";
export * from "./explain/explain-pod.js";
export * from "./explain/explain-identity.js";
export * from "./explain/render-explanation.js";
export * from "./explain/kube-access.js";
export * from "./explain/cluster-reader.js";
