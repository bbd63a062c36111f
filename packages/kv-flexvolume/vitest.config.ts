import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@podid/source"] },
  ssr: { resolve: { conditions: ["@podid/source"] } },
  test: {
    name: "kv-flexvolume",
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
