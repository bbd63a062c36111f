import { readFileSync } from "node:fs";
import { request } from "node:https";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { encodeFakeJwt } from "../fakes/fake-jwt.js";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { parseScenario, parseScenarioYaml } from "./parse-scenario.js";
import { describeScenarioProblems, type SimScenario } from "./scenario.js";
import { startScenarioCloud } from "./start-scenario-cloud.js";

const SEED = fileURLToPath(new URL("../../../../examples/scenarios/seed.yaml", import.meta.url));
const SUB = "00000000-0000-4000-8000-00000000000a";

function withVaults(keyVaults: unknown): Record<string, unknown> {
  return {
    subscriptions: [{ id: SUB, identities: [{ name: "id-a", resourceGroup: "rg-ids" }], vms: [{ name: "vm-a", resourceGroup: "rg-nodes" }] }],
    keyVaults,
  };
}

function parsed(raw: unknown): SimScenario {
  const result = parseScenario(raw);
  if (!result.ok) throw new Error(describeScenarioProblems("test", result.error));
  return result.value;
}

describe("scenario keyVaults", () => {
  it("reads the seed's demo-kv: secret versions, key, certificate format and access by identity name", () => {
    const result = parseScenarioYaml(readFileSync(SEED, "utf8"));
    if (!result.ok) throw new Error(describeScenarioProblems("seed.yaml", result.error));
    const [vault] = result.value.keyVaults;
    expect(vault?.name).toBe("demo-kv");
    expect(vault?.secrets).toEqual([
      { name: "appsecret1", versions: ["Hello from Key Vault"], contentType: undefined },
      { name: "rotating-secret", versions: ["first", "second", "third"], contentType: undefined },
    ]);
    expect(vault?.keys).toEqual(["key1"]);
    expect(vault?.certificates).toEqual([{ name: "cert1", format: "pem" }]);
    expect(vault?.access).toEqual([
      {
        identity: "demo-kv-reader",
        identityId: result.value.identities.find((i) => i.name === "demo-kv-reader")?.id,
        permissions: { secrets: ["get", "list"], keys: ["get"], certificates: ["get"] },
      },
    ]);
    // The demo pod's volume names this vault and object.
    const pod = readFileSync(fileURLToPath(new URL("../../../../examples/demo/pod.yaml", import.meta.url)), "utf8");
    expect(pod).toContain("keyvaultname: demo-kv");
    expect(pod).toContain("keyvaultobjectnames: appsecret1");
  });

  it("is optional: no keyVaults, no vaults", () => {
    expect(parsed(withVaults(undefined)).keyVaults).toEqual([]);
  });

  it.each<[string, unknown, string, RegExp]>([
    ["a vault name with an underscore", [{ name: "demo_kv" }], "keyVaults[0].name", /not a Key Vault name/],
    ["a duplicate vault (case-insensitive)", [{ name: "kv-one" }, { name: "KV-one" }], "keyVaults[1]", /duplicate vault name/],
    ["a secret with both value and versions", [{ name: "kv-one", secrets: [{ name: "s", value: "a", versions: ["b"] }] }], "keyVaults[0].secrets[0]", /exactly one of value/],
    ["a secret value that is a number", [{ name: "kv-one", secrets: [{ name: "s", value: 3 }] }], "keyVaults[0].secrets[0].value", /quote it/],
    ["an empty versions list", [{ name: "kv-one", secrets: [{ name: "s", versions: [] }] }], "keyVaults[0].secrets[0].versions", /at least one/],
    ["a certificate format other than pfx/pem", [{ name: "kv-one", certificates: [{ name: "c", format: "der" }] }], "keyVaults[0].certificates[0].format", /pfx or pem/],
    ["access for an unknown identity", [{ name: "kv-one", access: [{ identity: "id-b", secrets: ["get"] }] }], "keyVaults[0].access[0].identity", /no identity named "id-b".*known: id-a/],
    ["an unknown permission", [{ name: "kv-one", access: [{ identity: "id-a", secrets: ["purge"] }] }], "keyVaults[0].access[0].secrets[0]", /one of get, list, set/],
    ["access granting nothing", [{ name: "kv-one", access: [{ identity: "id-a" }] }], "keyVaults[0].access[0]", /grants nothing/],
    ["a certificate named like a secret", [{ name: "kv-one", secrets: [{ name: "c", value: "x" }], certificates: [{ name: "c" }] }], "keyVaults[0].certificates", /creates its own secret and key/],
    ["a misspelt field", [{ name: "kv-one", secret: [] }], "keyVaults[0].secret", /unknown field/],
  ])("refuses %s, naming the field", (_what, keyVaults, path, message) => {
    const result = parseScenario(withVaults(keyVaults));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContainEqual({ path, message: expect.stringMatching(message) as unknown as string });
  });
});

describe("startScenarioCloud with keyVaults", () => {
  it("serves the vaults: the granted identity reads the newest version, others get 403", async () => {
    const scenario = parsed(
      withVaults([
        {
          name: "kv-one",
          secrets: [{ name: "s1", versions: ["old", "new"], contentType: "text/plain" }],
          certificates: [{ name: "c1" }],
          access: [{ identity: "id-a", secrets: ["get"] }],
        },
      ]),
    );
    const cloud = await startScenarioCloud(scenario, TestCertificateAuthority.fromEnvironment());
    try {
      const kv = cloud.keyVault;
      if (kv === undefined) throw new Error("no FakeKeyVault started");
      const record = cloud.catalog.lookup(scenario.identities[0]?.id ?? "");
      const now = Math.floor(Date.now() / 1000);
      const tokenFor = (appid: string, oid: string): string =>
        encodeFakeJwt({ aud: "https://vault.azure.net", iss: `https://sts.windows.net/${scenario.tenantId}/`, appid, oid, sub: oid, tid: scenario.tenantId, iat: now, nbf: now, exp: now + 600, uti: "u", ver: "1.0" });
      const get = (path: string, bearer: string): Promise<{ status: number; body: Record<string, unknown> }> =>
        new Promise((resolve, reject) => {
          request(`https://kv-one.vault.azure.net${path}`, { agent: kv.agent(), headers: { authorization: `Bearer ${bearer}` } }, (res) => {
            let text = "";
            res.on("data", (c: Buffer) => (text += c.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
          })
            .on("error", reject)
            .end();
        });
      const reader = tokenFor(record?.clientId ?? "", record?.principalId ?? "");
      expect((await get("/secrets/s1/?api-version=7.6", reader)).body).toMatchObject({ value: "new", contentType: "text/plain" });
      expect((await get("/secrets/c1/?api-version=7.6", reader)).body).toMatchObject({ contentType: "application/x-pkcs12", managed: true });
      expect((await get("/secrets/s1/?api-version=7.6", tokenFor("someone-else", "other-oid"))).status).toBe(403);
    } finally {
      await cloud.stop();
    }
  }, 20_000);
});
