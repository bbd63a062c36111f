import { mkdtempSync, renameSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { AzureConfigError } from "./azure-config-error.js";
import type { AzureConfig } from "./azure-config.js";
import { AzureConfigWatcher } from "./azure-config-watcher.js";
import { loadAzureConfig } from "./load-azure-config.js";

const dirs: string[] = [];
const watchers: AzureConfigWatcher[] = [];
afterEach(() => {
  for (const w of watchers.splice(0)) w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "podid-azure-json-"));
  dirs.push(dir);
  return dir;
}

const azureJson = (secret: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ cloud: "AzurePublicCloud", tenantId: "t", aadClientId: "c", aadClientSecret: secret, subscriptionId: "s", resourceGroup: "rg", vmType: "vmss", ...extra });

async function waitFor(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const secretOf = (c: AzureConfig) => (c.credential.kind === "servicePrincipal" ? c.credential.clientSecret : "");

describe("loadAzureConfig", () => {
  it("reads azure.json when a path is given, the environment otherwise", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "azure.json"), azureJson("one"));
    const fromFile = await loadAzureConfig({ path: join(dir, "azure.json"), env: {} });
    expect(fromFile.ok && fromFile.value.source).toBe("file");
    const fromEnv = await loadAzureConfig({ env: { SUBSCRIPTION_ID: "s", USE_MSI: "true", USER_ASSIGNED_MSI_CLIENT_ID: "id" } });
    expect(fromEnv).toMatchObject({ ok: true, value: { source: "environment", credential: { kind: "userAssignedIdentity", clientId: "id" } } });
    expect(await loadAzureConfig({ path: join(dir, "missing.json") })).toMatchObject({ ok: false, error: { kind: "unreadable" } });
  });

  it("reads AZURE_ENVIRONMENT_FILEPATH for a cloud that is not built in, in both modes", async () => {
    const dir = tempDir();
    const envFile = join(dir, "stack.json");
    writeFileSync(envFile, JSON.stringify({ name: "AzureStackCloud", resourceManagerEndpoint: "https://arm.stack/", activeDirectoryEndpoint: "https://login.stack/", tokenAudience: "https://arm.stack/aud" }));
    writeFileSync(join(dir, "azure.json"), azureJson("x", { cloud: "AzureStackCloud" }));
    const fromFile = await loadAzureConfig({ path: join(dir, "azure.json"), env: { AZURE_ENVIRONMENT_FILEPATH: envFile } });
    const fromEnv = await loadAzureConfig({ env: { CLOUD: "AzureStackCloud", AZURE_ENVIRONMENT_FILEPATH: envFile, SUBSCRIPTION_ID: "s", USE_MSI: "true" } });
    for (const result of [fromFile, fromEnv]) {
      expect(result).toMatchObject({ ok: true, value: { cloud: { resourceManagerEndpoint: "https://arm.stack", activeDirectoryAuthorityHost: "https://login.stack", resourceManagerScope: "https://arm.stack/aud/.default", custom: true } } });
    }
    expect(await loadAzureConfig({ env: { CLOUD: "AzureStackCloud", AZURE_ENVIRONMENT_FILEPATH: join(dir, "nope.json"), SUBSCRIPTION_ID: "s", USE_MSI: "true" } })).toMatchObject({
      ok: false,
      error: { kind: "unreadable" },
    });
  });
});

describe("AzureConfigWatcher", () => {
  it("emits a new configuration when the file is rewritten or atomically replaced, and reports invalid files once", async () => {
    const dir = tempDir();
    const path = join(dir, "azure.json");
    writeFileSync(path, azureJson("one"));
    const changes: AzureConfig[] = [];
    const errors: AzureConfigError[] = [];
    const started = await AzureConfigWatcher.start({ path, env: {}, debounceMs: 20, pollIntervalMs: 0, onChange: (c) => changes.push(c), onError: (e) => errors.push(e) });
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    const watcher = started.value;
    watchers.push(watcher);
    expect(secretOf(watcher.current)).toBe("one");

    writeFileSync(path, azureJson("two"));
    await waitFor(() => changes.length === 1);
    expect(secretOf(watcher.current)).toBe("two");

    writeFileSync(join(dir, "azure.json.tmp"), azureJson("three"));
    renameSync(join(dir, "azure.json.tmp"), path);
    await waitFor(() => changes.length === 2);
    expect(secretOf(changes[1]!)).toBe("three");

    writeFileSync(path, "{ broken");
    await waitFor(() => errors.length === 1);
    await watcher.check();
    expect(errors).toHaveLength(1); // the same failure is not reported twice
    expect(secretOf(watcher.current)).toBe("three"); // the last good configuration stays in force

    writeFileSync(path, azureJson("three")); // same content as in force: no event
    await watcher.check();
    expect(changes).toHaveLength(2);
    writeFileSync(path, azureJson("four"));
    await waitFor(() => changes.length === 3);
  });

  it("follows the symlink swap of a Kubernetes Secret volume", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "v1"));
    mkdirSync(join(dir, "v2"));
    writeFileSync(join(dir, "v1", "azure.json"), azureJson("old"));
    writeFileSync(join(dir, "v2", "azure.json"), azureJson("new"));
    symlinkSync("v1", join(dir, "..data"));
    symlinkSync("..data/azure.json", join(dir, "azure.json"));
    const changes: AzureConfig[] = [];
    const started = await AzureConfigWatcher.start({ path: join(dir, "azure.json"), env: {}, debounceMs: 20, pollIntervalMs: 0, onChange: (c) => changes.push(c) });
    if (!started.ok) throw new Error("start failed");
    watchers.push(started.value);
    symlinkSync("v2", join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
    await waitFor(() => changes.length === 1);
    expect(secretOf(started.value.current)).toBe("new");
  });

  it("polls as a fallback, e.g. for the environment file outside the watched directory", async () => {
    const dir = tempDir();
    const other = tempDir();
    const envFile = join(other, "cloud.json");
    const cloud = (arm: string) => JSON.stringify({ resourceManagerEndpoint: arm, activeDirectoryEndpoint: "https://login.custom" });
    writeFileSync(envFile, cloud("https://arm.one"));
    writeFileSync(join(dir, "azure.json"), azureJson("x", { cloud: "AzureStackCloud" }));
    const changes: AzureConfig[] = [];
    const started = await AzureConfigWatcher.start({ path: join(dir, "azure.json"), env: { AZURE_ENVIRONMENT_FILEPATH: envFile }, pollIntervalMs: 30, onChange: (c) => changes.push(c) });
    if (!started.ok) throw new Error("start failed");
    watchers.push(started.value);
    writeFileSync(envFile, cloud("https://arm.two"));
    await waitFor(() => changes.length === 1);
    expect(changes[0]?.cloud.resourceManagerEndpoint).toBe("https://arm.two");
  });

  it("refuses to start on a missing or invalid file, and stops emitting after close", async () => {
    const dir = tempDir();
    expect(await AzureConfigWatcher.start({ path: join(dir, "none.json"), onChange: () => undefined })).toMatchObject({ ok: false, error: { kind: "unreadable" } });
    expect(await AzureConfigWatcher.start({ path: "", onChange: () => undefined })).toMatchObject({ ok: false, error: { kind: "unreadable" } });
    writeFileSync(join(dir, "azure.json"), azureJson("a"));
    const changes: AzureConfig[] = [];
    const started = await AzureConfigWatcher.start({ path: join(dir, "azure.json"), env: {}, debounceMs: 10, pollIntervalMs: 20, onChange: (c) => changes.push(c) });
    if (!started.ok) throw new Error("start failed");
    started.value.close();
    writeFileSync(join(dir, "azure.json"), azureJson("b"));
    await new Promise((r) => setTimeout(r, 100));
    expect(changes).toHaveLength(0);
  });
});
