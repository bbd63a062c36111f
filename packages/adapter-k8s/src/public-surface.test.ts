import { readFileSync } from "node:fs";
import { publicSurfaceOf } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import * as api from "./index.js";

// The package's public surface, pinned so that adding or dropping an export is a deliberate, reviewed
// change: edit ./index.ts and these lists together. Values are checked at runtime; types vanish at runtime,
// so they are read from the index's source text (testkit's publicSurfaceOf).
const VALUES = [
  "DEFAULT_KUBELET_PODS_DIR", "DEFAULT_MAX_QUEUED_EVENTS", "KubeAssignedIdentityWriter", "KubeClient", "KubeConfig", "KubeEventRecorder", "KubeHttpError", "KubeInformerReader",
  "KubeSecretProviderClassReader", "KubeletServiceAccountTokenReader", "LeaderElector", "OPENID_CONFIGURATION_PATH", "SECRET_PROVIDER_CLASS_TTL_MS",
  "createMicLeaderElector", "describeError", "kubeConfigSourceFrom", "loadKubeConfig", "parsePodWithKeyVaultVolumes", "parsePodWithVolumes", "parseStatusBody", "readServiceAccountIssuer",
  "secretProviderClassView", "systemClock", "toWireJson",
];

const TYPES = [
  "BackoffOptions", "EventCorrelatorOptions", "InformerStats", "KubeAssignedIdentityWriterOptions",
  "KubeClientOptions", "KubeCluster", "KubeConfigSource", "KubeContext", "KubeEventRecorderOptions", "KubeEventRecorderStats", "KubeHttpRequest",
  "KubeInformerReaderOptions", "KubeQuery", "KubeRequestOptions", "KubeSecretProviderClassReaderOptions", "KubeStatusBody", "KubeUser",
  "KubeletServiceAccountTokenReaderOptions", "LeaderElectorOptions", "MicLeaderElectionOptions", "PodVolumeSummaries", "RequestClass", "ThrottleRetryOptions",
];

describe("@podid/adapter-k8s public surface", () => {
  it("names every export (no `export *`): exactly the listed values and types", () => {
    const indexSource = readFileSync(new URL("./index.ts", import.meta.url), "utf8");
    expect(publicSurfaceOf(indexSource, api)).toEqual({ values: VALUES, types: TYPES, wildcardExports: [] });
  });
});
