/**
 * The built `podid-kv` bin as kubelet runs it: argv in, one JSON status out, files in the mount directory. NMI is
 * a loopback stand-in (test-support/nmi-stand-in.ts); Key Vault is testkit's FakeKeyVault under its real host
 * names (`demo-kv.vault.azure.net`, reached through `childEnvironment()`), so the driver runs with the Azure
 * SDK's default options, challenge authentication and resource verification included.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { FakeKeyVault, SEED_KEY_VAULT_FLEXVOLUME_OPTIONS, TestCertificateAuthority } from "@podid/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NmiStandIn } from "./test-support/nmi-stand-in.js";
import { runPodidKv } from "./test-support/run-podid-kv.js";

const TENANT = "72f988bf-0000-4000-8000-00000000d3e0";
const READER = "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11";
const STRANGER = "0c9d8e7f-1111-4222-8333-444455556666";

/** The seed pod manifest's volume options (examples/demo/pod.yaml) and what kubelet adds for pod default/demo-app. */
function seedOptions(pod = "demo-app", extra: Record<string, string> = {}): string {
  return JSON.stringify({
    ...SEED_KEY_VAULT_FLEXVOLUME_OPTIONS,
    tenantid: TENANT,
    "kubernetes.io/pod.name": pod,
    "kubernetes.io/pod.namespace": "default",
    "kubernetes.io/pod.uid": "0b6c3e43-4e1e-4f9c-9a3b-6a1f0d2c9e11",
    "kubernetes.io/serviceAccount.name": "default",
    "kubernetes.io/fsType": "",
    "kubernetes.io/readwrite": "ro",
    ...extra,
  });
}

let kv: FakeKeyVault;
let nmi: NmiStandIn;
let work: string;
let secretV1: string;
let secretV2: string;

beforeAll(async () => {
  kv = await FakeKeyVault.start({ ca: TestCertificateAuthority.fromEnvironment(), tenantId: TENANT });
  kv.createVault("demo-kv");
  secretV1 = kv.setSecret("demo-kv", "appsecret1", "first value");
  secretV2 = kv.setSecret("demo-kv", "appsecret1", "s3cr3t-value");
  kv.createKey("demo-kv", "key1");
  await kv.createCertificate("demo-kv", "cert1");
  kv.grant("demo-kv", { clientId: READER }, { secrets: ["get"], keys: ["get"], certificates: ["get"] });
  nmi = await NmiStandIn.start(TENANT);
  work = mkdtempSync(join(tmpdir(), "podid-kv-test-"));
}, 60_000);

afterAll(async () => {
  await kv?.close();
  await nmi?.close();
  if (work === undefined) return;
  // A failed tmpfs test may leave a mount behind: take off every mount under this test's directory first.
  for (const mountPoint of mountPointsUnder(work).reverse()) execFileSync("umount", [mountPoint]);
  rmSync(work, { recursive: true, force: true });
});

function mountPointsUnder(root: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((mountPoint) => mountPoint.startsWith(`${root}/`));
}

let dirCount = 0;
let dir: string;
beforeEach(() => {
  dir = join(work, `pods/u${++dirCount}/volumes/azure~kv/secrets-store`);
  nmi.script("default/demo-app", { clientId: READER, answers: [200] });
});

/** The environment of the simulated kubelet: no tmpfs (tests are not always root), a short NMI retry interval. */
function env(overrides: Record<string, string> = {}): Record<string, string> {
  return { ...kv.childEnvironment(), PODID_NMI_PORT: String(nmi.port), PODID_KV_TMPFS: "false", PODID_KV_TOKEN_RETRY_MS: "20", ...overrides };
}

function modeOf(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

describe("podid-kv, the azure/kv FlexVolume driver", () => {
  it("init answers Success without attach; an unknown call is Not supported", async () => {
    const init = await runPodidKv(["init"], env());
    expect(init.code).toBe(0);
    expect(init.stdout).toBe(`{"status":"Success","capabilities":{"attach":false}}\n`);
    const attach = await runPodidKv(["attach", "{}", "node-1"], env());
    expect(attach.code).toBe(1);
    expect(attach.status).toMatchObject({ status: "Not supported" });
    const version = await runPodidKv(["--version"], env());
    expect([version.code, version.stdout]).toEqual([0, "podid-kv 0.1.0\n"]);
  });

  it("mounts the seed pod's secret with the pod's identity: the value in <dir>/appsecret1, mode 0644, nothing secret logged", async () => {
    kv.clearRequestLog();
    const before = nmi.requests.length;
    const result = await runPodidKv(["mount", dir, seedOptions()], env());
    expect(result.status, result.stderr).toEqual({ status: "Success" });
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, "appsecret1"), "utf8")).toBe("s3cr3t-value");
    expect(modeOf(join(dir, "appsecret1"))).toBe("644");
    expect(readdirSync(dir)).toEqual(["appsecret1"]);

    const asked = nmi.requests.slice(before);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.url).toBe("/host/token/?resource=https://vault.azure.net");
    expect(asked[0]?.headers).toMatchObject({ podns: "default", podname: "demo-app" });
    expect(asked[0]?.headers["metadata"]).toBeUndefined();
    expect(kv.requestLog.filter((r) => r.status === 200).map((r) => [r.method, r.path, r.clientId])).toEqual([["GET", "/secrets/appsecret1/", READER]]);

    expect(result.stderr).not.toContain("s3cr3t-value");
    for (const token of nmi.issuedTokens) expect(result.stderr).not.toContain(token);
  });

  it("writes a key's RSA modulus as base64url text and a certificate's DER bytes, under their aliases", async () => {
    const options = seedOptions("demo-app", { keyvaultobjectnames: "appsecret1;key1;cert1", keyvaultobjecttypes: "secret;key;cert", keyvaultobjectaliases: "password;;tls.cer" });
    const result = await runPodidKv(["mount", dir, options], env());
    expect(result.status, result.stderr).toEqual({ status: "Success" });
    expect(readdirSync(dir).sort()).toEqual(["key1", "password", "tls.cer"]);
    for (const file of ["key1", "password", "tls.cer"]) expect(modeOf(join(dir, file))).toBe("644");
    expect(readFileSync(join(dir, "password"), "utf8")).toBe("s3cr3t-value");

    // The truth, read in-process through the fake's agent with the SDK (a separate route from the driver's).
    const credential = { getToken: async () => ({ token: nmi.mintToken(READER, "https://vault.azure.net"), expiresOnTimestamp: Date.now() + 600_000 }) };
    const key = await new KeyClient(kv.vaultUrl("demo-kv"), credential, { agent: kv.agent() }).getKey("key1");
    const keyText = readFileSync(join(dir, "key1"), "utf8");
    expect(keyText).toBe(Buffer.from(key.key?.n ?? new Uint8Array()).toString("base64url"));
    expect(Buffer.from(keyText, "base64url")).toHaveLength(256);

    const cer = readFileSync(join(dir, "tls.cer"));
    const certificate = await new CertificateClient(kv.vaultUrl("demo-kv"), credential, { agent: kv.agent() }).getCertificate("cert1");
    expect(cer.equals(Buffer.from(certificate.cer ?? new Uint8Array()))).toBe(true);
    expect(new X509Certificate(cer).subject).toContain("CN=cert1");
  });

  it("fetches the version named in keyvaultobjectversions, else the latest", async () => {
    const old = await runPodidKv(["mount", dir, seedOptions("demo-app", { keyvaultobjectversions: secretV1 })], env());
    expect(old.status, old.stderr).toEqual({ status: "Success" });
    expect(readFileSync(join(dir, "appsecret1"), "utf8")).toBe("first value");
    const latest = await runPodidKv(["mount", dir, seedOptions()], env());
    expect(latest.status).toEqual({ status: "Success" });
    expect(readFileSync(join(dir, "appsecret1"), "utf8")).toBe("s3cr3t-value");
    expect(secretV2).not.toBe(secretV1);
  });

  it("waits for NMI: a 404 (identity not assigned yet) then a 200 mounts", async () => {
    nmi.script("default/late-app", { clientId: READER, answers: [404, 200] });
    const result = await runPodidKv(["mount", dir, seedOptions("late-app")], env());
    expect(result.status, result.stderr).toEqual({ status: "Success" });
    expect(nmi.requestsFor("default/late-app")).toHaveLength(2);
    expect(readFileSync(join(dir, "appsecret1"), "utf8")).toBe("s3cr3t-value");
  });

  it("gives up after 5 attempts when NMI keeps refusing, with a Failure naming the last answer", async () => {
    nmi.script("default/unbound-app", { clientId: READER, answers: [404] });
    const result = await runPodidKv(["mount", dir, seedOptions("unbound-app")], env());
    expect(result.code).toBe(1);
    expect(result.status?.["status"]).toBe("Failure");
    expect(result.status?.["message"]).toMatch(/gave no token for pod default\/unbound-app after 5 attempts 20 ms apart; last answer HTTP 404/);
    expect(nmi.requestsFor("default/unbound-app")).toHaveLength(5);
    expect(result.stdout).not.toMatch(/[\\\r]/);
  });

  it("fails naming HTTP 403 when the pod's identity may not read the secret, and writes nothing", async () => {
    nmi.script("default/other-app", { clientId: STRANGER, answers: [200] });
    const result = await runPodidKv(["mount", dir, seedOptions("other-app")], env());
    expect(result.code).toBe(1);
    expect(result.status?.["status"]).toBe("Failure");
    expect(result.status?.["message"]).toMatch(/HTTP 403 Forbidden/);
    expect(result.status?.["message"]).toContain(STRANGER);
    expect(existsSync(join(dir, "appsecret1"))).toBe(false);
  });

  it("fails at once, without asking NMI, when options are missing or wrong", async () => {
    const before = nmi.requests.length;
    const options = JSON.parse(seedOptions()) as Record<string, string>;
    delete options["keyvaultobjecttypes"];
    const missing = await runPodidKv(["mount", dir, JSON.stringify(options)], env());
    expect(missing.status).toEqual({ status: "Failure", message: expect.stringMatching(/'keyvaultobjecttypes' is required/) });
    const badJson = await runPodidKv(["mount", dir, "{not json"], env());
    expect(badJson.status).toMatchObject({ status: "Failure", message: expect.stringMatching(/not JSON/) });
    const usage = await runPodidKv(["mount", dir], env());
    expect(usage.status).toMatchObject({ status: "Failure", message: expect.stringMatching(/usage: podid-kv mount/) });
    const servicePrincipal = JSON.parse(seedOptions()) as Record<string, string>;
    delete servicePrincipal["usepodidentity"];
    servicePrincipal["kubernetes.io/secret/clientid"] = Buffer.from("app-id").toString("base64");
    servicePrincipal["kubernetes.io/secret/clientsecret"] = Buffer.from("app-secret").toString("base64");
    const sp = await runPodidKv(["mount", dir, JSON.stringify(servicePrincipal)], env());
    expect(sp.status).toMatchObject({ status: "Failure", message: expect.stringMatching(/service-principal mode is not supported by podid-kv/) });
    expect(sp.stderr).not.toContain("app-secret");
    expect(existsSync(dir)).toBe(false);
    expect(nmi.requests.length).toBe(before);
  });

  it("with cloudname AzureChinaCloud asks NMI for https://vault.azure.cn and reads https://demo-kv.vault.azure.cn", async () => {
    const china = await FakeKeyVault.start({ ca: TestCertificateAuthority.fromEnvironment(), tenantId: TENANT, dnsSuffix: "vault.azure.cn", resource: "https://vault.azure.cn" });
    try {
      china.createVault("demo-kv");
      china.setSecret("demo-kv", "appsecret1", "china-value");
      china.grant("demo-kv", { clientId: READER }, { secrets: ["get"] });
      const before = nmi.requests.length;
      const result = await runPodidKv(["mount", dir, seedOptions("demo-app", { cloudname: "AzureChinaCloud" })], { ...env(), ...china.childEnvironment() });
      expect(result.status, result.stderr).toEqual({ status: "Success" });
      expect(readFileSync(join(dir, "appsecret1"), "utf8")).toBe("china-value");
      expect(nmi.requests.slice(before).map((r) => r.url)).toEqual(["/host/token/?resource=https://vault.azure.cn"]);
    } finally {
      await china.close();
    }
  });

  it("unmount removes the files and the directory; unmounting a missing directory succeeds", async () => {
    expect((await runPodidKv(["mount", dir, seedOptions()], env())).status).toEqual({ status: "Success" });
    const result = await runPodidKv(["unmount", dir], env());
    expect(result.status, result.stderr).toEqual({ status: "Success" });
    expect(existsSync(dir)).toBe(false);
    expect((await runPodidKv(["unmount", dir], env())).status).toEqual({ status: "Success" });
  });
});

const isRoot = process.getuid?.() === 0;

function tmpfsAt(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4] === path && / - tmpfs /.test(line));
}

describe.runIf(isRoot)("podid-kv with the tmpfs (needs root: skipped when not root)", () => {
  it("mounts a tmpfs at the directory, is idempotent, and unmount takes it off and removes the directory", async () => {
    const tmpfsEnv = env();
    delete tmpfsEnv["PODID_KV_TMPFS"];
    const first = await runPodidKv(["mount", dir, seedOptions()], tmpfsEnv);
    try {
      expect(first.status, first.stderr).toEqual({ status: "Success" });
      expect(tmpfsAt(dir)).toBe(true);
      expect(readFileSync(join(dir, "appsecret1"), "utf8")).toBe("s3cr3t-value");
      const again = await runPodidKv(["mount", dir, seedOptions()], tmpfsEnv);
      expect(again.status).toEqual({ status: "Success" });
      expect(readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((line) => line.split(" ")[4] === dir)).toHaveLength(1);
    } finally {
      const gone = await runPodidKv(["unmount", dir], tmpfsEnv);
      expect(gone.status, gone.stderr).toEqual({ status: "Success" });
    }
    expect(tmpfsAt(dir)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });

  it("takes the tmpfs off again when the mount fails after mounting it", async () => {
    nmi.script("default/other-app", { clientId: STRANGER, answers: [200] });
    const tmpfsEnv = env();
    delete tmpfsEnv["PODID_KV_TMPFS"];
    const result = await runPodidKv(["mount", dir, seedOptions("other-app")], tmpfsEnv);
    expect(result.status?.["status"]).toBe("Failure");
    expect(tmpfsAt(dir)).toBe(false);
  });
});
