/**
 * Protobuf request bodies (what kubectl ≥1.33 sends for `kubectl create namespace|configmap|secret|serviceaccount|token`): a
 * test-side encoder following k8s.io/api's generated.proto field numbers produces the bytes, the decoder must
 * give back the JSON object. Other kinds are refused with 415.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeProtobufObject } from "./protobuf-body.js";

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const bytesField = (field: number, payload: number[]): number[] => [...varint(field * 8 + 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string): number[] => bytesField(field, [...new TextEncoder().encode(s)]);
const mapField = (field: number, map: Record<string, string>, binary = false): number[] =>
  Object.entries(map).flatMap(([k, v]) => bytesField(field, [...str(1, k), ...(binary ? bytesField(2, [...Buffer.from(v, "base64")]) : str(2, v))]));

function envelope(apiVersion: string, kind: string, raw: number[]): Uint8Array {
  return Uint8Array.from([0x6b, 0x38, 0x73, 0x00, ...bytesField(1, [...str(1, apiVersion), ...str(2, kind)]), ...bytesField(2, raw)]);
}

const nameArb = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const mapArb = fc.dictionary(nameArb, fc.string({ maxLength: 6 }), { maxKeys: 3, noNullPrototype: true });

describe("protobuf request bodies", () => {
  it("decode ConfigMaps and Secrets with metadata, labels, annotations and finalizers", () => {
    fc.assert(
      fc.property(nameArb, mapArb, mapArb, mapArb, fc.array(nameArb, { maxLength: 2 }), (name, labels, annotations, data, finalizers) => {
        const meta = [...str(1, name), ...str(2, ""), ...mapField(11, labels), ...mapField(12, annotations), ...finalizers.flatMap((f) => str(14, f))];
        const cm = decodeProtobufObject(envelope("v1", "ConfigMap", [...bytesField(1, meta), ...mapField(2, data)]));
        const expectedMeta = {
          name,
          ...(Object.keys(labels).length > 0 ? { labels } : {}),
          ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
          ...(finalizers.length > 0 ? { finalizers } : {}),
        };
        expect(cm).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: expectedMeta, ...(Object.keys(data).length > 0 ? { data } : {}) });
        const b64 = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
        const secret = decodeProtobufObject(envelope("v1", "Secret", [...bytesField(1, meta), ...mapField(2, b64, true), ...str(3, "Opaque")]));
        expect(secret).toEqual({ apiVersion: "v1", kind: "Secret", metadata: expectedMeta, ...(Object.keys(b64).length > 0 ? { data: b64 } : {}), type: "Opaque" });
      }),
      { numRuns: 200 },
    );
  });

  it("decodes the ServiceAccount and TokenRequest bodies of kubectl ≥1.33 `create serviceaccount` / `create token`", () => {
    const sa = decodeProtobufObject(envelope("v1", "ServiceAccount", [...bytesField(1, [...str(1, "workload"), ...str(3, "apps")]), ...varint(4 * 8), 1]));
    expect(sa).toEqual({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "workload", namespace: "apps" }, automountServiceAccountToken: true });
    const ref = [...str(1, "Pod"), ...str(2, "v1"), ...str(3, "web"), ...str(4, "u-1")];
    const spec = [...str(1, "api://AzureADTokenExchange"), ...str(1, "second"), ...bytesField(3, ref), ...varint(4 * 8), ...varint(1200)];
    const tr = decodeProtobufObject(envelope("authentication.k8s.io/v1", "TokenRequest", [...bytesField(1, str(1, "workload")), ...bytesField(2, spec)]));
    expect(tr).toEqual({
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      metadata: { name: "workload" },
      spec: { audiences: ["api://AzureADTokenExchange", "second"], boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web", uid: "u-1" }, expirationSeconds: 1200 },
    });
  });

  it("decodes a Namespace and refuses kinds it does not know, and bodies without the magic", () => {
    const ns = decodeProtobufObject(envelope("v1", "Namespace", [...bytesField(1, str(1, "apps")), ...bytesField(2, []), ...bytesField(3, [])]));
    expect(ns).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: "apps" }, spec: {}, status: {} });
    expect(() => decodeProtobufObject(envelope("apps/v1", "Deployment", []))).toThrow(expect.objectContaining({ code: 415 }) as Error);
    expect(() => decodeProtobufObject(Uint8Array.from([1, 2, 3, 4, 5]))).toThrow(expect.objectContaining({ code: 400 }) as Error);
  });
});
