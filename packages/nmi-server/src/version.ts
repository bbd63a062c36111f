/** The version `podid-nmi --version` prints (kept equal to `package.json`; a test checks it). */
export const NMI_VERSION = "0.1.0";
