/**
 * FakeKeyVault with the REAL Key Vault SDKs and default options (challenge-resource verification on):
 * `ManagedIdentityCredential` gets its tokens from testkit's fake IMDS, the SDK clients reach
 * `https://<vault>.vault.azure.net` through `kv.agent()` in-process, and through `kv.childEnvironment()`
 * alone in a child process.
 */
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { fileURLToPath } from "node:url";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";
import { createDefaultHttpClient, type HttpClient } from "@azure/core-rest-pipeline";
import { ManagedIdentityCredential } from "@azure/identity";
import { formatUserAssignedIdentityId } from "@podid/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeCompute } from "../../fakes/fake-compute.js";
import { FakeIdentityCatalog } from "../../fakes/fake-identity-catalog.js";
import { TestCertificateAuthority } from "../../tls/test-certificate-authority.js";
import { FakeImdsServer } from "../fake-imds-server.js";
import { systemClock } from "../system-clock.js";
import { FakeKeyVault } from "./fake-key-vault.js";

const TENANT = "72f988bf-0000-4000-8000-00000000d3e0";
const SUB = "00000000-0000-4000-8000-00000000d3e0";
const uami = (name: string): string => formatUserAssignedIdentityId({ subscriptionId: SUB, resourceGroup: "rg-identities", name });
const READER = uami("demo-kv-reader");
const OUTSIDER = uami("no-access");

let kv: FakeKeyVault;
let imds: FakeImdsServer;
let catalog: FakeIdentityCatalog;
let readerClientId = "";
let outsiderClientId = "";
let firstVersion = "";

/** An HTTP client sending what `@azure/identity` addresses to IMDS (169.254.169.254) to the fake IMDS. */
function imdsRedirect(): HttpClient {
  const base = createDefaultHttpClient();
  return {
    sendRequest: (request) => {
      const url = new URL(request.url);
      if (url.host === "169.254.169.254") request.url = `${imds.url}${url.pathname}${url.search}`;
      return base.sendRequest(request);
    },
  };
}

function credentialFor(clientId: string): ManagedIdentityCredential {
  return new ManagedIdentityCredential({ clientId, httpClient: imdsRedirect(), retryOptions: { maxRetries: 0 } });
}

function secretClient(clientId: string): SecretClient {
  return new SecretClient(kv.vaultUrl("demo-kv"), credentialFor(clientId), { agent: kv.agent() });
}

beforeAll(async () => {
  const ca = TestCertificateAuthority.fromEnvironment();
  const compute = new FakeCompute({ clock: systemClock });
  catalog = new FakeIdentityCatalog({ tenantId: TENANT });
  catalog.register(READER);
  catalog.register(OUTSIDER);
  readerClientId = catalog.lookup(READER)?.clientId ?? "";
  outsiderClientId = catalog.lookup(OUTSIDER)?.clientId ?? "";
  const vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: "MC_demo", name: "aks-vmss" }, { userAssigned: [READER, OUTSIDER] });
  imds = await FakeImdsServer.start({ compute, catalog, target: vmss, throttle: false });
  kv = await FakeKeyVault.start({ ca, tenantId: TENANT, pageSize: 2 });
  kv.createVault("demo-kv");
  firstVersion = kv.setSecret("demo-kv", "appsecret1", "first value");
  for (const n of [2, 3, 4, 5]) kv.setSecret("demo-kv", "appsecret1", `value ${n}`);
  kv.createKey("demo-kv", "key1");
  await kv.createCertificate("demo-kv", "cert1");
  kv.grant("demo-kv", { clientId: readerClientId }, { secrets: ["get", "list", "set"], keys: ["get"], certificates: ["get"] });
}, 30_000);

afterAll(async () => {
  await kv.close();
  await imds.close();
});

beforeEach(() => {
  kv.clearRequestLog();
});

describe("FakeKeyVault with @azure/keyvault-secrets (in-process, kv.agent())", () => {
  it("answers the SDK's challenge, then serves the latest secret, a version, every version (paged) and a set", async () => {
    const client = secretClient(readerClientId);
    const latest = await client.getSecret("appsecret1");
    expect(latest.value).toBe("value 5");
    expect(latest.properties.vaultUrl).toBe("https://demo-kv.vault.azure.net");
    expect(latest.properties.version).toMatch(/^[0-9a-f]{32}$/);

    // The challenge: the first request goes out without a token and gets 401; the retry carries the MI token.
    const [challenge, served] = kv.requestLog;
    expect(challenge).toMatchObject({ method: "GET", path: "/secrets/appsecret1/", status: 401, code: "Unauthorized" });
    expect(challenge?.clientId).toBeUndefined();
    expect(served).toMatchObject({ path: "/secrets/appsecret1/", status: 200, clientId: readerClientId, vault: "demo-kv" });
    expect(served?.query).toMatch(/^\?api%2Dversion=/);
    // The token came from IMDS, for the vault resource.
    expect(imds.requestLog.some((e) => e.status === 200 && e.url.includes("resource=https%3A%2F%2Fvault.azure.net"))).toBe(true);

    expect((await client.getSecret("appsecret1", { version: firstVersion })).value).toBe("first value");

    const versions: string[] = [];
    for await (const properties of client.listPropertiesOfSecretVersions("appsecret1")) versions.push(properties.version ?? "");
    expect(versions).toHaveLength(5);
    expect(versions[0]).toBe(firstVersion);
    // Five versions with a page size of two: the SDK followed two nextLinks.
    expect(kv.requestLog.filter((e) => e.path === "/secrets/appsecret1/versions" && e.query.includes("$skiptoken")).length).toBe(2);

    const set = await client.setSecret("written-by-sdk", "new value", { contentType: "text/plain" });
    expect(set.properties.version).toMatch(/^[0-9a-f]{32}$/);
    const back = await client.getSecret("written-by-sdk");
    expect(back).toMatchObject({ value: "new value", properties: { contentType: "text/plain", version: set.properties.version } });
  }, 20_000);

  it("refuses an identity without an access policy entry with 403 Forbidden (a RestError)", async () => {
    const error = await secretClient(outsiderClientId).getSecret("appsecret1").catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "RestError", statusCode: 403, code: "Forbidden" });
    expect(String((error as Error).message)).toContain(`appid=${outsiderClientId}`);
    expect(kv.requestLog.at(-1)).toMatchObject({ status: 403, clientId: outsiderClientId });
  }, 20_000);

  it("answers 404 SecretNotFound for an unknown secret or version", async () => {
    const client = secretClient(readerClientId);
    await expect(client.getSecret("no-such-secret")).rejects.toMatchObject({ name: "RestError", statusCode: 404, code: "SecretNotFound" });
    await expect(client.getSecret("appsecret1", { version: "0".repeat(32) })).rejects.toMatchObject({ statusCode: 404, code: "SecretNotFound" });
  }, 20_000);

  it("refuses a token with the wrong audience with 401, even after the SDK's re-authentication", async () => {
    // A real MI token, but for ARM: the SDK sends it, gets 401 + challenge, asks again (same answer), gives up.
    const armToken = credentialFor(readerClientId);
    const wrongAudience = { getToken: () => armToken.getToken("https://management.azure.com/.default") };
    const client = new SecretClient(kv.vaultUrl("demo-kv"), wrongAudience, { agent: kv.agent() });
    await expect(client.getSecret("appsecret1")).rejects.toMatchObject({ name: "RestError", statusCode: 401, code: "Unauthorized" });
    expect(kv.requestLog.filter((e) => e.status === 200)).toHaveLength(0);
    expect(kv.requestLog.some((e) => e.status === 401 && e.clientId === readerClientId)).toBe(true);
  }, 20_000);

  it("serves a key (RSA n/e) to KeyClient and a certificate (cer) to CertificateClient", async () => {
    const credential = credentialFor(readerClientId);
    const key = await new KeyClient(kv.vaultUrl("demo-kv"), credential, { agent: kv.agent() }).getKey("key1");
    expect(key.key?.kty).toBe("RSA");
    expect(key.key?.n?.length).toBe(256); // 2048-bit modulus
    expect(Buffer.from(key.key?.e ?? new Uint8Array()).toString("hex")).toBe("010001");

    const certificate = await new CertificateClient(kv.vaultUrl("demo-kv"), credential, { agent: kv.agent() }).getCertificate("cert1");
    const x509 = new X509Certificate(Buffer.from(certificate.cer ?? new Uint8Array()));
    expect(x509.subject).toBe("CN=cert1");
    expect(certificate.policy?.contentType).toBe("application/x-pkcs12");
    // The certificate's secret is the managed, key-backed PKCS#12 of the same version.
    const secret = await secretClient(readerClientId).getSecret("cert1");
    expect(secret.properties).toMatchObject({ contentType: "application/x-pkcs12", managed: true, version: certificate.properties.version });
    expect(secret.properties.certificateKeyId).toBe(`https://demo-kv.vault.azure.net/keys/cert1/${certificate.properties.version}`);
  }, 20_000);
});

describe("FakeKeyVault from a child process (kv.childEnvironment() only)", () => {
  it("an unmodified SDK program gets the secret from https://demo-kv.vault.azure.net", async () => {
    const script = `
      import { SecretClient } from "@azure/keyvault-secrets";
      import { ManagedIdentityCredential } from "@azure/identity";
      const client = new SecretClient("https://demo-kv.vault.azure.net", new ManagedIdentityCredential({ clientId: process.env.CLIENT_ID }));
      const secret = await client.getSecret("appsecret1");
      console.log("SECRET " + JSON.stringify({ value: secret.value, vaultUrl: secret.properties.vaultUrl }));
    `;
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        {
          cwd: fileURLToPath(new URL("../../..", import.meta.url)),
          // Nothing but PATH, the pod-identity endpoint @azure/identity reads, the identity, and the fake's environment.
          env: { PATH: process.env["PATH"] ?? "", AZURE_POD_IDENTITY_AUTHORITY_HOST: imds.url, CLIENT_ID: readerClientId, ...kv.childEnvironment() },
          timeout: 20_000,
        },
        (error, out, err) => (error === null ? resolve(out) : reject(new Error(`${error.message}\n${err}`))),
      );
    });
    const line = stdout.split("\n").find((l) => l.startsWith("SECRET ")) ?? "SECRET {}";
    expect(JSON.parse(line.slice("SECRET ".length))).toEqual({ value: "value 5", vaultUrl: "https://demo-kv.vault.azure.net" });
    expect(kv.requestLog.map((e) => e.status)).toEqual([401, 200]);
  }, 30_000);
});
