import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * What `@podid/adapter-azure/token-source` loads, seen from a fresh Node process with a module resolve hook
 * (the built entry point, as NMI loads it): no ARM client and no `@azure/identity`/MSAL until a service
 * principal actually needs a token — then `@azure/identity` is loaded, once.
 */
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

const PROBE = `
import { registerHooks } from "node:module";
const loaded = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.add(r.url); return r; } });
const heavy = () => [...loaded].filter((u) => /@azure[+/](identity|arm-compute|arm-msi)|@azure[+/]msal|@peculiar|asn1js/.test(u)).map((u) => u.replace(/^.*node_modules\\//, "").split("/").slice(0, 2).join("/"));
const { AzureTokenSource } = await import("@podid/adapter-azure/token-source");
const source = new AzureTokenSource({ imds: { endpoint: "http://127.0.0.1:9" }, defaultAuthorityHost: "https://127.0.0.1:9", aadRetry: { maxRetries: 0 } });
const atStart = heavy();
await source.acquire({ kind: "managedIdentity", resource: "https://vault.azure.net", clientId: "00000000-0000-4000-8000-000000000001" });
const afterManaged = heavy();
const secret = await source.acquire({ kind: "servicePrincipalSecret", resource: "https://vault.azure.net", tenantId: "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4", clientId: "00000000-0000-4000-8000-000000000002", secret: "s", auxiliaryTenantIds: [], authorityHost: "" });
const insecure = await source.acquire({ kind: "servicePrincipalSecret", resource: "https://vault.azure.net", tenantId: "5e6f7081-92a3-4b4c-8d5e-6f708192a3b4", clientId: "00000000-0000-4000-8000-000000000003", secret: "s", auxiliaryTenantIds: [], authorityHost: "http://127.0.0.1:9" });
process.stdout.write(JSON.stringify({ atStart, afterManaged, afterSecret: [...new Set(heavy())], secretOk: secret.ok, insecure }));
`;

describe("@podid/adapter-azure/token-source", () => {
  it("loads no ARM client and no @azure/identity until a service-principal request needs it", () => {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", PROBE], { cwd: PACKAGE_DIR, encoding: "utf8", timeout: 60_000 });
    const result = JSON.parse(out) as { atStart: string[]; afterManaged: string[]; afterSecret: string[]; secretOk: boolean; insecure: { ok: boolean } };
    expect(result.atStart).toEqual([]);
    expect(result.afterManaged).toEqual([]);
    // The request itself fails (nothing listens on port 9); what matters is that it loaded @azure/identity then.
    expect(result.secretOk).toBe(false);
    expect(result.afterSecret).toContain("@azure/identity");
    expect(result.afterSecret.some((m) => m.startsWith("@azure/arm-"))).toBe(false);
    // The SDK's constructor refuses an http:// authority: a typed error for that request, not a crashed process.
    expect(result.insecure.ok).toBe(false);
  });
});
