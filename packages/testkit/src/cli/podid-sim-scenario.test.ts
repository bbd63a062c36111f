/**
 * `podid-sim up --scenario` as a real process: the files it writes agree with what it serves (the CA signs
 * the fake ARM, the environment file names it, the Nodes exist with the scenario's providerIDs), and bad
 * input ends with exit code 2 and a message naming the field, never a stack trace. The run with the real
 * MIC and NMI is harness/src/sim/podid-sim-scenario.test.ts.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const NODE = join(ROOT, "node_modules", ".bin", "node");
const CLI = join(ROOT, "packages", "testkit", "dist", "cli", "podid-sim.js");
const SEED = join(ROOT, "examples", "scenarios", "seed.yaml");

let dir = "";

interface Running {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

function startCli(args: readonly string[]): Running {
  const child = spawn(NODE, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitForReady(run: Running): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!/podid-sim: ready/.test(run.output())) {
    if (Date.now() > deadline) throw new Error(`timed out; output:\n${run.output()}`);
    if (run.child.exitCode !== null) throw new Error(`exited early (${run.child.exitCode}):\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** GET over https trusting only `ca` (not the test run's CA). */
function getWithCa(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: "Bearer x" } }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("podid-sim up --scenario", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "podid-sim-scn-"));
    spawnSync(join(ROOT, "node_modules", ".bin", "tsc"), ["-b", join(ROOT, "packages", "testkit")], { cwd: ROOT, timeout: 120_000 });
    if (!existsSync(CLI)) throw new Error(`${CLI} was not built`);
  }, 130_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes kubeconfig, azure.json, environment file, CA, env file and nodes.json that match the running fakes", async () => {
    const out = join(dir, "seed");
    const run = startCli(["up", "--scenario", SEED, "--out", out]);
    try {
      await waitForReady(run);
      const env = Object.fromEntries(readFileSync(join(out, "podid-sim.env"), "utf8").trim().split("\n").map((l) => [l.split("=")[0], l.slice(l.indexOf("=") + 1)]));
      const environment = JSON.parse(readFileSync(env["AZURE_ENVIRONMENT_FILEPATH"] ?? "", "utf8")) as Record<string, string>;
      const azureJson = JSON.parse(readFileSync(join(out, "azure.json"), "utf8")) as Record<string, string>;
      expect(azureJson).toMatchObject({ cloud: "AzureStackCloud", subscriptionId: "00000000-0000-4000-8000-00000000d3e0", aadClientSecret: "sim-secret-not-real" });
      expect(run.output()).toContain(`ARM on ${(environment["resourceManagerEndpoint"] ?? "").replace(/\/$/, "")}`);
      // The written CA is the one that signed the fake ARM: a client trusting only it gets an ARM answer.
      const vmss = `${environment["resourceManagerEndpoint"]}subscriptions/00000000-0000-4000-8000-00000000d3e0/resourceGroups/MC_demo_podid_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-demo-12345678-vmss?api-version=2024-07-01`;
      const answer = await getWithCa(vmss, readFileSync(env["NODE_EXTRA_CA_CERTS"] ?? "", "utf8"));
      expect(answer.status).toBe(200);
      expect(answer.body).toMatch(/userAssignedIdentities\/aks-demo-agentpool/i);

      const nodes = JSON.parse(readFileSync(join(out, "nodes.json"), "utf8")) as { name: string; providerID: string; imds: { port: number }; nmiArgs: string[] }[];
      expect(nodes.map((n) => n.name)).toEqual(["aks-demo-12345678-vmss000000", "aks-demo-12345678-vmss000001", "aks-demo-12345678-vmss000002", "aks-legacy-12345678-0"]);
      // Scale-set nodes share their scale set's IMDS; the VM has its own.
      expect(new Set(nodes.map((n) => n.imds.port)).size).toBe(2);
      const imds = await fetch(`http://127.0.0.1:${nodes[3]?.imds.port ?? 0}/metadata/instance/compute/name?api-version=2021-02-01&format=text`, { headers: { Metadata: "true" } });
      expect(await imds.text()).toBe("aks-legacy-12345678-0");
      // The Nodes are in the apiserver with the scenario's providerIDs.
      const kubeconfig = readFileSync(env["KUBECONFIG"] ?? "", "utf8");
      const server = /server: (\S+)/.exec(kubeconfig)?.[1] ?? "";
      const node = (await (await fetch(`${server}/api/v1/nodes/aks-legacy-12345678-0`)).json()) as { spec: { providerID: string }; metadata: { labels: Record<string, string> } };
      expect(node.spec.providerID).toBe(nodes[3]?.providerID);
      expect(node.metadata.labels["kubernetes.azure.com/agentpool"]).toBe("legacy");
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
  }, 40_000);

  it("starts the seed's FakeKeyVault, prints its endpoint and writes keyvault.env that lets a child process read the secret", async () => {
    const out = join(dir, "seed-kv");
    const run = startCli(["up", "--scenario", SEED, "--out", out]);
    try {
      await waitForReady(run);
      const line = run.output().split("\n").find((l) => l.includes("Key Vault https://demo-kv.vault.azure.net")) ?? "";
      expect(line).toMatch(/served on https:\/\/127\.0\.0\.1:\d+ \(challenge tenant 72f988bf-0000-4000-8000-00000000d3e0\): secrets appsecret1, rotating-secret \[3 versions\]; keys key1; certificates cert1 \(pem\); access demo-kv-reader \(secrets get\/list; keys get; certificates get\)/);
      const kvEnv = Object.fromEntries(readFileSync(join(out, "keyvault.env"), "utf8").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
      expect(Object.keys(kvEnv).sort()).toEqual(["NODE_EXTRA_CA_CERTS", "NODE_OPTIONS", "PODID_TESTKIT_HOSTS"]);
      // The identity the scenario grants, as the fake IMDS would mint its token (unsigned fake JWT).
      const clientId = /identity demo-kv-reader: clientID (\S+),/.exec(run.output())?.[1] ?? "";
      const now = Math.floor(Date.now() / 1000);
      const claims = { aud: "https://vault.azure.net", iss: "https://sts.windows.net/72f988bf-0000-4000-8000-00000000d3e0/", appid: clientId, oid: "o", sub: "o", tid: "72f988bf-0000-4000-8000-00000000d3e0", iat: now, nbf: now, exp: now + 600, uti: "u", ver: "1.0" };
      const token = ["{}", JSON.stringify(claims), "sig"].map((p) => Buffer.from(p).toString("base64url")).join(".");
      const script = `const r = await fetch("https://demo-kv.vault.azure.net/secrets/rotating-secret/?api-version=7.6", { headers: { authorization: "Bearer ${token}" } }); console.log("KV " + r.status + " " + (await r.json()).value);`;
      const child = spawnSync(NODE, ["--input-type=module", "-e", script], { env: { PATH: process.env["PATH"] ?? "", ...kvEnv }, encoding: "utf8", timeout: 15_000 });
      expect(child.stdout.trim()).toBe("KV 200 third");
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
  }, 40_000);

  it.each([
    ["a node on an instance the scale set lacks", "subscriptions:\n  - id: 00000000-0000-4000-8000-00000000000a\n    scaleSets:\n      - {name: s, resourceGroup: g, instances: [0]}\nnodes:\n  - {name: n, scaleSet: s, instance: 4}\n", /nodes\[0\]\.instance: must be one of s's instances \(0\), got 4/],
    ["broken YAML", "subscriptions: [\n", /not valid YAML: .*line \d+/],
    ["a missing file", undefined, /cannot read scenario .*: ENOENT/],
  ])("exits 2 naming the problem for %s, without a stack trace", async (_what, text, message) => {
    const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.yaml`);
    if (text !== undefined) writeFileSync(file, text);
    const run = startCli(["up", "--scenario", file, "--out", join(dir, "bad-out")]);
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(message);
    expect(run.output()).not.toMatch(/\n\s+at /);
  });

  it("exits 2 when neither --kubeconfig nor --scenario is given", async () => {
    const run = startCli(["up"]);
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain("--kubeconfig <path> is required (or --scenario <file>)");
  });
});
