import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SEED_KEY_VAULT_FLEXVOLUME_OPTIONS } from "@podid/testkit";
import { DEFAULT_NMI_PORT, parseGoBool, parseMountOptions, parseOptionsJson, resolveNmiPort } from "./mount-options.js";

/** The volume options of the seed pod manifest (examples/demo/pod.yaml) plus what kubelet adds on mount. */
const SEED: Readonly<Record<string, string>> = {
  ...SEED_KEY_VAULT_FLEXVOLUME_OPTIONS,
  "kubernetes.io/pod.name": "demo-app",
  "kubernetes.io/pod.namespace": "default",
  "kubernetes.io/pod.uid": "0b6c3e43-4e1e-4f9c-9a3b-6a1f0d2c9e11",
  "kubernetes.io/serviceAccount.name": "default",
  "kubernetes.io/fsType": "",
  "kubernetes.io/readwrite": "ro",
};

function parse(options: Readonly<Record<string, string>>, env: { PODID_NMI_PORT?: string } = {}) {
  return parseMountOptions(options, env);
}

function without(key: string): Record<string, string> {
  const copy = { ...SEED };
  delete copy[key];
  return copy;
}

describe("parseMountOptions", () => {
  it("accepts the seed manifest's options in pod identity mode on NMI's default port", () => {
    const result = parse(SEED);
    expect(result).toEqual({
      ok: true,
      value: {
        vaultName: "demo-kv",
        tenantId: "72f988bf-0000-4000-8000-00000000d3e0",
        cloud: { name: "AzurePublicCloud", keyVaultResource: "https://vault.azure.net", keyVaultDnsSuffix: "vault.azure.net" },
        objects: [{ name: "appsecret1", type: "secret", version: "", fileName: "appsecret1" }],
        auth: { mode: "podIdentity", podName: "demo-app", podNamespace: "default", nmiPort: DEFAULT_NMI_PORT },
        podUid: "0b6c3e43-4e1e-4f9c-9a3b-6a1f0d2c9e11",
        unrecognised: [],
      },
    });
  });

  it.each([
    ["tenantid", /"tenantid" is required/],
    ["keyvaultname", /"keyvaultname" is required/],
    ["keyvaultobjectnames", /"keyvaultobjectnames" is required/],
    ["keyvaultobjecttypes", /"keyvaultobjecttypes" is required/],
    ["kubernetes.io/pod.name", /needs the pod's name and namespace/],
    ["kubernetes.io/pod.namespace", /needs the pod's name and namespace/],
  ])("a mount without %s fails naming it", (key, message) => {
    const result = parse(without(key));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });

  it("reads the legacy singular keys", () => {
    const legacy = { ...without("keyvaultobjectnames"), keyvaultobjectname: "a;b", keyvaultobjecttype: "secret;key", keyvaultobjectversion: ";0123456789abcdef0123456789abcdef" };
    delete (legacy as Record<string, string>)["keyvaultobjecttypes"];
    const result = parse(legacy);
    expect(result.ok && result.value.objects).toEqual([
      { name: "a", type: "secret", version: "", fileName: "a" },
      { name: "b", type: "key", version: "0123456789abcdef0123456789abcdef", fileName: "b" },
    ]);
  });

  it("uses aliases as file names and picks the cloud by name, case-insensitively", () => {
    const result = parse({ ...SEED, keyvaultobjectnames: "s1;k1;c1", keyvaultobjecttypes: "secret;key;cert", keyvaultobjectaliases: "db-password;;tls.cer", cloudname: "azurechinacloud" });
    expect(result.ok && result.value.objects.map((o) => o.fileName)).toEqual(["db-password", "k1", "tls.cer"]);
    expect(result.ok && result.value.cloud.keyVaultDnsSuffix).toBe("vault.azure.cn");
  });

  it.each([
    [{ keyvaultname: "ab" }, /3-24 letters/],
    [{ keyvaultname: "my_vault" }, /3-24 letters/],
    [{ keyvaultobjecttypes: "password" }, /entry 1 is 'password'|entry 1 is "password"/],
    [{ keyvaultobjectnames: "a;b" }, /has 1 entries but keyvaultobjectnames has 2/],
    [{ keyvaultobjectnames: "a;;b", keyvaultobjecttypes: "secret;secret;secret" }, /entry 2 is empty/],
    [{ keyvaultobjectaliases: "../etc/passwd" }, /path separator/],
    [{ keyvaultobjectaliases: ".." }, /not a file name/],
    [{ keyvaultobjectnames: "a;b", keyvaultobjecttypes: "secret;key", keyvaultobjectaliases: "same;same" }, /objects 1 and 2 would both be written/],
    [{ keyvaultobjectversions: "not/a/version" }, /not a Key Vault version id/],
    [{ keyvaultobjectversions: "v1;v2" }, /"keyvaultobjectversions" has 2 entries/],
    [{ cloudname: "AzureMarsCloud" }, /podid-kv knows AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud/],
    [{ nmiport: "70000" }, /"nmiport" must be a TCP port/],
    [{ usepodidentity: "yes" }, /"usepodidentity" must be "true" or "false"/],
    [{ keyVaultName: "demo-kv" }, /must be written in lower case: "keyvaultname"/],
  ])("refuses %j with a clear message", (change, message) => {
    const result = parse({ ...SEED, ...change });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });

  it("takes the NMI port from nmiport, else PODID_NMI_PORT, else 2579", () => {
    const port = (options: Record<string, string>, env: { PODID_NMI_PORT?: string }) => {
      const result = parse(options, env);
      return result.ok && result.value.auth.mode === "podIdentity" ? result.value.auth.nmiPort : result;
    };
    expect(port({ ...SEED, nmiport: "3001" }, { PODID_NMI_PORT: "4001" })).toBe(3001);
    expect(port(SEED, { PODID_NMI_PORT: "4001" })).toBe(4001);
    expect(port(SEED, {})).toBe(2579);
    expect(port(SEED, { PODID_NMI_PORT: "x" })).toMatchObject({ ok: false, error: expect.stringMatching(/PODID_NMI_PORT must be a TCP port/) });
  });

  it("without usepodidentity wants the secretRef's clientid and clientsecret (service-principal mode)", () => {
    const sp = without("usepodidentity");
    expect(parse(sp)).toMatchObject({ ok: false, error: expect.stringMatching(/needs a secretRef Secret with the keys clientid and clientsecret/) });
    const withSecret = { ...sp, "kubernetes.io/secret/clientid": Buffer.from("app-id").toString("base64"), "kubernetes.io/secret/clientsecret": Buffer.from("s3cret\n").toString("base64") };
    expect(parse(withSecret)).toMatchObject({ ok: true, value: { auth: { mode: "servicePrincipal", clientId: "app-id", clientSecret: "s3cret" } } });
    expect(parse({ ...withSecret, "kubernetes.io/secret/clientid": "%%%" })).toMatchObject({ ok: false, error: expect.stringMatching(/clientid is not base64/) });
  });

  it("lists unknown options (not kubelet's) so the driver can warn, and accepts resourcegroup/subscriptionid silently", () => {
    const result = parse({ ...SEED, "kubernetes.io/fsGroup": "2000", colour: "blue" });
    expect(result.ok && result.value.unrecognised).toEqual(["colour"]);
  });

  it("property: any valid object list round-trips into one object per name, files unique, in order", () => {
    const name = fc.stringMatching(/^[0-9A-Za-z-]{1,20}$/);
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 8 }), fc.array(fc.constantFrom("secret", "key", "cert"), { minLength: 8, maxLength: 8 }), (names, allTypes) => {
        const types = allTypes.slice(0, names.length);
        const result = parse({ ...SEED, keyvaultobjectnames: names.join(";"), keyvaultobjecttypes: types.join(" ; ") });
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.value.objects.map((o) => [o.name, o.type, o.fileName])).toEqual(names.map((n, i) => [n, types[i], n]));
      }),
    );
  });

  it("property: any mismatch between names and types is refused, never accepted or thrown", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), (n, t) => {
        fc.pre(n !== t);
        const result = parse({ ...SEED, keyvaultobjectnames: Array.from({ length: n }, (_, i) => `o${i}`).join(";"), keyvaultobjecttypes: Array(t).fill("secret").join(";") });
        expect(result.ok).toBe(false);
      }),
    );
  });

  it("property: arbitrary option maps give a result, never a throw; a success always names a valid vault and at least one object", () => {
    const key = fc.oneof(fc.constantFrom(...Object.keys(SEED), "keyvaultobjectaliases", "keyvaultobjectversions", "cloudname", "nmiport", "usevmmanagedidentity"), fc.string());
    fc.assert(
      fc.property(fc.dictionary(key, fc.oneof(fc.string(), fc.constantFrom("true", "secret", "a;b", "demo-kv", "2579"))), fc.record({ base: fc.boolean() }), (extra, { base }) => {
        const result = parse(base ? { ...SEED, ...extra } : extra);
        if (result.ok) {
          expect(result.value.vaultName).toMatch(/^[-a-zA-Z0-9]{3,24}$/);
          expect(result.value.objects.length).toBeGreaterThan(0);
        } else {
          expect(result.error.length).toBeGreaterThan(0);
        }
      }),
    );
  });
});

describe("parseOptionsJson", () => {
  it.each([
    ["not json", /not JSON/],
    ["[]", /JSON object of strings/],
    ["null", /JSON object of strings/],
    [`{"nmiport": 2579}`, /"nmiport" must be a string, got number/],
  ])("refuses %s", (json, message) => {
    expect(parseOptionsJson(json)).toMatchObject({ ok: false, error: expect.stringMatching(message) });
  });

  it("property: any JSON object of strings comes back as it was", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string()), (options) => {
        expect(parseOptionsJson(JSON.stringify(options))).toEqual({ ok: true, value: options });
      }),
    );
  });
});

describe("small parsers", () => {
  it("parseGoBool accepts Go's spellings only", () => {
    expect(["1", "t", "T", "true", "TRUE", "True"].map(parseGoBool)).toEqual(Array(6).fill(true));
    expect(["0", "f", "F", "false", "FALSE", "False"].map(parseGoBool)).toEqual(Array(6).fill(false));
    expect(["yes", "", "tRUE"].map(parseGoBool)).toEqual([undefined, undefined, undefined]);
  });

  it("property: resolveNmiPort accepts exactly 1-65535", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 70000 }), (port) => {
        const result = resolveNmiPort(String(port), undefined);
        expect(result.ok).toBe(port >= 1 && port <= 65535);
      }),
    );
  });
});
