/**
 * The version `podid-kv --version` prints. A constant rather than a read of `package.json` at run time, so it
 * holds wherever the code is bundled; `version.test.ts` keeps it equal to the package's version.
 */

/** The `@podid/kv-flexvolume` package version. */
export const PODID_KV_VERSION = "0.1.0";
