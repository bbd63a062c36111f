import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARM_AUDIENCES, FakeAadServer, FakeArmServer, FakeCompute, FakeIdentityCatalog, TestCertificateAuthority } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armClientSettings } from "../compute/arm-client-settings.js";
import { ArmComputeAdapter } from "../compute/arm-compute-adapter.js";
import { createArmCredential } from "../credentials/arm-credential.js";
import type { AzureConfig } from "./azure-config.js";
import { AzureConfigWatcher } from "./azure-config-watcher.js";

/**
 * Secret rotation without a restart, end to end: azure.json is rewritten with a new service-principal
 * secret, the watcher emits the new configuration, and an adapter built from it reaches ARM through the
 * fake AAD — while a credential built from the old configuration is now refused.
 */
const TENANT = "8192a3b4-c5d6-4e7f-9081-92a3b4c5d6e7";
const SUB = "92a3b4c5-d6e7-4f80-8192-a3b4c5d6e7f8";
const dir = mkdtempSync(join(tmpdir(), "podid-rotation-"));
let aad: FakeAadServer;
let arm: FakeArmServer;
let compute: FakeCompute;

beforeAll(async () => {
  const ca = TestCertificateAuthority.fromEnvironment();
  aad = await FakeAadServer.start({ ca });
  compute = new FakeCompute();
  arm = await FakeArmServer.start({ ca, compute, catalog: new FakeIdentityCatalog(), auth: { audiences: ARM_AUDIENCES } });
});

afterAll(async () => {
  await arm?.close();
  await aad?.close();
  rmSync(dir, { recursive: true, force: true });
});

const azureJson = (secret: string) =>
  JSON.stringify({ cloud: "AzurePublicCloud", tenantId: TENANT, aadClientId: "mic", aadClientSecret: secret, subscriptionId: SUB, resourceGroup: "rg", vmType: "vmss", resourceManagerEndpoint: arm.url, activeDirectoryEndpoint: aad.url });

const adapterFor = (config: AzureConfig) =>
  new ArmComputeAdapter({ credential: createArmCredential(config), ...armClientSettings(config, { maxRetries: 0 }), pollIntervalMs: 5 });

describe("azure.json rotation", () => {
  it("reloads the rotated secret and authenticates with it", async () => {
    const vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: "rg", name: "pool" });
    aad.registerApplication({ tenantId: TENANT, clientId: "mic", secret: "first" });
    const path = join(dir, "azure.json");
    writeFileSync(path, azureJson("first"));
    const changes: AzureConfig[] = [];
    const started = await AzureConfigWatcher.start({ path, env: {}, debounceMs: 20, pollIntervalMs: 50, onChange: (c) => changes.push(c) });
    if (!started.ok) throw new Error("watcher did not start");
    try {
      const before = started.value.current;
      expect(await adapterFor(before).getIdentities(vmss)).toMatchObject({ ok: true });

      aad.registerApplication({ tenantId: TENANT, clientId: "mic", secret: "second" });
      writeFileSync(path, azureJson("second"));
      const deadline = Date.now() + 5_000;
      while (changes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(changes).toHaveLength(1);
      expect(await adapterFor(changes[0]!).getIdentities(vmss)).toMatchObject({ ok: true });
      // A fresh credential from the old file is refused by AAD now (MIC would report it and keep retrying).
      expect(await adapterFor(before).getIdentities(vmss)).toMatchObject({ ok: false, error: { kind: "transient", message: expect.stringMatching(/invalid_client|AADSTS7000215/) as unknown as string } });
    } finally {
      started.value.close();
    }
  });
});
