/**
 * The `keyVaults:` section of a scenario file: vaults with secrets (one value or several versions), RSA
 * keys, self-signed certificates, and access policy entries naming the scenario's identities. Field
 * reference: packages/testkit/README.md ("Scenario files").
 * @packageDocumentation
 */
import type { ScenarioIdentity, ScenarioKeyVault, ScenarioKeyVaultAccess, ScenarioKeyVaultCertificate, ScenarioKeyVaultPermissions, ScenarioKeyVaultSecret } from "./scenario.js";
import { describe, join, type Reader } from "./scenario-reader.js";

// The FakeKeyVault's name rules (Key Vault's): vaults 3–24 letters, digits, single hyphens, starting with a letter.
const VAULT_NAME_RULE = { pattern: /^(?=.{3,24}$)[a-zA-Z](-?[a-zA-Z0-9])*$/, what: "a Key Vault name (3-24 letters, digits and single hyphens, starting with a letter)" };
const OBJECT_NAME_RULE = { pattern: /^[0-9a-zA-Z-]{1,127}$/, what: "a Key Vault object name (1-127 letters, digits and hyphens)" };
const PERMISSIONS = { secrets: ["get", "list", "set"], keys: ["get", "list"], certificates: ["get", "list"] } as const;

function checkUnique(r: Reader, names: readonly { readonly name: string; readonly path: string }[], what: string): void {
  const seen = new Map<string, string>();
  for (const { name, path } of names) {
    const first = seen.get(name.toLowerCase());
    if (first !== undefined) r.problem(path, `duplicate ${what} "${name}" (also at ${first}; names are case-insensitive)`);
    else seen.set(name.toLowerCase(), path);
  }
}

/** Reads `keyVaults` (absent: none). */
export function readKeyVaults(r: Reader, value: unknown, identities: readonly ScenarioIdentity[]): ScenarioKeyVault[] {
  const vaults = r.list(value, "keyVaults").flatMap((entry, i) => {
    const path = join("keyVaults", i);
    const raw = r.object(entry, path, ["name", "secrets", "keys", "certificates", "access"]);
    if (raw === undefined) return [];
    const name = r.string(raw["name"], join(path, "name"), VAULT_NAME_RULE);
    const secrets = r.list(raw["secrets"], join(path, "secrets")).flatMap((s, j) => readSecret(r, s, join(join(path, "secrets"), j)) ?? []);
    const keys = r.list(raw["keys"], join(path, "keys")).flatMap((k, j) => r.string(k, join(join(path, "keys"), j), OBJECT_NAME_RULE) ?? []);
    const certificates = r.list(raw["certificates"], join(path, "certificates")).flatMap((c, j) => readCertificate(r, c, join(join(path, "certificates"), j)) ?? []);
    const access = r.list(raw["access"], join(path, "access")).flatMap((a, j) => readAccess(r, a, join(join(path, "access"), j), identities) ?? []);
    checkUnique(r, secrets.map((s, j) => ({ name: s.name, path: join(join(path, "secrets"), j) })), "secret name");
    checkUnique(r, keys.map((k, j) => ({ name: k, path: join(join(path, "keys"), j) })), "key name");
    checkUnique(r, certificates.map((c, j) => ({ name: c.name, path: join(join(path, "certificates"), j) })), "certificate name");
    // A certificate brings a key and a secret of its own name, as in Key Vault.
    for (const c of certificates) {
      if (secrets.some((s) => s.name.toLowerCase() === c.name.toLowerCase()) || keys.some((k) => k.toLowerCase() === c.name.toLowerCase())) {
        r.problem(join(path, "certificates"), `certificate "${c.name}" has the name of a secret or key in the same vault (a certificate creates its own secret and key)`);
      }
    }
    return name === undefined ? [] : [{ name: name.toLowerCase(), secrets, keys, certificates, access }];
  });
  checkUnique(r, vaults.map((v, i) => ({ name: v.name, path: join("keyVaults", i) })), "vault name");
  return vaults;
}

function readSecret(r: Reader, value: unknown, path: string): ScenarioKeyVaultSecret | undefined {
  const raw = r.object(value, path, ["name", "value", "versions", "contentType"]);
  if (raw === undefined) return undefined;
  const name = r.string(raw["name"], join(path, "name"), OBJECT_NAME_RULE);
  const contentType = raw["contentType"] === undefined ? undefined : r.string(raw["contentType"], join(path, "contentType"));
  if ((raw["value"] === undefined) === (raw["versions"] === undefined)) {
    r.problem(path, "needs exactly one of value (one version) or versions (a list, oldest first)");
    return undefined;
  }
  let versions: string[];
  if (raw["value"] !== undefined) {
    if (typeof raw["value"] !== "string") {
      r.problem(join(path, "value"), `must be a string, got ${describe(raw["value"])} (quote it in YAML)`);
      return undefined;
    }
    versions = [raw["value"]];
  } else {
    const list = r.list(raw["versions"], join(path, "versions"));
    if (list.length === 0) r.problem(join(path, "versions"), "needs at least one value");
    versions = list.flatMap((v, i) => {
      if (typeof v === "string") return [v];
      r.problem(join(join(path, "versions"), i), `must be a string, got ${describe(v)} (quote it in YAML)`);
      return [];
    });
    if (versions.length !== list.length || list.length === 0) return undefined;
  }
  if (name === undefined) return undefined;
  return { name, versions, contentType };
}

function readCertificate(r: Reader, value: unknown, path: string): ScenarioKeyVaultCertificate | undefined {
  const raw = r.object(value, path, ["name", "format"]);
  if (raw === undefined) return undefined;
  const name = r.string(raw["name"], join(path, "name"), OBJECT_NAME_RULE);
  const format = raw["format"] ?? "pfx";
  if (format !== "pfx" && format !== "pem") {
    r.problem(join(path, "format"), `must be pfx or pem, got ${describe(format)}`);
    return undefined;
  }
  return name === undefined ? undefined : { name, format };
}

function readAccess(r: Reader, value: unknown, path: string, identities: readonly ScenarioIdentity[]): ScenarioKeyVaultAccess | undefined {
  const raw = r.object(value, path, ["identity", "secrets", "keys", "certificates"]);
  if (raw === undefined) return undefined;
  const identityName = r.string(raw["identity"], join(path, "identity"));
  const permissions: Record<keyof ScenarioKeyVaultPermissions, string[]> = { secrets: [], keys: [], certificates: [] };
  for (const kind of ["secrets", "keys", "certificates"] as const) {
    const allowed: readonly string[] = PERMISSIONS[kind];
    permissions[kind] = r.list(raw[kind], join(path, kind)).flatMap((p, i) => {
      if (typeof p === "string" && allowed.includes(p)) return [p];
      r.problem(join(join(path, kind), i), `must be one of ${allowed.join(", ")}, got ${describe(p)}`);
      return [];
    });
  }
  if (identityName === undefined) return undefined;
  const identity = identities.find((x) => x.name.toLowerCase() === identityName.toLowerCase());
  if (identity === undefined) {
    r.problem(join(path, "identity"), `no identity named "${identityName}" under any subscription's identities (known: ${identities.map((x) => x.name).join(", ") || "none"})`);
    return undefined;
  }
  if (permissions.secrets.length + permissions.keys.length + permissions.certificates.length === 0) {
    r.problem(path, "grants nothing: list secrets, keys and/or certificates permissions (e.g. secrets: [get])");
  }
  return { identity: identity.name, identityId: identity.id, permissions: permissions as unknown as ScenarioKeyVaultPermissions };
}
