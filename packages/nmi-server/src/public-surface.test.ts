import { readFileSync } from "node:fs";
import { publicSurfaceOf } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import * as api from "./index.js";

// The package's public surface, pinned so that adding or dropping an export is a deliberate, reviewed
// change: edit ./index.ts and these lists together. Values are checked at runtime; types vanish at runtime,
// so they are read from the index's source text (testkit's publicSurfaceOf).
const VALUES = [
  "NMI_CONFIG_DEFAULTS", "NMI_METRIC", "NMI_METRIC_DEFINITIONS", "PinoAuditWriter", "REDACT_PATHS", "composeNmi",
  "createNmiLogging", "createNmiPino", "createNmiServer", "defineNmiConfig", "loggerAuditWriter", "parseNmiFlags",
  "productionAdapters",
];

const TYPES = [
  "AuditFacts", "AuditRecord", "AuditSubject", "AuditWriter", "CacheResult", "ComposeNmiOptions", "ForwardError",
  "ForwardRequest", "ForwardedResponse", "HeaderBag", "ImdsForwarder", "InterceptionMode", "InterceptionRelease",
  "NmiAdapterContext", "NmiAdapters", "NmiAddresses", "NmiApp", "NmiCommand", "NmiConfig", "NmiConfigInput",
  "NmiEngine", "NmiEnginePorts", "NmiKubeReader", "NmiLogLevel", "NmiLogging", "NmiPinoOptions", "NmiReply",
  "NmiRequest", "NmiRuntime", "NmiServer", "NmiServerPorts", "OnClientGone", "OperationMode",
  "PinoAuditWriterOptions", "ServedRequest",
];

describe("@podid/nmi-server public surface", () => {
  it("names every export (no `export *`): exactly the listed values and types", () => {
    const indexSource = readFileSync(new URL("./index.ts", import.meta.url), "utf8");
    expect(publicSurfaceOf(indexSource, api)).toEqual({ values: VALUES, types: TYPES, wildcardExports: [] });
  });
});
