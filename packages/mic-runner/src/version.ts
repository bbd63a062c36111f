/** podid MIC's version (kept equal to `packages/mic-runner/package.json` by a test). */
export const MIC_VERSION = "0.1.0";
