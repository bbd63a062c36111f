/**
 * The packages as a user gets them: `scripts/pack.mjs` packs every publishable package, `npm install` puts the
 * tarballs into a new project outside the repository (`--prefer-offline`: npm's cache serves what the
 * repository's own install fetched), and from there:
 *
 * - the README's "Using @podid/core from your own controller" example runs as the README shows it (the code
 *   block is read from README.md, with the objects and ports it leaves to the reader built from testkit's
 *   fakes around it) and attaches the identity;
 * - every bin answers `--version`;
 * - `podid-sim up` starts the embedded cluster with the CRDs the package ships, objects are created over its
 *   HTTP API, and the installed `podid explain` explains a pod in it (exit 0, then 2 for a label typo);
 * - `npx podid-sim demo` runs the installed `podid-mic`, a `podid-nmi` per node and the `podid-kv` FlexVolume
 *   driver (optional peers of testkit, found at run time) through the whole timeline, with the demo manifests
 *   the package ships, and ends with the pod's Key Vault secret and the JSON summary;
 * - nothing installed carries a source-map reference or the `@podid/source` condition.
 *
 * Node 22: the project's own (`node_modules/.bin` first on PATH), as the README tells newcomers.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/**
 * The environment of a user's shell: no `npm_*` variables from the npm (or npx) that started vitest, and not
 * the test CA the vitest global setup puts in NODE_EXTRA_CA_CERTS (npm would then trust only it and fail to
 * reach the registry for anything its cache lacks); the system bundle instead, when there is one.
 */
const ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== "NODE_EXTRA_CA_CERTS")),
  ...(process.env["SSL_CERT_FILE"] === undefined ? {} : { NODE_EXTRA_CA_CERTS: process.env["SSL_CERT_FILE"] }),
  PATH: `${join(ROOT, "node_modules", ".bin")}${delimiter}${process.env["PATH"] ?? ""}`,
  npm_config_update_notifier: "false",
  npm_config_fund: "false",
};

let work = "";
let project = "";
let sim: ChildProcess | undefined;

function run(command: string, args: readonly string[], options: { cwd?: string; timeout?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { cwd: options.cwd ?? project, env: ENV, timeout: options.timeout ?? 60_000, encoding: "utf8", maxBuffer: 32 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }),
    );
  });
}

/** The README's example, as it stands there. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.split("\n## Using @podid/core from your own controller\n")[1] ?? "";
  const block = /```ts\n([\s\S]*?)```/.exec(section.split("\n## ")[0] ?? "")?.[1];
  if (block === undefined) throw new Error('README.md has no ts block under "Using @podid/core from your own controller"');
  return block;
}

/** What the README's example leaves to the reader: raw objects as the API server returns them, and ports. */
const EXAMPLE_PRELUDE = `
import * as podidCore from "@podid/core";
import { FakeCluster, FakeCompute, RecordingEventRecorder } from "@podid/testkit";

function parsed(result) {
  if (!result.ok) throw new Error(podidCore.describeValidationError(result.error));
  return result.value;
}
const SCALE_SET = { kind: "vmss", subscriptionId: "00000000-0000-4000-8000-0000000000aa", resourceGroup: "rg-nodes", name: "pool-vmss" };
const rawIdentityJson = {
  apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentity", metadata: { name: "kv-reader", namespace: "default", uid: "uid-identity" },
  spec: { type: 0, ResourceID: "/subscriptions/00000000-0000-4000-8000-0000000000aa/resourceGroups/rg-ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kv-reader", ClientID: "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11" },
};
const identities = [parsed(podidCore.parseAzureIdentity(rawIdentityJson))];
const bindings = [parsed(podidCore.parseAzureIdentityBinding({
  apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentityBinding", metadata: { name: "kv-reader-binding", namespace: "default", uid: "uid-binding" },
  spec: { AzureIdentity: "kv-reader", Selector: "kv" },
}))];
const pods = [parsed(podidCore.parsePod({
  apiVersion: "v1", kind: "Pod", metadata: { name: "app", namespace: "default", uid: "uid-pod", labels: { aadpodidbinding: "kv" } },
  spec: { nodeName: "pool-vmss000000", containers: [{ name: "app", image: "app" }] }, status: { phase: "Running", podIP: "10.244.0.7" },
}))];
const nodes = [parsed(podidCore.parseNode({
  apiVersion: "v1", kind: "Node", metadata: { name: "pool-vmss000000", uid: "uid-node" },
  spec: { providerID: "azure:///subscriptions/" + SCALE_SET.subscriptionId + "/resourceGroups/" + SCALE_SET.resourceGroup + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + SCALE_SET.name + "/virtualMachines/0" },
}))];
const assignedIdentities = [];
const writer = new FakeCluster();
const compute = new FakeCompute();
compute.add(SCALE_SET, { systemAssigned: true });
const events = new RecordingEventRecorder();
`;

const EXAMPLE_EPILOGUE = `
console.log(JSON.stringify({
  creates: plan.creates.length,
  attached: compute.identitiesOf(SCALE_SET)?.userAssignedKeys ?? [],
  objects: writer.list("azureassignedidentities").map((a) => a.metadata.namespace + "/" + a.metadata.name + " " + a.status),
}));
`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

beforeAll(async () => {
  // The tarballs hold dist/: build it (a no-op after npm test's build).
  spawnSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-b"], { cwd: ROOT, timeout: 240_000 });
  work = mkdtempSync(join(tmpdir(), "podid-packed-"));
  project = join(work, "project");
  mkdirSync(project);
  const packed = await run(process.execPath, [join(ROOT, "scripts", "pack.mjs"), "--out", join(work, "tarballs"), "--json"], { cwd: ROOT, timeout: 150_000 });
  if (packed.code !== 0) throw new Error(`pack.mjs failed: ${packed.stderr}`);
  // Each package from its tarball, also where another package depends on it (overrides): npm never asks the
  // registry for an @podid package, which is not published yet.
  const tarballs = Object.fromEntries((JSON.parse(packed.stdout) as { name: string; tarball: string }[]).map((p) => [p.name, `file:${p.tarball}`]));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "podid-packed-install-check", private: true, type: "module", dependencies: tarballs, overrides: tarballs }, null, 2));
  const installed = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], { timeout: 240_000 });
  if (installed.code !== 0) throw new Error(`npm install of the tarballs failed:\n${installed.stderr}`);
}, 480_000);

afterAll(() => {
  if (sim !== undefined && sim.exitCode === null && sim.signalCode === null) sim.kill("SIGKILL");
  if (work !== "") rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("the packed packages, installed outside the repository", () => {
  it("ship no sources, source maps, source-map references or @podid/source condition", () => {
    const files = filesUnder(join(project, "node_modules", "@podid"));
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((f) => /\/src\/|\.map$|\.tsbuildinfo$/.test(f))).toEqual([]);
    expect(files.filter((f) => /\.(js|mjs|d\.ts)$/.test(f) && readFileSync(f, "utf8").includes("sourceMappingURL="))).toEqual([]);
    expect(files.filter((f) => f.endsWith("package.json") && readFileSync(f, "utf8").includes("@podid/source"))).toEqual([]);
  });

  it("run the README's @podid/core example: one AzureAssignedIdentity, the identity attached to the scale set", async () => {
    writeFileSync(join(project, "readme-example.ts"), `${EXAMPLE_PRELUDE}\n${readmeExample()}\n${EXAMPLE_EPILOGUE}`);
    const result = await run("node", ["readme-example.ts"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      creates: 1,
      attached: ["/subscriptions/00000000-0000-4000-8000-0000000000aa/resourcegroups/rg-ids/providers/microsoft.managedidentity/userassignedidentities/kv-reader"],
      objects: ["default/app-default-kv-reader Assigned"],
    });
  });

  it.each([
    ["podid", /^podid 0\.1\.0\n$/],
    ["kubectl-podid", /^podid 0\.1\.0\n$/],
    ["podid-mic", /^podid-mic 0\.1\.0\b/],
    ["podid-nmi", /^podid-nmi 0\.1\.0\b/],
    ["podid-kv", /^podid-kv 0\.1\.0\b/],
  ])("bin %s --version", async (bin, expected) => {
    const result = await run(join(project, "node_modules", ".bin", bin), ["--version"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(expected);
  });

  it("podid-sim up serves the shipped CRDs; the installed podid explains a pod in it", async () => {
    const kubeconfig = join(work, "kubeconfig");
    const child = spawn(join(project, "node_modules", ".bin", "podid-sim"), ["up", "--kubeconfig", kubeconfig], { cwd: project, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
    sim = child;
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (!output.includes("podid-sim: ready") && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(output).toContain("customresourcedefinition/azureidentities.aadpodidentity.k8s.io created");
    expect(output).toContain("podid-sim: ready");
    const server = /server: (\S+)/.exec(readFileSync(kubeconfig, "utf8"))?.[1] ?? "";
    const create = async (path: string, body: object) => {
      const response = await fetch(`${server}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(response.status, `${path}: ${await response.clone().text()}`).toBe(201);
    };
    const crd = "/apis/aadpodidentity.k8s.io/v1/namespaces/default";
    await create(`${crd}/azureidentities`, {
      apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentity", metadata: { name: "kv-reader", namespace: "default" },
      spec: { type: 0, resourceID: "/subscriptions/00000000-0000-4000-8000-0000000000aa/resourceGroups/rg-ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kv-reader", clientID: "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11" },
    });
    await create(`${crd}/azureidentitybindings`, { apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentityBinding", metadata: { name: "kv-reader-binding", namespace: "default" }, spec: { azureIdentity: "kv-reader", selector: "kv-access" } });
    for (const [name, label] of [["app", "kv-access"], ["typo", "kv-acess"]] as const) {
      await create("/api/v1/namespaces/default/pods", { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", labels: { aadpodidbinding: label } }, spec: { containers: [{ name: "app", image: "app" }] } });
    }
    const listed = (await (await fetch(`${server}${crd}/azureidentities`)).json()) as { items: { metadata: { name: string } }[] };
    expect(listed.items.map((i) => i.metadata.name)).toEqual(["kv-reader"]);

    const podid = join(project, "node_modules", ".bin", "podid");
    const waiting = await run(podid, ["explain", "pod", "app", "-n", "default", "--kubeconfig", kubeconfig, "-o", "json"]);
    expect(waiting.code, waiting.stderr).toBe(0);
    expect((JSON.parse(waiting.stdout) as { verdicts: { kind: string }[] }).verdicts.map((v) => v.kind)).toEqual(["not scheduled"]);
    const typo = await run(podid, ["explain", "pod", "typo", "-n", "default", "--kubeconfig", kubeconfig]);
    expect(typo.stdout).toContain("label typo");
    expect(typo.code).toBe(2);

    child.kill("SIGTERM");
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (c) => resolve(c))));
    expect(code).toBe(0);
  }, 90_000);

  it("npx podid-sim demo runs the installed MIC, NMIs and podid-kv: Created → PATCH → Assigned, the Key Vault secret, a token, then detach", async () => {
    // `--no`: npx must use the installed bin, never fetch one.
    const result = await run("npx", ["--no", "podid-sim", "demo", "--kubeconfig", join(work, "demo.kubeconfig"), "--patch-latency-ms", "300"], { timeout: 110_000 });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain("MIC started and holds the leader Lease");
    expect(result.stdout).toContain("applied examples/demo/identity.yaml: AzureIdentity demo-kv-reader");
    expect(result.stdout).toContain("AzureAssignedIdentity default/demo-app-default-demo-kv-reader: Created");
    expect(result.stdout).toContain("AzureAssignedIdentity default/demo-app-default-demo-kv-reader: Assigned");
    expect(result.stdout).toMatch(/xms_mirid\s+\/subscriptions\/[^\n]*\/userAssignedIdentities\/demo-kv-reader/);
    expect(result.stdout).toContain("identity detached from aks-demo-12345678-vmss");
    expect(result.stdout).toContain("demo finished");
    expect(result.stdout).toMatch(/pod reads \/secret1\/appsecret1 [^\n]*\n\s+Hello from Key Vault: this is appsecret1 of demo-kv\n/);
    const summary = JSON.parse(result.stdout.trimEnd().split("\n").at(-1) ?? "") as Record<string, unknown>;
    expect(summary).toMatchObject({ scenario: "seed", armPatches: 1, secretFile: "/secret1/appsecret1", secretMatchesKeyVault: true });
  }, 120_000);
});
