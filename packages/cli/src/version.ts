/**
 * The version `podid --version` prints. A constant rather than a read of `package.json` at run time, so it
 * holds wherever the code is bundled; `version.test.ts` keeps it equal to the package's version.
 * @packageDocumentation
 */

/** The `@podid/cli` package version. */
export const PODID_CLI_VERSION = "0.1.0";
