import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@podid/source"] },
  ssr: { resolve: { conditions: ["@podid/source"] } },
  test: {
    name: "daemon-shell",
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
