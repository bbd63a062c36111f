/**
 * `podid-sim demo` end to end, as `npm run demo` runs it: the built CLI in its own process, with the
 * workspace's built MIC, NMI and `podid-kv` found as installed packages, through the whole timeline: the
 * pod's Key Vault flexVolume mounted by the driver with the pod's token from NMI's /host/token, the pod
 * reading /secret1/appsecret1, and the JSON summary as the last line.
 *
 * Build: beforeAll runs `tsc -b` for testkit, mic-runner and nmi-server (a no-op after `npm test`'s build);
 * the test then checks the entry exists rather than trusting tsc's exit code.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDemoPackages, runDemoCli } from "./test-support/demo-cli.js";

let dir = "";

beforeAll(() => {
  buildDemoPackages();
  dir = mkdtempSync(join(tmpdir(), "podid-demo-test-"));
}, 250_000);

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("podid-sim demo", () => {
  it("runs the whole timeline: Created → PATCH → Assigned, the Key Vault secret in /secret1/appsecret1, a token naming the identity, then detach", async () => {
    const { code, output } = await runDemoCli(["--kubeconfig", join(dir, "kubeconfig"), "--patch-latency-ms", "500"], dir);
    expect(output, output).toContain("AzureAssignedIdentity default/demo-app-default-demo-kv-reader: Created");
    expect(output).toContain("ARM PATCH aks-demo-12345678-vmss");
    expect(output).toContain("AzureAssignedIdentity default/demo-app-default-demo-kv-reader: Assigned");
    expect(output).toMatch(/xms_mirid\s+\/subscriptions\/[^\n]*\/userAssignedIdentities\/demo-kv-reader/);
    expect(output).toMatch(/appid\s+6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11/);
    expect(output).toMatch(/kubelet aks-demo-12345678-vmss000001: mount secrets-store \(azure\/kv, podid-kv\) attempt \d+: Success/);
    expect(output).toMatch(/pod reads \/secret1\/appsecret1 \(on this machine: [^\n]*\/volumes\/azure~kv\/secrets-store\/appsecret1\):\n\s+Hello from Key Vault: this is appsecret1 of demo-kv\n/);
    expect(output).toContain("Key Vault demo-kv holds appsecret1 = \"Hello from Key Vault: this is appsecret1 of demo-kv\": the same value");
    expect(output).toContain("identity detached from aks-demo-12345678-vmss");
    expect(output).toContain("demo finished");
    const lastLine = output.trimEnd().split("\n").at(-1) ?? "";
    const summary = JSON.parse(lastLine) as Record<string, unknown>;
    expect(summary).toMatchObject({
      scenario: "seed",
      identity: "/subscriptions/00000000-0000-4000-8000-00000000d3e0/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-kv-reader",
      tokenClaims: {
        appid: "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11",
        xms_mirid: "/subscriptions/00000000-0000-4000-8000-00000000d3e0/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-kv-reader",
      },
      armPatches: 1,
      secretFile: "/secret1/appsecret1",
      secretValue: "Hello from Key Vault: this is appsecret1 of demo-kv",
      secretMatchesKeyVault: true,
    });
    expect(summary["firstTokenMs"]).toEqual(expect.any(Number));
    expect(summary["firstTokenMs"]).toBeGreaterThan(0);
    expect(code).toBe(0);
  }, 120_000);
});
