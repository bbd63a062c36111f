/**
 * FakeKeyVault on the wire: challenge and token checks, access policies, error bodies, the shapes the volume
 * drivers read (secret value, key `n`/`e`, certificate `cer`, PKCS#12/PEM certificate secrets), paging,
 * and the raw query/path forms the SDKs and the Go drivers send. Requests go through `kv.agent()` to the
 * real vault host names.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { request } from "node:https";
import { connect, createServer as createTlsServer } from "node:tls";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encodeFakeJwt, type FakeTokenClaims } from "../../fakes/fake-jwt.js";
import { TestCertificateAuthority } from "../../tls/test-certificate-authority.js";
import { FakeKeyVault } from "./fake-key-vault.js";

const TENANT = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa";
const READER = "11111111-0000-4000-8000-000000000001";
const BY_OBJECT_ID = "22222222-0000-4000-8000-000000000002";
const SECRETS_ONLY = "33333333-0000-4000-8000-000000000003";

let kv: FakeKeyVault;
let pemCertVersion = "";

function token(claims: Partial<FakeTokenClaims> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return encodeFakeJwt({
    aud: "https://vault.azure.net",
    iss: `https://sts.windows.net/${TENANT}/`,
    appid: READER,
    oid: `oid-of-${claims.appid ?? READER}`,
    sub: "s",
    tid: TENANT,
    iat: now,
    nbf: now,
    exp: now + 3600,
    uti: "u",
    ver: "1.0",
    ...claims,
  });
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
}

/** A request to `https://<host><path>` through the fake's agent; `auth` undefined = no Authorization header. */
function call(path: string, options: { auth?: string; method?: string; body?: unknown; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `https://${options.host ?? "demo-kv.vault.azure.net"}${path}`,
      {
        method: options.method ?? "GET",
        agent: kv.agent(),
        headers: { ...(options.auth !== undefined ? { authorization: `Bearer ${options.auth}` } : {}), ...(options.body !== undefined ? { "content-type": "application/json" } : {}) },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) }));
      },
    );
    req.on("error", reject);
    req.end(options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body));
  });
}

beforeAll(async () => {
  kv = await FakeKeyVault.start({ ca: TestCertificateAuthority.fromEnvironment(), tenantId: TENANT, pageSize: 2 });
  kv.createVault("demo-kv");
  kv.createVault("other-kv");
  kv.setSecret("demo-kv", "appsecret1", "s3cr3t", { contentType: "text/plain" });
  kv.setSecret("other-kv", "appsecret1", "other vault's value");
  kv.createKey("demo-kv", "key1");
  await kv.createCertificate("demo-kv", "cert-pfx");
  pemCertVersion = await kv.createCertificate("demo-kv", "cert-pem", { contentType: "application/x-pem-file" });
  kv.grant("demo-kv", { clientId: READER }, { secrets: ["get", "list", "set"], keys: ["get"], certificates: ["get"] });
  kv.grant("demo-kv", { objectId: BY_OBJECT_ID }, { secrets: ["get"] });
  kv.grant("demo-kv", { clientId: SECRETS_ONLY }, { secrets: ["get"] });
}, 30_000);

afterAll(async () => {
  await kv.close();
});

beforeEach(() => {
  kv.clearRequestLog();
});

describe("challenge and token checks", () => {
  it("answers a request without a token with 401 and the challenge naming the tenant and the vault resource", async () => {
    const reply = await call("/secrets/appsecret1/?api-version=7.6");
    expect(reply.status).toBe(401);
    expect(reply.headers["www-authenticate"]).toBe(`Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="https://vault.azure.net"`);
    expect(reply.body).toEqual({ error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } });
  });

  it.each([
    ["another audience", { aud: "https://management.azure.com/" }, /Invalid audience/],
    ["an expired token", { exp: Math.floor(Date.now() / 1000) - 10 }, /expired/],
    ["another tenant", { tid: "bbbbbbbb-1111-4111-8111-bbbbbbbbbbbb", iss: "https://sts.windows.net/bbbbbbbb-1111-4111-8111-bbbbbbbbbbbb/" }, /tenant/],
    ["an issuer outside AAD", { iss: `https://evil.example/${TENANT}/` }, /Invalid issuer/],
  ])("refuses %s with 401 and the challenge", async (_what, claims, message) => {
    const reply = await call("/secrets/appsecret1/?api-version=7.6", { auth: token(claims) });
    expect(reply.status).toBe(401);
    expect(reply.headers["www-authenticate"]).toContain('resource="https://vault.azure.net"');
    expect((reply.body["error"] as { code: string; message: string }).code).toBe("Unauthorized");
    expect((reply.body["error"] as { message: string }).message).toMatch(message);
  });

  it("refuses a token that is not a JWT", async () => {
    const reply = await call("/secrets/appsecret1/?api-version=7.6", { auth: "not-a-jwt" });
    expect(reply.status).toBe(401);
  });

  it("accepts the audience with a trailing slash and issuers on login.microsoftonline.com", async () => {
    const reply = await call("/secrets/appsecret1/?api-version=7.6", { auth: token({ aud: "https://vault.azure.net/", iss: `https://login.microsoftonline.com/${TENANT}/v2.0` }) });
    expect(reply.status).toBe(200);
    expect(reply.body["value"]).toBe("s3cr3t");
  });
});

describe("access policies", () => {
  it("grants by client id (appid) or object id (oid), per object kind", async () => {
    expect((await call("/secrets/appsecret1/?api-version=7.6", { auth: token({ appid: "99999999-0000-4000-8000-000000000009", oid: BY_OBJECT_ID }) })).status).toBe(200);
    const keyRefused = await call("/keys/key1/?api-version=7.6", { auth: token({ appid: SECRETS_ONLY }) });
    expect(keyRefused.status).toBe(403);
    expect(keyRefused.body).toMatchObject({ error: { code: "Forbidden", innererror: { code: "AccessDenied" } } });
    expect((keyRefused.body["error"] as { message: string }).message).toContain("does not have keys get permission on key vault 'demo-kv");
    // Permission comes before existence, as in Key Vault: no probing for names without access.
    expect((await call("/secrets/no-such/?api-version=7.6", { auth: token({ appid: "99999999-0000-4000-8000-000000000009" }) })).status).toBe(403);
    expect(kv.requestLog.map((e) => e.status)).toEqual([200, 403, 403]);
  });

  it("keeps vaults apart by host name, and revoke removes access", async () => {
    expect((await call("/secrets/appsecret1/?api-version=7.6", { auth: token(), host: "other-kv.vault.azure.net" })).status).toBe(403);
    kv.grant("other-kv", { clientId: READER }, { secrets: ["get"] });
    const other = await call("/secrets/appsecret1/?api-version=7.6", { auth: token(), host: "other-kv.vault.azure.net" });
    expect(other.body).toMatchObject({ value: "other vault's value", id: expect.stringMatching(/^https:\/\/other-kv\.vault\.azure\.net\/secrets\/appsecret1\/[0-9a-f]{32}$/) });
    kv.revoke("other-kv", { clientId: READER });
    expect((await call("/secrets/appsecret1/?api-version=7.6", { auth: token(), host: "other-kv.vault.azure.net" })).status).toBe(403);
    const unknown = await call("/secrets/appsecret1/?api-version=7.6", { auth: token(), host: "nowhere-kv.vault.azure.net" });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: "VaultNotFound" } } });
  });
});

describe("data plane shapes", () => {
  it("serves a secret bundle at the latest path (trailing slash) and by version, for any api-version, with the key percent-encoded", async () => {
    const latest = await call("/secrets/appsecret1/?api%2Dversion=2025-07-01", { auth: token() });
    expect(latest.status).toBe(200);
    expect(latest.body).toMatchObject({
      value: "s3cr3t",
      contentType: "text/plain",
      id: expect.stringMatching(/^https:\/\/demo-kv\.vault\.azure\.net\/secrets\/appsecret1\/[0-9a-f]{32}$/),
      attributes: { enabled: true, recoveryLevel: "Recoverable+Purgeable", created: expect.any(Number), updated: expect.any(Number) },
    });
    const version = String(latest.body["id"]).split("/").pop() ?? "";
    // The FlexVolume driver's Go SDK: api-version 2016-10-01, version in the path.
    const byVersion = await call(`/secrets/appsecret1/${version}?api-version=2016-10-01`, { auth: token() });
    expect(byVersion.body["value"]).toBe("s3cr3t");
    expect((await call("/secrets/appsecret1/", { auth: token() })).body).toMatchObject({ error: { code: "BadParameter" } });
  });

  it("answers 404 with SecretNotFound / KeyNotFound / CertificateNotFound in Key Vault's error body", async () => {
    for (const [kind, code] of [["secrets", "SecretNotFound"], ["keys", "KeyNotFound"], ["certificates", "CertificateNotFound"]] as const) {
      const reply = await call(`/${kind}/missing/?api-version=7.6`, { auth: token() });
      expect(reply.status).toBe(404);
      expect(Object.keys(reply.body)).toEqual(["error"]);
      expect(reply.body["error"]).toMatchObject({ code, message: expect.stringContaining("(name/id) missing was not found in this key vault") });
    }
  });

  it("sets a secret from a PUT body and refuses a body without a string value", async () => {
    const put = await call("/secrets/written?api-version=7.6", { auth: token(), method: "PUT", body: { value: "v1", contentType: "text/plain", tags: { a: "b" } } });
    expect(put.body).toMatchObject({ value: "v1", contentType: "text/plain", tags: { a: "b" } });
    expect((await call("/secrets/written/?api-version=7.6", { auth: token() })).body["value"]).toBe("v1");
    expect((await call("/secrets/written?api-version=7.6", { auth: token(), method: "PUT", body: { value: 1 } })).status).toBe(400);
    expect((await call("/secrets/written?api-version=7.6", { auth: token(), method: "PUT", body: "{" })).status).toBe(400);
    // set needs its own permission
    expect((await call("/secrets/written?api-version=7.6", { auth: token({ appid: SECRETS_ONLY }), method: "PUT", body: { value: "x" } })).status).toBe(403);
  });

  it("lists versions without values, paged with absolute nextLinks", async () => {
    for (const n of [2, 3]) kv.setSecret("demo-kv", "paged", `v${n}`);
    kv.setSecret("demo-kv", "paged", "v4");
    const first = await call("/secrets/paged/versions?api-version=7.6", { auth: token() });
    const items = first.body["value"] as Record<string, unknown>[];
    expect(items).toHaveLength(2);
    expect(items.every((i) => !("value" in i) && typeof i["id"] === "string")).toBe(true);
    const next = String(first.body["nextLink"]);
    expect(next).toMatch(/^https:\/\/demo-kv\.vault\.azure\.net\/secrets\/paged\/versions\?api-version=7\.6&\$skiptoken=2&maxresults=2$/);
    const second = await call(next.replace("https://demo-kv.vault.azure.net", ""), { auth: token() });
    expect(second.body).toMatchObject({ value: [expect.any(Object)], nextLink: null });
  });

  it("serves an RSA key as a JWK with n and e", async () => {
    const reply = await call("/keys/key1/?api-version=7.6", { auth: token() });
    const key = reply.body["key"] as { kid: string; kty: string; n: string; e: string };
    expect(key.kty).toBe("RSA");
    expect(key.kid).toMatch(/^https:\/\/demo-kv\.vault\.azure\.net\/keys\/key1\/[0-9a-f]{32}$/);
    const publicKey = createPublicKey({ key: { kty: "RSA", n: key.n, e: key.e }, format: "jwk" });
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it("serves a certificate's cer, and its PEM secret holds that certificate and the matching key", async () => {
    const cert = await call("/certificates/cert-pem/?api-version=7.6", { auth: token() });
    expect(cert.body).toMatchObject({
      id: `https://demo-kv.vault.azure.net/certificates/cert-pem/${pemCertVersion}`,
      kid: `https://demo-kv.vault.azure.net/keys/cert-pem/${pemCertVersion}`,
      sid: `https://demo-kv.vault.azure.net/secrets/cert-pem/${pemCertVersion}`,
      policy: { secret_props: { contentType: "application/x-pem-file" } },
    });
    const x509 = new X509Certificate(Buffer.from(String(cert.body["cer"]), "base64"));
    const secret = await call("/secrets/cert-pem/?api-version=7.6", { auth: token() });
    expect(secret.body).toMatchObject({ contentType: "application/x-pem-file", kid: cert.body["kid"], managed: true });
    const pem = String(secret.body["value"]);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----[\s\S]+-----BEGIN CERTIFICATE-----/);
    expect(new X509Certificate(pem.slice(pem.indexOf("-----BEGIN CERTIFICATE-----"))).raw.equals(x509.raw)).toBe(true);
    expect(x509.checkPrivateKey(createPrivateKey(pem))).toBe(true);
    // The certificate's key is served under keys/ with the same version.
    expect((await call(`/keys/cert-pem/${pemCertVersion}?api-version=7.6`, { auth: token() })).status).toBe(200);
  });

  it("stores a PKCS#12 certificate secret that OpenSSL opens with an empty password and serves as that certificate", async () => {
    const cert = await call("/certificates/cert-pfx/?api-version=7.6", { auth: token() });
    const secret = await call("/secrets/cert-pfx/?api-version=7.6", { auth: token() });
    expect(secret.body["contentType"]).toBe("application/x-pkcs12");
    const pfx = Buffer.from(String(secret.body["value"]), "base64");
    // A TLS server built from the PFX (MAC checked by OpenSSL) presents exactly the certificate's cer.
    const server = createTlsServer({ pfx, passphrase: "" }, (socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const presented = await new Promise<Buffer>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, rejectUnauthorized: false }, () => {
          resolve(socket.getPeerCertificate().raw);
          socket.end();
        });
        socket.on("error", reject);
      });
      expect(presented.toString("base64")).toBe(cert.body["cer"]);
    } finally {
      server.close();
    }
  });
});
