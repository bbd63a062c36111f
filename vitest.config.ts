import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: { conditions: ["@podid/source"] },
  ssr: { resolve: { conditions: ["@podid/source"] } },
  test: {
    projects: ["packages/*/vitest.config.ts"],
  },
});
