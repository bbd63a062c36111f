/**
 * @podid/mic-runner — the podid controller (MIC): the controller engine, the original's flags, and the
 * composition root that runs it on adapter-k8s and adapter-azure (`composeMic`, used by `podid-mic` and,
 * in-process, by tests and the demo).
 *
 * The `podid-mic` binary is `dist/main.js`; this entry point is for embedders (see README, "Embedding it"):
 * the configuration and its flag parser, the whole daemon's composition with its overrides, and the
 * controller engine on core's ports. Everything else (work queue, throttle gates, leader fencing, metric
 * and logger definitions, the cloud-configuration source) is internal. `public-surface.test.ts` pins the list.
 * @packageDocumentation
 */

// --- Configuration and flags ---------------------------------------------------------------------
// One MicConfig, parsed from the original MIC's flags (names, defaults and Go spellings).
export { MIC_LOG_LEVELS } from "./config/mic-config.js";
export type { MicConfig, MicLeaderElectionConfig, MicLogLevel } from "./config/mic-config.js";
export { parseMicFlags } from "./config/parse-mic-flags.js";
export type { MicCommand, MicHost } from "./config/parse-mic-flags.js";

// --- The whole daemon ----------------------------------------------------------------------------
// composeMic builds MIC from its configuration; MicOverrides replaces any part (ports, cloud configuration,
// ARM credential, clock, registry, …) and MicRuntime starts, observes and stops it.
export { composeMic } from "./composition/compose-mic.js";
export type { MicAddresses, MicArmCredential, MicOverrides, MicRuntime } from "./composition/compose-mic.js";
export type {
  CloudConfigSource,
  MicKubeConfig,
  MicKubeReader,
  MicLeadership,
  MicProcessEnv,
} from "./composition/mic-ports.js";
export type { ReplaceableCompute } from "./composition/replaceable-compute.js";

// --- The controller engine -----------------------------------------------------------------------
// MicController on core's ports alone (no Kubernetes or ARM client). Programs that need only the engine (the
// scale simulation, `podid plan`'s agreement test) import `@podid/mic-runner/controller`, which loads core alone.
export { MicController } from "./controller.js";
export type { MicControllerOptions, MicControllerPorts, MicControllerStats } from "./controller.js";
