import { daemonVersion, type DaemonVersion } from "@podid/daemon-shell";

/** `podid-nmi`'s version (what `--version` prints; kept equal to `package.json` by a test). */
export const NMI_VERSION: DaemonVersion = daemonVersion("podid-nmi", "0.1.0");
