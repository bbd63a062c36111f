import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { checkKubenet, guardKubenet, KUBENET_REFUSAL, selectsKubenet } from "./kubenet-guard.js";

const dir = mkdtempSync(join(tmpdir(), "podid-kubenet-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("kubenet guard (CVE-2021-1677)", () => {
  it("recognises kubenet in the spellings a kubelet command line uses", () => {
    for (const text of [
      "KUBELET_FLAGS=--network-plugin=kubenet --max-pods=110",
      'KUBELET_FLAGS="--address=0.0.0.0 --network-plugin kubenet"',
      "--network-plugin='kubenet'",
      '--network-plugin="kubenet"\n',
    ]) {
      expect(selectsKubenet(text), text).toBe(true);
    }
    for (const text of ["", "--network-plugin=cni", "--network-plugin=kubenet-like", "--network-plugin=azure --cni-conf=kubenet"]) {
      expect(selectsKubenet(text), text).toBe(false);
    }
  });

  it("refuses kubenet unless allowed; anything that does not select kubenet passes", () => {
    fc.assert(
      fc.property(fc.string(), fc.boolean(), (text, allow) => {
        const result = checkKubenet(text, allow);
        expect(result.ok).toBe(allow || !selectsKubenet(text));
      }),
      { numRuns: 200 },
    );
    const refused = checkKubenet("--network-plugin=kubenet", false);
    expect(!refused.ok && refused.error.message).toContain(KUBENET_REFUSAL);
  });

  it("reads the kubelet config file; an unreadable file is an error unless kubenet is allowed", async () => {
    const kubenet = join(dir, "kubenet");
    writeFileSync(kubenet, "KUBELET_FLAGS=--network-plugin=kubenet\n");
    const cni = join(dir, "cni");
    writeFileSync(cni, "KUBELET_FLAGS=--network-plugin=cni\n");
    expect((await guardKubenet(kubenet, false)).ok).toBe(false);
    expect((await guardKubenet(kubenet, true)).ok).toBe(true);
    expect((await guardKubenet(cni, false)).ok).toBe(true);
    const missing = await guardKubenet(join(dir, "missing"), false);
    expect(!missing.ok && missing.error.kind).toBe("kubeletConfigUnreadable");
    expect((await guardKubenet(join(dir, "missing"), true)).ok).toBe(true);
  });
});
