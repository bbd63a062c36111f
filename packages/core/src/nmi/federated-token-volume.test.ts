import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { federatedTokenVolumeOfRawPod, projectedTokenLocation, summariseFederatedTokenVolume } from "./federated-token-volume.js";

const AUDIENCE = "api://AzureADTokenExchange";

/** A projected volume with the given `serviceAccountToken` sources (and a ConfigMap source before them, as workload identity writes). */
const projected = (name: string, ...tokens: Record<string, unknown>[]) => ({
  name,
  projected: { sources: [{ configMap: { name: "kube-root-ca.crt" } }, ...tokens.map((serviceAccountToken) => ({ serviceAccountToken }))] },
});

/** The volume Azure workload identity's webhook injects. */
const WORKLOAD_IDENTITY_VOLUME = projected("azure-identity-token", { audience: AUDIENCE, expirationSeconds: 3600, path: "azure-identity-token" });

describe("summariseFederatedTokenVolume", () => {
  it("reads the volume workload identity's webhook injects", () => {
    const pod = { spec: { volumes: [{ name: "kube-api-access-x", projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 3607 } }] } }, WORKLOAD_IDENTITY_VOLUME] } };
    expect(federatedTokenVolumeOfRawPod(pod)).toEqual({ volumeName: "azure-identity-token", path: "azure-identity-token", expirationSeconds: 3600 });
  });

  it("takes the first source with exactly the Entra ID audience, in declaration order", () => {
    const volumes = [
      projected("other-aud", { audience: "api://AzureADTokenExchange/", path: "a" }, { audience: "API://AzureADTokenExchange", path: "b" }),
      projected("first", { audience: "sts.amazonaws.com", path: "aws" }, { audience: AUDIENCE, path: "sub/dir/token" }),
      projected("second", { audience: AUDIENCE, path: "token" }),
    ];
    expect(summariseFederatedTokenVolume(volumes)).toEqual({ volumeName: "first", path: "sub/dir/token" });
  });

  it("ignores the API server's own audience (no audience), malformed entries and bad expirations", () => {
    expect(summariseFederatedTokenVolume([projected("v", { path: "token" })])).toBeUndefined();
    expect(summariseFederatedTokenVolume([{ projected: { sources: [{ serviceAccountToken: { audience: AUDIENCE, path: "t" } }] } }])).toBeUndefined();
    expect(summariseFederatedTokenVolume([projected("v", { audience: AUDIENCE })])).toBeUndefined();
    expect(summariseFederatedTokenVolume([projected("v", { audience: AUDIENCE, path: "t", expirationSeconds: "3600" })])).toEqual({ volumeName: "v", path: "t" });
    expect(summariseFederatedTokenVolume([projected("v", { audience: AUDIENCE, path: "t", expirationSeconds: -1 })])).toEqual({ volumeName: "v", path: "t" });
    for (const bad of [undefined, null, 1, "x", {}, [null], [1], [{ projected: null }], [{ name: "v", projected: { sources: "x" } }]]) {
      expect(summariseFederatedTokenVolume(bad)).toBeUndefined();
    }
    expect(federatedTokenVolumeOfRawPod(null)).toBeUndefined();
  });

  it("never throws, and finds a federated source exactly when the volumes hold one", () => {
    const sourceArb = fc.oneof(
      fc.record({ serviceAccountToken: fc.record({ audience: fc.constantFrom(AUDIENCE, "other", undefined), path: fc.constantFrom("t", "a/b", undefined) }, { requiredKeys: [] }) }),
      fc.anything(),
    );
    const volumeArb = fc.oneof(fc.record({ name: fc.string(), projected: fc.record({ sources: fc.array(sourceArb, { maxLength: 4 }) }) }), fc.anything());
    fc.assert(
      fc.property(fc.array(volumeArb, { maxLength: 5 }), (volumes) => {
        const found = summariseFederatedTokenVolume(volumes);
        const expected = volumes.some(
          (v) =>
            typeof v === "object" && v !== null && typeof (v as { name?: unknown }).name === "string" &&
            ((v as { projected?: { sources?: unknown[] } }).projected?.sources ?? []).some(
              (s) => typeof s === "object" && s !== null && (s as { serviceAccountToken?: { audience?: unknown; path?: unknown } }).serviceAccountToken?.audience === AUDIENCE &&
                typeof (s as { serviceAccountToken: { path?: unknown } }).serviceAccountToken.path === "string",
            ),
        );
        expect(found !== undefined).toBe(expected);
      }),
    );
  });
});

describe("projectedTokenLocation", () => {
  const UID = "6f3b1a52-8d1c-4a6e-9c2f-0b7d5e4a3c21";

  it("is kubelet's layout under the pods directory", () => {
    expect(projectedTokenLocation(UID, { volumeName: "azure-identity-token", path: "dir/token" })).toEqual({
      ok: true,
      value: [UID, "volumes", "kubernetes.io~projected", "azure-identity-token", "dir", "token"],
    });
  });

  it("refuses traversal, absolute paths, empty segments, backslashes, NUL and control characters", () => {
    const bad: [string, string, string][] = [
      [UID, "v", "../../../etc/shadow"],
      [UID, "v", "a/../../b"],
      [UID, "v", "/etc/shadow"],
      [UID, "v", "./token"],
      [UID, "v", "a//b"],
      [UID, "v", ""],
      [UID, "v", "token/"],
      [UID, "v", "a\\..\\b"],
      [UID, "v", "tok\u0000en"],
      [UID, "v", "tok\nen"],
      [UID, "..", "token"],
      [UID, ".", "token"],
      [UID, "a/b", "token"],
      [UID, "", "token"],
      ["../other", "v", "token"],
      ["", "v", "token"],
      [`${UID}/..`, "v", "token"],
    ];
    for (const [uid, volumeName, path] of bad) {
      const location = projectedTokenLocation(uid, { volumeName, path });
      expect(location.ok, JSON.stringify([uid, volumeName, path])).toBe(false);
    }
  });

  it("every accepted location is a list of plain names: it cannot leave the volume directory", () => {
    const segment = fc.oneof(fc.constantFrom(".", "..", "", "a", "token", "~", "..a", "a.."), fc.string({ maxLength: 6 }));
    const pathArb = fc.oneof(fc.array(segment, { maxLength: 4 }).map((s) => s.join("/")), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.oneof(fc.constant(UID), fc.string({ maxLength: 8 })), segment, pathArb, (uid, volumeName, path) => {
        const location = projectedTokenLocation(uid, { volumeName, path });
        if (!location.ok) return;
        for (const part of location.value) {
          expect(part === "" || part === "." || part === "..").toBe(false);
          expect(/[/\\\u0000-\u001f]/.test(part)).toBe(false);
        }
        expect(location.value.slice(0, 4)).toEqual([uid, "volumes", "kubernetes.io~projected", volumeName]);
      }),
    );
  });
});
