/**
 * The host map and its two users: `LoopbackHostsAgent` (in-process) and the child-process preload. Only
 * listed host names on the listed port are redirected; SNI and the certificate check keep the real name.
 */
import { execFile } from "node:child_process";
import { request } from "node:https";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TestCertificateAuthority } from "../../tls/test-certificate-authority.js";
import { FakeKeyVault } from "./fake-key-vault.js";
import { LoopbackHostsAgent } from "./loopback-agent.js";
import { findLoopbackHost, formatLoopbackHosts, parseLoopbackHosts, type LoopbackHostMapping } from "./loopback-hosts.js";

const MAP: LoopbackHostMapping[] = [
  { pattern: "*.vault.azure.net", port: 443, targetHost: "127.0.0.1", targetPort: 40123 },
  { pattern: "exact.example.com", port: 8443, targetHost: "::1", targetPort: 9 },
];

describe("host map", () => {
  it("round-trips through the PODID_TESTKIT_HOSTS form", () => {
    const text = formatLoopbackHosts(MAP);
    expect(text).toBe("*.vault.azure.net:443=127.0.0.1:40123,exact.example.com:8443=[::1]:9");
    expect(parseLoopbackHosts(text)).toEqual({ ok: true, value: MAP });
    expect(parseLoopbackHosts("")).toEqual({ ok: true, value: [] });
  });

  it.each([
    ["vault.azure.net=127.0.0.1:1", /is not <host>:<port>=<loopback ip>:<port>/],
    ["*.vault.azure.net:443=10.0.0.1:1", /not a loopback address/],
    ["*.vault.azure.net:443=127.0.0.1:70000", /is not <host>:<port>/],
    ["bad_name!:443=127.0.0.1:1", /is not a DNS name/],
  ])("refuses %s naming the entry", (text, message) => {
    const parsed = parseLoopbackHosts(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });

  it("matches a wildcard on one or more labels, exact names exactly, and only on the listed port", () => {
    expect(findLoopbackHost(MAP, "demo-kv.vault.azure.net", 443)?.targetPort).toBe(40123);
    expect(findLoopbackHost(MAP, "DEMO-KV.Vault.Azure.Net.", 443)?.targetPort).toBe(40123);
    expect(findLoopbackHost(MAP, "vault.azure.net", 443)).toBeUndefined();
    expect(findLoopbackHost(MAP, "demo-kv.vault.azure.net.evil.example", 443)).toBeUndefined();
    expect(findLoopbackHost(MAP, "demo-kv.vault.azure.net", 8443)).toBeUndefined();
    expect(findLoopbackHost(MAP, "exact.example.com", 8443)?.targetHost).toBe("::1");
    expect(findLoopbackHost(MAP, "sub.exact.example.com", 8443)).toBeUndefined();
  });
});

let kv: FakeKeyVault;

function get(url: string, agent: LoopbackHostsAgent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: 5_000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

function runChild(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--input-type=module", "-e", script], { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 15_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  kv = await FakeKeyVault.start({ ca: TestCertificateAuthority.fromEnvironment(), tenantId: "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa" });
  kv.createVault("demo-kv");
});

afterAll(async () => {
  await kv.close();
});

beforeEach(() => {
  kv.clearRequestLog();
});

describe("LoopbackHostsAgent", () => {
  it("sends a listed name to the fake under its real name (SNI, certificate check) and leaves other hosts alone", async () => {
    const agent = kv.agent();
    const mapped = await get("https://demo-kv.vault.azure.net/secrets/x/?api-version=7.6", agent);
    expect(mapped.status).toBe(401); // the fake's challenge
    expect(kv.requestLog).toHaveLength(1);
    // localhost is not listed: a normal connection, which reaches the fake's port directly (no vault there).
    const direct = await get(`https://localhost:${kv.port}/secrets/x/?api-version=7.6`, agent);
    expect(JSON.parse(direct.body)).toMatchObject({ error: { code: "VaultNotFound" } });
    // The listed name on another port is not redirected either: it resolves (or fails) like any name.
    await expect(get("https://demo-kv.vault.azure.net:8443/", agent)).rejects.toThrow();
    expect(kv.requestLog).toHaveLength(2);
  });

  it("verifies the certificate against the real name: a mapping onto a server for another name fails", async () => {
    const wrongName = new LoopbackHostsAgent({ mappings: [{ pattern: "demo-kv.vault.azure.example", port: 443, targetHost: "127.0.0.1", targetPort: kv.port }], mappedCa: TestCertificateAuthority.fromEnvironment().certPem });
    await expect(get("https://demo-kv.vault.azure.example/", wrongName)).rejects.toThrow(/altnames|does not match/i);
    wrongName.destroy();
  });
});

describe("loopback-hosts preload (child processes)", () => {
  const probe = `
    const results = {};
    for (const url of ["https://demo-kv.vault.azure.net/secrets/x/?api-version=7.6", "https://unlisted.invalid/"]) {
      try { results[url] = (await fetch(url)).status; } catch (e) { results[url] = e.cause?.code ?? e.message; }
    }
    console.log("RESULTS " + JSON.stringify(results));
  `;

  it("redirects listed names only", async () => {
    const run = await runChild(probe, kv.childEnvironment());
    const results = JSON.parse(run.stdout.split("\n").find((l) => l.startsWith("RESULTS "))?.slice(8) ?? "{}") as Record<string, unknown>;
    expect(results["https://demo-kv.vault.azure.net/secrets/x/?api-version=7.6"]).toBe(401);
    expect(results["https://unlisted.invalid/"]).toBe("ENOTFOUND");
    expect(kv.requestLog).toHaveLength(1);
  }, 20_000);

  it("without the preload the same child never reaches the fake", async () => {
    const { NODE_OPTIONS: _preload, ...withoutPreload } = kv.childEnvironment();
    const run = await runChild(probe, withoutPreload);
    expect(run.stdout).toContain("RESULTS");
    expect(kv.requestLog).toHaveLength(0);
  }, 20_000);

  it("stops with exit code 2 and one line when PODID_TESTKIT_HOSTS is malformed", async () => {
    const run = await runChild("console.log('ran')", { ...kv.childEnvironment(), PODID_TESTKIT_HOSTS: "*.vault.azure.net:443=10.1.1.1:443" });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim()).toBe('podid testkit loopback-hosts preload: PODID_TESTKIT_HOSTS is invalid: "*.vault.azure.net:443=10.1.1.1:443": the target 10.1.1.1 is not a loopback address');
  }, 20_000);
});
