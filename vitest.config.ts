import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@podid/source"] },
  ssr: { resolve: { conditions: ["@podid/source"] } },
  test: {
    projects: ["packages/*/vitest.config.ts", "harness/vitest.config.ts"],
    // Creates the run's TLS certificate authority once, in the main process, before workers are forked, and
    // exports NODE_EXTRA_CA_CERTS / PODID_TEST_CA_DIR so every worker trusts the HTTPS loopback fakes.
    globalSetup: ["packages/testkit/src/tls/global-setup.ts"],
  },
});
