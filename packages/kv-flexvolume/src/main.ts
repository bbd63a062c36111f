/**
 * The `podid-kv` process: kubelet's FlexVolume call convention (`init`, `mount <dir> <json>`, `unmount <dir>`),
 * one JSON status on stdout, exit code 0 for Success and 1 otherwise, logs on stderr.
 */
import { driverEnvironment } from "./driver-environment.js";
import { exitCodeOf, failure, INIT_SUCCESS, notSupported, type FlexStatus } from "./flex-status.js";
import { stderrLog, type DriverLog } from "./log.js";
import { unmountVolume } from "./unmount-volume.js";
import { PODID_KV_VERSION } from "./version.js";

/** For people on the node (kubelet never asks): what the driver is and which calls it answers. */
const HELP = `podid-kv ${PODID_KV_VERSION}: the FlexVolume azure/kv driver of podid (Azure Key Vault objects, mounted with the pod's identity from NMI)
usage: podid-kv init | mount <mount dir> <json options> | unmount <mount dir> | --version | --help
install: <kubelet plugin dir>/azure~kv/kv, a shell script that execs node with this bin (see the package README)
`;

async function call(args: readonly string[], log: DriverLog): Promise<FlexStatus> {
  const [verb, ...rest] = args;
  if (verb === "init") return INIT_SUCCESS;
  if (verb !== "mount" && verb !== "unmount") return notSupported(`podid-kv does not implement ${JSON.stringify(verb ?? "")}; it answers init, mount <dir> <json options> and unmount <dir>`);
  const env = driverEnvironment(process.env);
  if (!env.ok) return failure(env.error);
  if (verb === "mount") {
    const [dir, options] = rest;
    if (dir === undefined || options === undefined) return failure("usage: podid-kv mount <mount dir> <json options>");
    // The Azure SDK is loaded for mount only: init and unmount stay quick for kubelet.
    const { mountVolume } = await import("./mount-volume.js");
    return mountVolume(dir, options, env.value, log);
  }
  const [dir] = rest;
  if (dir === undefined) return failure("usage: podid-kv unmount <mount dir>");
  return unmountVolume(dir, log);
}

const args = process.argv.slice(2);
if (args[0] === "--version" || args[0] === "--help") {
  process.stdout.write(args[0] === "--version" ? `podid-kv ${PODID_KV_VERSION}\n` : HELP);
  process.exit(0);
}
const log = stderrLog();
let status: FlexStatus;
try {
  status = await call(args, log);
} catch (error) {
  // Every expected problem is a typed result already; this is the last guard so kubelet still gets JSON.
  log.error({ error: error instanceof Error ? error.message : String(error) }, "unexpected error");
  status = failure(`podid-kv failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
}
const code = exitCodeOf(status);
// Exit explicitly once stdout is flushed: the Key Vault clients' keep-alive sockets must not hold the call open.
process.stdout.write(`${JSON.stringify(status)}\n`, () => process.exit(code));
