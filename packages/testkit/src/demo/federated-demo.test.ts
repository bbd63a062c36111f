/**
 * `podid-sim demo --federated` end to end, as `npm run demo -- --federated` runs it: the built CLI in its own
 * process with the workspace's built MIC, NMI and `podid-kv`, the seed story with the federated identity of
 * `examples/demo-federated` (docs/adr/0021-federated-identities.md): a federated identity credential instead of
 * a scale-set PATCH, the Key Vault secret mounted with a token NMI obtained by exchanging the pod's own
 * service-account token (after AADSTS70021 while the credential propagated), the app's token, the credential
 * deleted with the pod, and the JSON summary as the last line.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoPackages, runDemoCli } from "./test-support/demo-cli.js";

const IDENTITY = "/subscriptions/00000000-0000-4000-8000-00000000d3e0/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-kv-reader";
let dir = "";

beforeAll(() => {
  buildDemoPackages();
  dir = mkdtempSync(join(tmpdir(), "podid-demo-federated-test-"));
}, 250_000);

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("podid-sim demo --federated", () => {
  it("FIC created → Assigned with 0 PATCH, AADSTS70021 retried, the Key Vault secret and a token naming the identity, the FIC deleted with the pod", async () => {
    const { code, output } = await runDemoCli(["--federated", "--kubeconfig", join(dir, "kubeconfig"), "--fic-propagation-ms", "1000"], dir);
    expect(output, output).toMatch(/kube-apiserver on https:\/\/127\.0\.0\.1:\d+ with the podid CRDs; service-account issuer https:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/MIC started .*--service-account-issuer=https:\/\/127\.0\.0\.1:\d+/);
    expect(output).toContain("applied examples/demo-federated/serviceaccount.yaml: ServiceAccount demo-kv-app");
    expect(output).toContain("kubelet aks-demo-12345678-vmss000001: projected service-account token azure-federated-token");
    expect(output).toContain("AzureAssignedIdentity default/demo-app-default-demo-kv-reader: Created");
    expect(output).toMatch(/ARM: federated identity credential podid-default-demo-kv-app-[0-9a-f]{16} created on demo-kv-reader: issuer https:\/\/127\.0\.0\.1:\d+, subject system:serviceaccount:default:demo-kv-app, audience api:\/\/AzureADTokenExchange/);
    expect(output).toContain("AzureAssignedIdentity default/demo-app-default-demo-kv-reader: Assigned — 0 VM/VMSS PATCH");
    expect(output).not.toContain("ARM PATCH");
    expect(output).toMatch(/AAD: [1-9]\d* exchange\(s\) refused with AADSTS70021 while the credential propagated \(1000 ms\), [1-9]\d* accepted/);
    expect(output).toMatch(/pod reads \/secret1\/appsecret1 \(on this machine: [^\n]*\/volumes\/azure~kv\/secrets-store\/appsecret1\):\n\s+Hello from Key Vault: this is appsecret1 of demo-kv\n/);
    expect(output).toMatch(/xms_mirid\s+\/subscriptions\/[^\n]*\/userAssignedIdentities\/demo-kv-reader/);
    expect(output).toMatch(/appid\s+6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11/);
    expect(output).toMatch(/federated identity credential podid-default-demo-kv-app-[0-9a-f]{16} deleted .*0 VM\/VMSS PATCH in the whole run/);
    expect(output).toContain("demo finished");
    const summary = JSON.parse(output.trimEnd().split("\n").at(-1) ?? "") as Record<string, unknown>;
    expect(summary).toMatchObject({
      scenario: "seed-federated",
      identity: IDENTITY,
      identityType: 3,
      identityTypeName: "federated",
      tokenClaims: { appid: "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11", xms_mirid: IDENTITY },
      armPatches: 0,
      ficWrites: 1,
      secretFile: "/secret1/appsecret1",
      secretValue: "Hello from Key Vault: this is appsecret1 of demo-kv",
      secretMatchesKeyVault: true,
      ficRemovedWithPod: true,
    });
    expect(summary["ficName"]).toMatch(/^podid-default-demo-kv-app-[0-9a-f]{16}$/);
    expect(summary["aadExchanges"]).toMatchObject({ accepted: expect.any(Number), refused: expect.any(Number) });
    expect(summary["firstTokenMs"]).toBeGreaterThan(0);
    expect(summary["firstTokenAfterRunningMs"]).toEqual(expect.any(Number));
    expect(code).toBe(0);
  }, 120_000);
});
