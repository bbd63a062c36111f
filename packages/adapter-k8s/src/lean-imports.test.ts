import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

/**
 * Every module URL a fresh Node process resolves while importing `specifier` (the built package, as the
 * daemons load it), recorded by a synchronous resolve hook.
 */
function modulesLoadedBy(specifier: string): readonly string[] {
  const script = `
    import { registerHooks } from "node:module";
    const seen = [];
    registerHooks({ resolve(spec, context, next) { const r = next(spec, context); seen.push(r.url); return r; } });
    await import(${JSON.stringify(specifier)});
    process.stdout.write(JSON.stringify(seen));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: PACKAGE_DIR, encoding: "utf8", timeout: 30_000 });
  return JSON.parse(out) as string[];
}

/** client-node modules that load the generated APIs/models (~90 MB of RSS) or npm undici (~20 MB). */
const HEAVY = [
  /@kubernetes\/client-node\/dist\/index\.js$/,
  /@kubernetes\/client-node\/dist\/config\.js$/,
  /@kubernetes\/client-node\/dist\/gen\//,
  /@kubernetes\/client-node\/dist\/(watch|cache|informer|serializer|api)\.js$/,
  /\/node_modules\/undici\//,
];

// docs/adr/0011-lean-kube-access.md: what the daemons may load of client-node.
describe("the package root stays lean", () => {
  const built = existsSync(new URL("../dist/index.js", import.meta.url));

  it.skipIf(!built)("loads client-node's kubeconfig and auth helpers but none of its generated APIs, models or undici", () => {
    const loaded = modulesLoadedBy("@podid/adapter-k8s");
    // The hook works and the light helpers are what is used:
    expect(loaded.some((url) => url.endsWith("/@kubernetes/client-node/dist/config_types.js"))).toBe(true);
    expect(loaded.some((url) => url.endsWith("/@kubernetes/client-node/dist/exec_auth.js"))).toBe(true);
    expect(loaded.filter((url) => HEAVY.some((pattern) => pattern.test(url)))).toEqual([]);
  });

  it.skipIf(!built)("the ./client-node subpath is where the typed client (and its weight) lives", () => {
    const loaded = modulesLoadedBy("@podid/adapter-k8s/client-node");
    expect(loaded.some((url) => /@kubernetes\/client-node\/dist\/gen\//.test(url))).toBe(true);
  });
});
