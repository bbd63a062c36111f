/**
 * `@podid/mic-runner/controller` — MIC's controller engine alone (`MicController` on core's ports), for
 * programs that bring their own ports: simulations, tests, custom controllers. It loads nothing but
 * `@podid/core`, whereas the package's main entry also carries the process composition (client-node, the
 * Azure SDKs, fastify, pino), about 85 MB of resident memory before any work is done.
 * @packageDocumentation
 */
export { MicController } from "./controller/mic-controller.js";
export type { MicControllerPorts, MicControllerStats } from "./controller/mic-controller.js";
export type { MicControllerOptions } from "./controller/mic-options.js";
