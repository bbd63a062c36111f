import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { KubeletServiceAccountTokenReader } from "@podid/adapter-k8s";
import { decodeFakeJwt, FakeCluster, FakeIdentityCatalog, FakeNetfilter, FakeTokenSource, identityArmId, makeAssigned, VirtualClock } from "@podid/testkit";
import { defineNmiConfig, interceptionSpecFrom, type NmiConfig } from "./config/nmi-config.js";
import { silentPino, type DaemonProcessIo } from "@podid/daemon-shell";
import { runNmi } from "./run-nmi.js";
import { bindPod, makeBinding, makeIdentity, makePod, TEST_NODE, tokenUrl } from "@podid/testkit";
import { RecordingForwarder } from "./test-support/nmi-harness.js";
import { composeNmi, type NmiAdapters, type NmiAddresses, type NmiRuntime } from "./compose-nmi.js";

const dir = mkdtempSync(join(tmpdir(), "podid-compose-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config: NmiConfig = defineNmiConfig({
  nodeName: TEST_NODE,
  port: 0,
  probePort: 0,
  prometheusPort: 0,
  probeListenAddress: "127.0.0.1",
  iptUpdateIntervalSec: 60,
  shutdownTimeoutSec: 5,
});

interface World {
  readonly cluster: FakeCluster;
  readonly tokens: FakeTokenSource;
  readonly netfilter: FakeNetfilter;
  readonly clock: VirtualClock;
  readonly adapters: NmiAdapters;
}

function world(): World {
  const clock = new VirtualClock();
  const cluster = new FakeCluster({ clock });
  const tokens = new FakeTokenSource({ clock });
  const netfilter = new FakeNetfilter();
  const adapters: NmiAdapters = {
    kubeReader: () => cluster,
    tokenSource: () => tokens,
    netfilter: () => netfilter,
    clock,
    forwarder: () => new RecordingForwarder(),
  };
  return { cluster, tokens, netfilter, clock, adapters };
}

let runtime: NmiRuntime | undefined;
afterEach(async () => {
  await runtime?.stop("test over");
  runtime = undefined;
});

async function get(address: { port: number }, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${address.port}${path}`, { headers });
  return { status: res.status, body: await res.text() };
}

describe("composeNmi", () => {
  it("starts probes, caches, token server and interception in order, and serves tokens over HTTP", async () => {
    const w = world();
    bindPod(w, { pod: "loop", ip: "127.0.0.1", identity: "id-a" });
    runtime = composeNmi(config, w.adapters, { pino: silentPino() });
    const addresses: NmiAddresses = await runtime.start();
    expect(addresses.metrics).toBeDefined();
    const spec = interceptionSpecFrom({ ...config, port: addresses.nmi.port });
    expect(w.netfilter.verdict(spec)).toBe("intercepted");
    expect(await get(addresses.probe, "/healthz")).toEqual({ status: 200, body: "Active" });
    expect((await get(addresses.probe, "/readyz")).status).toBe(200);
    expect((await get(addresses.probe, "/readyz?verbose")).body).toBe("[+]interception ok\n[+]informers-synced ok\n[+]token-server ok\nreadyz check passed");
    const token = await get(addresses.nmi, tokenUrl(), { Metadata: "true" });
    expect(token.status).toBe(200);
    const metrics = await get(addresses.metrics ?? addresses.probe, "/metrics");
    expect(metrics.body).toContain('aadpodidentity_nmi_operations_duration_seconds_count{operation_type="/metadata/identity/oauth2/token",status_code="200"');
    expect(metrics.body).toContain("podid_nmi_interception_active 1");
    expect((await get(addresses.probe, "/metrics")).status).toBe(404);
    expect((await get(addresses.nmi, "/healthz", { Metadata: "true" })).body).toContain("proxied");
    expect(runtime.config).toBe(config);
  });

  it("reports not ready while caches are unsynced or the rules drifted, and repairs drift every interval", async () => {
    const w = world();
    runtime = composeNmi(config, w.adapters, { pino: silentPino() });
    const addresses = await runtime.start();
    const spec = interceptionSpecFrom({ ...config, port: addresses.nmi.port });
    w.cluster.setSynced(false);
    const unsynced = await get(addresses.probe, "/readyz");
    expect(unsynced).toEqual({ status: 503, body: "[-]informers-synced failed\nreadyz check failed" });
    w.cluster.setSynced(true);
    w.netfilter.tamper(spec, "flushChain");
    expect(w.netfilter.verdict(spec)).toBe("direct");
    await w.clock.advanceAsync(60_000);
    for (let i = 0; i < 50 && w.netfilter.verdict(spec) !== "intercepted"; i++) await new Promise((r) => setImmediate(r));
    expect(w.netfilter.verdict(spec)).toBe("intercepted");
    expect(w.netfilter.counts().repairs).toBeGreaterThanOrEqual(1);
    expect((await get(addresses.probe, "/readyz")).status).toBe(200);
  });

  it("SIGTERM drain: waiting requests get 503, the interception is left fail-closed, probes close last", async () => {
    const w = world();
    w.cluster.apply("pods", makePod({ name: "waiter", ip: "127.0.0.1", selector: "none-yet" }));
    // A binding selects it, so it waits for MIC (issue #12: a pod no binding selects is answered at once).
    w.cluster.apply("azureidentitybindings", makeBinding(makeIdentity({ name: "id-waiter" }), "none-yet"));
    runtime = composeNmi(config, w.adapters, { pino: silentPino() });
    const addresses = await runtime.start();
    const spec = interceptionSpecFrom({ ...config, port: addresses.nmi.port });
    const pending = get(addresses.nmi, tokenUrl(), { Metadata: "true" });
    const service = runtime.tokenServer.engine;
    for (let i = 0; i < 500 && service?.waiting !== 1; i++) await new Promise((r) => setTimeout(r, 2));
    expect(service?.waiting).toBe(1);
    await runtime.stop("SIGTERM");
    expect((await pending).status).toBe(503);
    expect(w.netfilter.verdict(spec)).toBe("blocked");
    await expect(get(addresses.probe, "/healthz")).rejects.toThrow();
    await expect(get(addresses.nmi, "/x")).rejects.toThrow();
  });

  it("--interception-release=remove restores the original's fail-open cleanup", async () => {
    const w = world();
    runtime = composeNmi({ ...config, interceptionRelease: "remove" }, w.adapters, { pino: silentPino() });
    const addresses = await runtime.start();
    await runtime.stop();
    expect(w.netfilter.verdict(interceptionSpecFrom({ ...config, port: addresses.nmi.port }))).toBe("direct");
  });

  it("fails start-up when the rules cannot be installed", async () => {
    const w = world();
    w.netfilter.failNext(1, { kind: "commandFailed", exitCode: 4, stderr: "iptables: Resource temporarily unavailable" }, ["ensure"]);
    runtime = composeNmi(config, w.adapters, { pino: silentPino() });
    await expect(runtime.start()).rejects.toThrow(/cannot install the metadata interception/);
  });
});

describe("runNmi", () => {
  function io(): DaemonProcessIo & { out: string[]; err: string[]; handlers: Map<string, () => void> } {
    const out: string[] = [];
    const err: string[] = [];
    const handlers = new Map<string, () => void>();
    return {
      out,
      err,
      handlers,
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      onSignal: (s, h) => {
        handlers.set(s, h);
        return () => handlers.delete(s);
      },
      onUnhandledRejection: () => () => undefined,
    };
  }

  it("exit codes: 2 bad flags, 0 version, 1 kubenet refused, 3 without adapters", async () => {
    const kubenet = join(dir, "kubelet-kubenet");
    writeFileSync(kubenet, "--network-plugin=kubenet");
    const cni = join(dir, "kubelet-cni");
    writeFileSync(cni, "--network-plugin=cni");
    const a = io();
    expect(await runNmi(["--bogus"], {}, undefined, { io: a })).toBe(2);
    expect(await runNmi(["--version"], {}, undefined, { io: a })).toBe(0);
    expect(a.out.join("")).toContain("podid-nmi 0.1.0");
    expect(await runNmi(["--node=n", `--kubelet-config=${kubenet}`], {}, undefined, { io: a })).toBe(1);
    expect(a.err.join("")).toContain("not supported for Kubenet");
    expect(await runNmi(["--node=n", `--kubelet-config=${cni}`], {}, undefined, { io: a })).toBe(3);
  });

  it("runs with adapters and drains on SIGTERM, then exits 0", async () => {
    const w = world();
    const cni = join(dir, "kubelet-cni2");
    writeFileSync(cni, "");
    const p = io();
    let running: NmiAddresses | undefined;
    const exit = runNmi(
      [`--node=${TEST_NODE}`, "--nmi-port=0", "--http-probe-port=0", "--prometheus-port=0", "--probe-listen-address=127.0.0.1", `--kubelet-config=${cni}`],
      {},
      w.adapters,
      { io: p, pino: silentPino(), onStarted: (_runtime, addresses) => (running = addresses) },
    );
    for (let i = 0; i < 500 && running === undefined; i++) await new Promise((r) => setTimeout(r, 2));
    expect(running?.nmi.port).toBeGreaterThan(0);
    p.handlers.get("SIGTERM")?.();
    expect(await exit).toBe(0);
  });

  it("wires the service-account token reader the adapters build from --kubelet-pods-dir into the token path (federated identities)", async () => {
    const podsDir = mkdtempSync(join(dir, "pods-"));
    const clock = new VirtualClock();
    const cluster = new FakeCluster({ clock });
    const catalog = new FakeIdentityCatalog();
    const tokens = new FakeTokenSource({ clock, catalog });
    const readerDirs: string[] = [];
    const adapters: NmiAdapters = {
      kubeReader: () => cluster,
      tokenSource: () => tokens,
      netfilter: () => new FakeNetfilter(),
      clock,
      forwarder: () => new RecordingForwarder(),
      serviceAccountTokens: ({ config: c }) => {
        readerDirs.push(c.kubeletPodsDir);
        return new KubeletServiceAccountTokenReader({ podsDir: c.kubeletPodsDir, now: () => clock.now() });
      },
    };
    const resourceID = identityArmId("fed");
    const record = catalog.register({ id: resourceID });
    catalog.federatedCredentials.add(resourceID, "podid-default-app", { issuer: "https://issuer.example", subject: "system:serviceaccount:default:app", audiences: ["api://AzureADTokenExchange"] });
    const base = makeIdentity({ name: "fed", type: 1, clientId: record.clientId, tenantId: record.tenantId });
    const identity = cluster.apply("azureidentities", { ...base, spec: { ...base.spec, type: 3 as const, resourceID, serviceAccounts: ["app"] } });
    const binding = cluster.apply("azureidentitybindings", makeBinding(identity, "fed"));
    const volume = { volumeName: "azure-identity-token", path: "token" };
    const pod = cluster.apply("pods", { ...makePod({ name: "fed-app", ip: "127.0.0.1", selector: "fed" }), serviceAccountName: "app", federatedTokenVolume: volume });
    cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding));
    const now = Math.floor(clock.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const claims = { iss: "https://issuer.example", sub: "system:serviceaccount:default:app", aud: ["api://AzureADTokenExchange"], exp: now + 3600, "kubernetes.io": { pod: { uid: pod.metadata.uid } } };
    const file = join(podsDir, pod.metadata.uid ?? "", "volumes", "kubernetes.io~projected", volume.volumeName, volume.path);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(file, `${b64({ alg: "RS256" })}.${b64(claims)}.c2ln`);
    runtime = composeNmi({ ...config, kubeletPodsDir: podsDir }, adapters, { pino: silentPino() });
    const addresses = await runtime.start();
    const token = await get(addresses.nmi, tokenUrl("https://vault.azure.net"), { Metadata: "true" });
    expect(token.status).toBe(200);
    expect(decodeFakeJwt(String((JSON.parse(token.body) as Record<string, unknown>)["access_token"]))).toMatchObject({ appid: record.clientId, xms_mirid: resourceID });
    expect(readerDirs).toEqual([podsDir]);
  });
});
