import { TEST_CA_DIR_ENV, TestCertificateAuthority } from "./test-certificate-authority.js";

/**
 * vitest globalSetup (registered in the root `vitest.config.ts`): creates the run's certificate authority
 * before any test worker exists and exports it through the environment. vitest runs the root globalSetup
 * once, in the main process, before it forks the workers of every project; forked workers inherit
 * `process.env`, so each worker starts with `NODE_EXTRA_CA_CERTS` naming the CA — the only way to make
 * Node trust it, as Node reads that variable at process start. `PODID_TEST_CA_DIR` lets fakes started in
 * any worker issue server certificates signed by the same CA (`TestCertificateAuthority.fromEnvironment`).
 *
 * When the environment already names a usable CA (a caller such as a demo script created one and started
 * vitest with it), that CA is reused and left in place. Otherwise the CA is created here and its directory
 * removed on teardown.
 * @packageDocumentation
 */
/**
 * Set to the pid of the process that ran this setup, so a test can prove it runs in a different (forked)
 * process that inherited the environment.
 */
export const TEST_CA_SETUP_PID_ENV = "PODID_TEST_CA_SETUP_PID";

/**
 * Creates the run CA (see the module documentation above).
 * @returns the teardown function vitest calls after the last worker finished.
 */
export default async function setup(): Promise<() => void> {
  const previous = { extra: process.env["NODE_EXTRA_CA_CERTS"], dir: process.env[TEST_CA_DIR_ENV], pid: process.env[TEST_CA_SETUP_PID_ENV] };
  const ca = reuseInherited() ?? (await TestCertificateAuthority.create());
  Object.assign(process.env, ca.childEnvironment(), { [TEST_CA_SETUP_PID_ENV]: String(process.pid) });
  return () => {
    ca.dispose(); // a no-op for an inherited CA: only a CA this setup created owns its directory
    restore("NODE_EXTRA_CA_CERTS", previous.extra);
    restore(TEST_CA_DIR_ENV, previous.dir);
    restore(TEST_CA_SETUP_PID_ENV, previous.pid);
  };
}

function reuseInherited(): TestCertificateAuthority | undefined {
  if (process.env[TEST_CA_DIR_ENV] === undefined) return undefined;
  try {
    return TestCertificateAuthority.fromEnvironment();
  } catch {
    return undefined;
  }
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
