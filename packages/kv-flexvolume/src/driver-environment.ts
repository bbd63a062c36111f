/**
 * The environment variables `podid-kv` reads, checked once per call. `PODID_KV_TMPFS=false` and
 * `PODID_KV_TOKEN_RETRY_MS` exist for tests (a simulated kubelet without root, a short retry interval);
 * packages/kv-flexvolume/README.md documents them.
 */
import { parseGoBool } from "./mount-options.js";
import { retryPolicyFromEnv, type NmiRetryPolicy } from "./nmi-token.js";
import { fail, ok, type Result } from "./result.js";

/** What the environment decides. */
export interface DriverEnvironment {
  /** Mount a tmpfs at the volume directory (off only for tests that cannot mount). */
  readonly tmpfs: boolean;
  readonly retry: NmiRetryPolicy;
  /** `PODID_NMI_PORT`, checked when a mount uses it. */
  readonly nmiPort: string | undefined;
}

/** Reads the driver's variables from an environment. */
export function driverEnvironment(env: Readonly<Record<string, string | undefined>>): Result<DriverEnvironment> {
  const tmpfsText = env["PODID_KV_TMPFS"];
  const tmpfs = tmpfsText === undefined || tmpfsText.trim() === "" ? true : parseGoBool(tmpfsText.trim());
  if (tmpfs === undefined) return fail(`environment variable PODID_KV_TMPFS must be "true" or "false", got ${JSON.stringify(tmpfsText)}`);
  const retry = retryPolicyFromEnv(env["PODID_KV_TOKEN_RETRY_MS"]);
  if (!retry.ok) return retry;
  return ok({ tmpfs, retry: retry.value, nmiPort: env["PODID_NMI_PORT"] });
}
