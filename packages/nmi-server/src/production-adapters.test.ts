import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * What the deployable's adapters load, seen from a fresh Node process with a module resolve hook on the
 * built modules (what the image runs; `npm test` builds first): the token path needs IMDS only, so neither
 * ARM client nor `@azure/identity`/MSAL may be in NMI's memory until a service principal needs a token.
 */
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

const PROBE = `
import { registerHooks } from "node:module";
const packages = new Set();
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); const m = /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(r.url); if (m) packages.add(m[1]); const w = /[/]packages[/]([^/]+)[/]dist[/]/.exec(r.url); if (w) packages.add("@podid/" + w[1]); return r; } });
await import("./dist/production-adapters.js");
await import("./dist/run-nmi.js");
process.stdout.write(JSON.stringify([...packages].sort()));
`;

describe("productionAdapters imports", () => {
  it("load no ARM client, no @azure/identity and no MSAL", () => {
    const loaded = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", PROBE], { cwd: PACKAGE_DIR, encoding: "utf8", timeout: 60_000 })) as string[];
    expect(loaded).toContain("@podid/adapter-azure");
    expect(loaded.filter((name) => /^@azure\/(arm-compute|arm-msi|identity|msal-node|msal-common)$/.test(name))).toEqual([]);
  });
});
