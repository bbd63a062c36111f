import { daemonVersion, type DaemonVersion } from "@podid/daemon-shell";

/** podid MIC's version (kept equal to `packages/mic-runner/package.json` by a test). */
export const MIC_VERSION = "0.1.0";

/** `podid-mic --version` and MIC's user agent. */
export const MIC_DAEMON_VERSION: DaemonVersion = daemonVersion("podid-mic", MIC_VERSION, "aad-pod-identity MIC compatible");
