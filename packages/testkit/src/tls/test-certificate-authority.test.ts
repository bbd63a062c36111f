import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, get, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { TEST_CA_SETUP_PID_ENV } from "./global-setup.js";
import { TEST_CA_DIR_ENV, TestCertificateAuthority, createClientCertificate } from "./test-certificate-authority.js";

/** GETs `url` with Node's default trust store only (no `ca` option): what production code does. */
function fetchStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.setTimeout(5_000, () => req.destroy(new Error("timeout")));
  });
}

async function serve(pair: { cert: string; key: string }): Promise<{ server: Server; port: number }> {
  const server = createServer({ cert: pair.cert, key: pair.key }, (_req, res) => {
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

const servers: Server[] = [];
const others: TestCertificateAuthority[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  for (const ca of others) ca.dispose();
});

describe("the run CA from the vitest globalSetup", () => {
  it("was created in another process before this forked worker started, which inherited the environment", () => {
    const setupPid = process.env[TEST_CA_SETUP_PID_ENV];
    expect(setupPid).toMatch(/^\d+$/);
    expect(Number(setupPid)).not.toBe(process.pid);
    const ca = TestCertificateAuthority.fromEnvironment();
    expect(process.env["NODE_EXTRA_CA_CERTS"]).toBe(ca.certPath);
    expect(process.env[TEST_CA_DIR_ENV]).toBe(ca.dir);
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
  });

  it("is trusted by this process without any `ca` option, for 127.0.0.1 and localhost", async () => {
    const ca = TestCertificateAuthority.fromEnvironment();
    const leaf = await ca.issueServerCertificate();
    const { server, port } = await serve(leaf);
    servers.push(server);
    expect(await fetchStatus(`https://127.0.0.1:${port}/`)).toBe(204);
    expect(await fetchStatus(`https://localhost:${port}/`)).toBe(204);
    expect(await fetch(`https://127.0.0.1:${port}/`).then((r) => r.status)).toBe(204);
    const x509 = new X509Certificate(leaf.cert);
    expect(x509.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(x509.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(x509.subjectAltName).toContain("DNS:localhost");
  });

  it("issues wildcard DNS names (one label, as TLS clients match them) next to IP addresses", async () => {
    const ca = TestCertificateAuthority.fromEnvironment();
    const leaf = new X509Certificate((await ca.issueServerCertificate({ hosts: ["*.vault.azure.net", "127.0.0.1"] })).cert);
    expect(leaf.subjectAltName).toBe("DNS:*.vault.azure.net, IP Address:127.0.0.1");
    expect(leaf.checkHost("demo-kv.vault.azure.net")).toBe("*.vault.azure.net"); // the SAN that matched
    expect(leaf.checkHost("vault.azure.net")).toBeUndefined();
    expect(leaf.checkHost("a.demo-kv.vault.azure.net")).toBeUndefined();
    expect(leaf.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
  });

  it("caches leaf certificates per host list", async () => {
    const ca = TestCertificateAuthority.fromEnvironment();
    expect(await ca.issueServerCertificate()).toBe(await ca.issueServerCertificate());
    expect(await ca.issueServerCertificate({ hosts: ["127.0.0.2"] })).not.toBe(await ca.issueServerCertificate());
  });

  it("does not make Node trust certificates of another CA (the trust is specific, not disabled)", async () => {
    const other = await TestCertificateAuthority.create();
    others.push(other);
    const { server, port } = await serve(await other.issueServerCertificate());
    servers.push(server);
    await expect(fetchStatus(`https://127.0.0.1:${port}/`)).rejects.toThrow(/self-signed|unable to verify|certificate/i);
  });

  it("refuses an environment whose NODE_EXTRA_CA_CERTS does not hold the CA", async () => {
    const other = await TestCertificateAuthority.create();
    others.push(other);
    expect(() => TestCertificateAuthority.fromEnvironment({ [TEST_CA_DIR_ENV]: other.dir, NODE_EXTRA_CA_CERTS: process.env["NODE_EXTRA_CA_CERTS"] })).toThrow(
      /does not contain the CA/,
    );
    expect(() => TestCertificateAuthority.fromEnvironment({})).toThrow(/PODID_TEST_CA_DIR is not set/);
    expect(TestCertificateAuthority.fromEnvironment(other.childEnvironment()).certPem).toBe(other.certPem);
  });
});

describe("TestCertificateAuthority lifecycle", () => {
  it("create() writes the CA to a fresh directory that dispose() removes; load() reads it back", async () => {
    const ca = await TestCertificateAuthority.create({ commonName: "lifecycle CA" });
    expect(readFileSync(ca.certPath, "utf8")).toBe(ca.certPem);
    expect(TestCertificateAuthority.load(ca.dir).keyPem).toBe(ca.keyPem);
    expect(new X509Certificate(ca.certPem).subject).toContain("lifecycle CA");
    ca.dispose();
    expect(existsSync(ca.dir)).toBe(false);
    expect(() => TestCertificateAuthority.load(ca.dir)).toThrow(/does not hold/);
  });
});

describe("createClientCertificate", () => {
  it("makes an RSA certificate with the x5t fingerprints MSAL sends", async () => {
    const client = await createClientCertificate("podid-sp");
    const x509 = new X509Certificate(client.cert);
    expect(x509.publicKey.asymmetricKeyType).toBe("rsa");
    const sha1 = Buffer.from(x509.fingerprint.replace(/:/g, ""), "hex").toString("base64url");
    const sha256 = Buffer.from(x509.fingerprint256.replace(/:/g, ""), "hex").toString("base64url");
    expect(client.x5t).toBe(sha1);
    expect(client.x5tS256).toBe(sha256);
    expect(client.combinedPem).toContain("BEGIN CERTIFICATE");
    expect(client.combinedPem).toContain("PRIVATE KEY");
  });
});
