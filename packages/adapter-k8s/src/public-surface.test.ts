import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as api from "./index.js";

// The package's public surface, pinned so that adding or dropping an export is a deliberate, reviewed
// change: edit ./index.ts and these lists together. Values are checked at runtime; types vanish at runtime,
// so they are read from the index's `export type { … }` lines.
const VALUES = [
  "KubeAssignedIdentityWriter", "KubeClient", "KubeEventRecorder", "KubeInformerReader", "LeaderElector",
  "createMicLeaderElector", "describeError", "kubeConfigSourceFrom", "loadKubeConfig", "parseStatusBody",
  "systemClock", "toWireJson",
];

const TYPES = [
  "BackoffOptions", "EventCorrelatorOptions", "InformerStats", "KubeAssignedIdentityWriterOptions",
  "KubeClientOptions", "KubeConfigSource", "KubeEventRecorderOptions", "KubeInformerReaderOptions", "KubeStatusBody",
  "LeaderElectorOptions", "MicLeaderElectionOptions", "ThrottleRetryOptions",
];

const indexSource = readFileSync(new URL("./index.ts", import.meta.url), "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");

describe("@podid/adapter-k8s public surface", () => {
  it("exports exactly the listed values", () => {
    expect(Object.keys(api).sort()).toEqual(VALUES);
  });

  it("names every export (no `export *`)", () => {
    expect(indexSource).not.toMatch(/export\s+(type\s+)?\*/);
  });

  it("exports exactly the listed types", () => {
    const types = [...indexSource.matchAll(/export\s+type\s*\{([^}]*)\}/g)].flatMap((m) => (m[1] ?? "").split(",").map((name) => name.trim()));
    expect(types.filter((name) => name !== "").sort()).toEqual(TYPES);
  });
});
