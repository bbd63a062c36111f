/**
 * `podid-sim up --scenario examples/scenarios/seed.yaml` as a user runs it, with the real deployables
 * pointed at it only through what it printed and wrote: MIC runs with the printed command line and an
 * environment made of nothing but PATH, HOME and the env file (so a missing variable — the CA, the
 * custom-cloud file — fails the test), attaches the demo identity to the right scale set through the fake
 * ARM (after the seed's injected 429), and NMI, started with its line from nodes.json, hands the pod a token.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, type KubernetesObject } from "@kubernetes/client-node";
import { decodeFakeJwt, freePort } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const NODE = join(ROOT, "node_modules/.bin/node");
const SIM = join(ROOT, "packages/testkit/dist/cli/podid-sim.js");
const MIC = join(ROOT, "packages/mic-runner/dist/main.js");
const NMI = join(ROOT, "packages/nmi-server/dist/main.js");
const SEED = join(ROOT, "examples/scenarios/seed.yaml");
const POD_NODE = "aks-demo-12345678-vmss000001";
const POD_IP = "127.0.0.12";
const AAI = "demo-app-default-demo-kv-reader";
const STEP_MS = 30_000;

interface Proc {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

const started: Proc[] = [];
let dir = "";

function run(script: string, args: readonly string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(NODE, [script, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-200_000)));
  child.stderr?.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-200_000)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const proc = { child, output: () => out, exited };
  started.push(proc);
  return proc;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, logs: () => string): Promise<T> {
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // Not yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; output:\n${logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Replaces `--flag=…` in `args` (or appends it). */
function withFlag(args: readonly string[], flag: string, value: string | number): string[] {
  return [...args.filter((a) => !a.startsWith(`${flag}=`)), `${flag}=${value}`];
}

function tokenFromPod(nmiPort: number, clientId: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: nmiPort,
        localAddress: POD_IP,
        path: `/metadata/identity/oauth2/token?api-version=2018-02-01&resource=${encodeURIComponent("https://vault.azure.net")}&client_id=${clientId}`,
        headers: { Metadata: "true" },
        timeout: 20_000,
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("podid-sim up --scenario with the real podid-mic and podid-nmi", () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "podid-sim-scenario-"));
    // Only the three packages this test runs (and their dependencies), so unrelated work in progress cannot break it.
    spawnSync(join(ROOT, "node_modules/.bin/tsc"), ["-b", "packages/testkit", "packages/mic-runner", "packages/nmi-server"], { cwd: ROOT, timeout: 240_000 });
    for (const file of [SIM, MIC, NMI]) if (!existsSync(file)) throw new Error(`${file} was not built`);
  }, 250_000);

  afterAll(async () => {
    for (const proc of started.reverse()) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill("SIGKILL");
      await proc.exited;
    }
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("MIC assigns the demo identity on the right scale set after ARM's 429, and NMI gives the pod its token", async () => {
    const out = join(dir, "out");
    const sim = run(SIM, ["up", "--scenario", SEED, "--out", out], { PATH: process.env["PATH"] ?? "" });
    await until("podid-sim to be ready", () => (/podid-sim: ready/.test(sim.output()) ? true : undefined), sim.output);

    // The environment the daemons get: the env file, nothing inherited from this test process (whose
    // NODE_EXTRA_CA_CERTS names the test run's CA, not the simulation's).
    const envFile = Object.fromEntries(
      readFileSync(join(out, "podid-sim.env"), "utf8")
        .trim()
        .split("\n")
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const),
    );
    expect(Object.keys(envFile).sort()).toEqual(["AZURE_ENVIRONMENT_FILEPATH", "KUBECONFIG", "NODE_EXTRA_CA_CERTS"]);
    const daemonEnv = { PATH: process.env["PATH"] ?? "", HOME: dir, ...envFile };

    const micLine = /podid-sim: run MIC: .* npx podid-mic (.*)$/m.exec(sim.output())?.[1];
    if (micLine === undefined) throw new Error(`no MIC command line printed:\n${sim.output()}`);
    const micProbe = await freePort();
    const micArgs = withFlag(withFlag(micLine.split(" "), "--http-probe-port", micProbe), "--prometheus-port", await freePort());
    const mic = run(MIC, micArgs, daemonEnv);
    await until("MIC to lead", async () => ((await (await fetch(`http://127.0.0.1:${micProbe}/healthz`)).text()).trim() === "Active" ? true : undefined), mic.output);

    const kc = new KubeConfig();
    kc.loadFromFile(envFile["KUBECONFIG"] ?? "");
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).toContain(POD_NODE);
    for (const file of ["identity.yaml", "binding.yaml", "pod.yaml"]) {
      for (const doc of parseAllDocuments(readFileSync(join(ROOT, "examples/demo", file), "utf8"))) await objects.create(doc.toJSON() as KubernetesObject);
    }
    // This cluster has no scheduler or kubelet: the test places the pod and reports it running.
    const pod = await core.readNamespacedPod({ name: "demo-app", namespace: "default" });
    pod.spec = { ...(pod.spec ?? { containers: [] }), nodeName: POD_NODE };
    const placed = await core.replaceNamespacedPod({ name: "demo-app", namespace: "default", body: pod });
    placed.status = { phase: "Running", podIP: POD_IP, podIPs: [{ ip: POD_IP }] };
    await core.replaceNamespacedPodStatus({ name: "demo-app", namespace: "default", body: placed });

    const status = async () =>
      ((await custom.getNamespacedCustomObject({ group: "aadpodidentity.k8s.io", version: "v1", namespace: "default", plural: "azureassignedidentities", name: AAI })) as { status?: { status?: string } }).status?.status;
    await until("the AzureAssignedIdentity to be Assigned", async () => ((await status()) === "Assigned" ? true : undefined), () => sim.output() + mic.output());

    // The fake ARM, as podid-sim printed it: the scenario's 429 on the first scale-set PATCH, then the retry.
    const vmssPath = "/subscriptions/00000000-0000-4000-8000-00000000d3e0/resourceGroups/MC_demo_podid_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-demo-12345678-vmss";
    const patches = sim.output().split("\n").filter((l) => l.includes("ARM PATCH"));
    expect(patches[0]).toContain(`ARM PATCH ${vmssPath}`);
    expect(patches[0]).toMatch(/→ 429 TooManyRequests$/);
    expect(patches.slice(1).some((l) => l.includes(vmssPath) && / → 20[0-2]$/.test(l))).toBe(true);
    expect(patches.some((l) => l.includes("virtualMachines/aks-legacy"))).toBe(false);

    // NMI for the pod's node, with its command line from nodes.json (ports moved to free ones).
    const nodes = JSON.parse(readFileSync(join(out, "nodes.json"), "utf8")) as { name: string; nmiArgs: string[] }[];
    const nmiPort = await freePort();
    const nmiProbe = await freePort();
    let nmiArgs = nodes.find((n) => n.name === POD_NODE)?.nmiArgs ?? [];
    nmiArgs = withFlag(withFlag(withFlag(nmiArgs, "--nmi-port", nmiPort), "--http-probe-port", nmiProbe), "--prometheus-port", await freePort());
    const nmi = run(NMI, nmiArgs, daemonEnv);
    await until("NMI to be ready", async () => ((await fetch(`http://127.0.0.1:${nmiProbe}/readyz`)).ok ? true : undefined), nmi.output);
    const token = await until("a token for the pod", async () => {
      const answer = await tokenFromPod(nmiPort, "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11");
      return answer.status === 200 ? answer : undefined;
    }, nmi.output);
    const claims = decodeFakeJwt(String(token.body["access_token"]));
    expect(claims.xms_mirid).toMatch(/\/userAssignedIdentities\/demo-kv-reader$/);
    expect(claims.appid).toBe("6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11");

    for (const proc of [nmi, mic]) proc.child.kill("SIGTERM");
    sim.child.kill("SIGINT");
    expect(await sim.exited).toBe(0);
    expect(sim.output()).toContain("podid-sim: stopped");
  }, 120_000);
});
