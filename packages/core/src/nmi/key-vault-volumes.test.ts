import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyVaultFlexVolume } from "@podid/testkit";
import { keyVaultVolumesOfRawPod, summariseKeyVaultVolumes } from "./key-vault-volumes.js";

/** Go's `strconv.ParseBool` spellings of true and false. */
const GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"];
const GO_FALSE = ["0", "f", "F", "FALSE", "false", "False"];

/** The seed tutorial's pod, as JSON (docs/compatibility.md, "Host token endpoint"). */
const SEED_POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "demo-app", namespace: "default", labels: { aadpodidbinding: "demo-kv-access" } },
  spec: {
    containers: [{ name: "app", image: "mcr.microsoft.com/azure-cli", command: ["sleep", "infinity"], volumeMounts: [{ name: "secrets-store", mountPath: "/secret1", readOnly: true }] }],
    volumes: [keyVaultFlexVolume()],
  },
};

const flex = (name: string, usepodidentity?: unknown, driver = "azure/kv") => ({
  name,
  flexVolume: { driver, options: usepodidentity === undefined ? {} : { usepodidentity } },
});
const csi = (name: string, secretProviderClass?: unknown, driver = "secrets-store.csi.k8s.io") => ({
  name,
  csi: { driver, readOnly: true, volumeAttributes: secretProviderClass === undefined ? {} : { secretProviderClass } },
});

describe("summariseKeyVaultVolumes", () => {
  it("reads the seed tutorial's azure/kv FlexVolume in pod-identity mode", () => {
    expect(keyVaultVolumesOfRawPod(SEED_POD)).toEqual([{ kind: "flexVolume", volume: "secrets-store", usePodIdentity: true }]);
  });

  it("reads usepodidentity with Go's strconv.ParseBool: exactly its true spellings count", () => {
    for (const t of GO_TRUE) expect(summariseKeyVaultVolumes([flex("v", t)])).toEqual([{ kind: "flexVolume", volume: "v", usePodIdentity: true }]);
    for (const f of [...GO_FALSE, "yes", " true", "TRUE ", "", true, 1, null]) {
      expect(summariseKeyVaultVolumes([flex("v", f)])).toEqual([{ kind: "flexVolume", volume: "v", usePodIdentity: false }]);
    }
    expect(summariseKeyVaultVolumes([flex("v")])).toEqual([{ kind: "flexVolume", volume: "v", usePodIdentity: false }]);
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), (text) => {
        const [volume] = summariseKeyVaultVolumes([flex("v", text)]) ?? [];
        expect(volume).toEqual({ kind: "flexVolume", volume: "v", usePodIdentity: GO_TRUE.includes(text) });
      }),
    );
  });

  it("reads the SecretProviderClass of a Secrets Store CSI volume (\"\" when none is named)", () => {
    expect(summariseKeyVaultVolumes([csi("kv", "azure-kv")])).toEqual([{ kind: "csi", volume: "kv", secretProviderClass: "azure-kv" }]);
    expect(summariseKeyVaultVolumes([csi("kv")])).toEqual([{ kind: "csi", volume: "kv", secretProviderClass: "" }]);
    expect(summariseKeyVaultVolumes([csi("kv", 7)])).toEqual([{ kind: "csi", volume: "kv", secretProviderClass: "" }]);
  });

  it("ignores every other volume and driver, and pods without volumes cost nothing (undefined)", () => {
    expect(summariseKeyVaultVolumes([flex("a", "true", "azure/blobfuse"), csi("b", "x", "disk.csi.azure.com"), { name: "c", emptyDir: {} }])).toBeUndefined();
    expect(summariseKeyVaultVolumes([])).toBeUndefined();
    expect(keyVaultVolumesOfRawPod({ spec: {} })).toBeUndefined();
    expect(keyVaultVolumesOfRawPod({ spec: { containers: [] } })).toBeUndefined();
  });

  it("never throws and keeps declaration order for any JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (json) => {
        const summary = keyVaultVolumesOfRawPod({ spec: { volumes: json } });
        expect(summary === undefined || summary.length > 0).toBe(true);
      }),
      { numRuns: 300 },
    );
    const volumeArb = fc.oneof(
      fc.tuple(fc.string(), fc.constantFrom(...GO_TRUE, ...GO_FALSE, "x")).map(([n, u]) => flex(n, u)),
      fc.tuple(fc.string(), fc.string()).map(([n, c]) => csi(n, c)),
      fc.string().map((n) => ({ name: n, emptyDir: {} })),
    );
    fc.assert(
      fc.property(fc.array(volumeArb, { maxLength: 8 }), (volumes) => {
        const relevant = volumes.filter((v) => "flexVolume" in v || "csi" in v);
        const summary = summariseKeyVaultVolumes(volumes) ?? [];
        expect(summary.map((v) => v.volume)).toEqual(relevant.map((v) => v.name));
      }),
    );
  });
});
