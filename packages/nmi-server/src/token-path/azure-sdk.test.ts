import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFakeJwt, FakeCluster, FakeTokenSource, RecordingLogger, RecordingMetrics } from "@podid/testkit";
import { systemClock } from "@podid/adapter-k8s";
import { bindPod, makeAssigned, makeBinding, makeIdentity, TEST_NODE } from "@podid/testkit";
import { RecordingForwarder } from "../test-support/nmi-harness.js";
import { createNmiServer, type NmiApp } from "./1-http-entry.js";
import { defineNmiConfig } from "../config/nmi-config.js";

/**
 * Conformance with the real Azure SDK: `@azure/identity`'s ManagedIdentityCredential, unmodified, in a
 * fresh child process (MSAL keeps per-process state), pointed at NMI on 127.0.0.1 through
 * `AZURE_POD_IDENTITY_AUTHORITY_HOST`. The caller is attributed by its source address, 127.0.0.1, which a
 * fake pod in the FakeCluster holds.
 */

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

const CLIENT = `
const { ManagedIdentityCredential } = await import("@azure/identity");
const options = JSON.parse(process.env.PODID_TEST_CREDENTIAL ?? "{}");
try {
  const credential = new ManagedIdentityCredential({ ...options, retryOptions: { maxRetries: 0 } });
  const token = await credential.getToken("https://management.azure.com/.default");
  console.log(JSON.stringify({ ok: true, token: token.token, expiresOnTimestamp: token.expiresOnTimestamp }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, name: error.name, message: String(error.message).slice(0, 400) }));
}
`;

interface SdkResult {
  readonly ok: boolean;
  readonly token?: string;
  readonly expiresOnTimestamp?: number;
  readonly name?: string;
  readonly message?: string;
}

let app: NmiApp;
let port = 0;
const cluster = new FakeCluster({ clock: systemClock });
const tokens = new FakeTokenSource({ clock: systemClock });
let primaryClientId = "";
let secondClientId = "";
let secondResourceId = "";
let foreignClientId = "";

function sdk(credential: Record<string, string>): Promise<SdkResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", CLIENT],
      {
        cwd: packageDir,
        timeout: 20_000,
        env: {
          PATH: process.env["PATH"] ?? "",
          AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${port}`,
          PODID_TEST_CREDENTIAL: JSON.stringify(credential),
        },
      },
      (error, stdout, stderr) => {
        const line = stdout.trim().split("\n").at(-1) ?? "";
        try {
          resolve(JSON.parse(line) as SdkResult);
        } catch {
          reject(new Error(`child failed: ${error?.message ?? ""} ${stderr.slice(0, 500)}`));
        }
      },
    );
  });
}

beforeAll(async () => {
  const primary = bindPod({ cluster, tokens }, { pod: "sdk-pod", ip: "127.0.0.1", identity: "sdk-primary" });
  primaryClientId = primary.identity.spec.clientID;
  const second = cluster.apply("azureidentities", makeIdentity({ name: "sdk-second" }));
  const binding = cluster.apply("azureidentitybindings", makeBinding(second, "sdk-primary-selector", "second-binding"));
  cluster.apply("azureassignedidentities", makeAssigned(primary.pod, second, binding));
  tokens.allow(second.spec.resourceID);
  secondClientId = second.spec.clientID;
  secondResourceId = second.spec.resourceID;
  foreignClientId = bindPod({ cluster, tokens }, { pod: "other-pod", ip: "10.0.0.99", identity: "foreign" }).identity.spec.clientID;
  app = createNmiServer(
    defineNmiConfig({ nodeName: TEST_NODE }),
    { kube: cluster, tokenSource: tokens, clock: systemClock, logger: new RecordingLogger(), metrics: new RecordingMetrics(), forwarder: new RecordingForwarder() },
  ).app;
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
});

describe("@azure/identity ManagedIdentityCredential against NMI", () => {
  it("gets the pod's token (the SDK's trailing-slash path, Metadata header, expires_on)", async () => {
    const result = await sdk({});
    expect(result.ok, result.message).toBe(true);
    const claims = decodeFakeJwt(result.token ?? "");
    // Without a client id NMI picks deterministically (identity namespace, then name): sdk-primary < sdk-second.
    expect(claims.appid).toBe(primaryClientId);
    expect(claims.aud).toBe("https://management.azure.com");
    expect(result.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3_000_000);
  });

  it("selects the identity named by clientId and by resourceId", async () => {
    const byClient = await sdk({ clientId: secondClientId });
    expect(byClient.ok, byClient.message).toBe(true);
    expect(decodeFakeJwt(byClient.token ?? "").appid).toBe(secondClientId);
    const byResource = await sdk({ resourceId: secondResourceId });
    expect(byResource.ok, byResource.message).toBe(true);
    expect(decodeFakeJwt(byResource.token ?? "").appid).toBe(secondClientId);
  });

  it("surfaces NMI's refusal when the pod asks for another pod's identity", async () => {
    const result = await sdk({ clientId: foreignClientId });
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/404|not_found|no azure identity found/i);
  });
});
