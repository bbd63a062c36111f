/**
 * The simulated kubelet against the fake kube-apiserver over HTTP, with a stand-in FlexVolume driver (a real
 * process: a small Node.js script) that fails its first mounts, records the options it was given and
 * writes one file: the pod stays Pending while the mount fails, turns Running once it succeeds, the file is
 * reachable through the container's mount path, and deleting the pod unmounts the volume.
 */
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VirtualClock } from "../clock/virtual-clock.js";
import { FakeKubeApiServer } from "../kube-apiserver/fake-kube-apiserver.js";
import { pollUntil } from "../polling/poll-until.js";
import { SimulatedKubelet, type KubeletEvent } from "./simulated-kubelet.js";

const DRIVER = `
const fs = require("node:fs");
const [verb, dir, json] = process.argv.slice(2);
const say = (o) => { process.stdout.write(JSON.stringify(o)); };
if (verb === "init") { say({ status: "Success", capabilities: { attach: false } }); process.exit(0); }
if (verb === "mount") {
  const counter = process.env.COUNTER_FILE;
  const n = Number(fs.existsSync(counter) ? fs.readFileSync(counter, "utf8") : "0") + 1;
  fs.writeFileSync(counter, String(n));
  if (n <= Number(process.env.FAIL_FIRST)) { say({ status: "Failure", message: "not yet (" + n + ")" }); process.exit(1); }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(dir + "/options.json", json);
  fs.writeFileSync(dir + "/appsecret1", "s3cr3t");
  say({ status: "Success" }); process.exit(0);
}
if (verb === "unmount") { fs.rmSync(dir, { recursive: true, force: true }); say({ status: "Success" }); process.exit(0); }
say({ status: "Not supported" }); process.exit(1);
`;

let server: FakeKubeApiServer;
let core: CoreV1Api;
let dir = "";

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  core = kc.makeApiClient(CoreV1Api);
  dir = mkdtempSync(join(tmpdir(), "podid-kubelet-test-"));
  writeFileSync(join(dir, "driver.cjs"), DRIVER);
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SimulatedKubelet", () => {
  it("mounts a flexVolume with the driver as a process before reporting the pod Running, retries failures, unmounts on deletion", async () => {
    const events: KubeletEvent[] = [];
    const kubelet = await SimulatedKubelet.start({
      nodeName: "node-a",
      core,
      rootDir: join(dir, "kubelet"),
      flexVolumeDrivers: { "azure/kv": { command: process.execPath, args: [join(dir, "driver.cjs")], env: { COUNTER_FILE: join(dir, "count"), FAIL_FIRST: "2" } } },
      podIp: () => "127.0.0.21",
      pollIntervalMs: 50,
      initialRetryDelayMs: 100,
      onEvent: (event) => events.push(event),
    });
    try {
      await core.createNamespacedSecret({ namespace: "default", body: { metadata: { name: "kvcreds" }, data: { clientid: Buffer.from("abc").toString("base64") } } });
      const created = await core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "demo-app", labels: { aadpodidbinding: "demo-kv-access" } },
          spec: {
            nodeName: "node-a",
            serviceAccountName: "reader",
            containers: [{ name: "app", image: "x", volumeMounts: [{ name: "secrets-store", mountPath: "/secret1", readOnly: true }] }],
            volumes: [{ name: "secrets-store", flexVolume: { driver: "azure/kv", readOnly: true, secretRef: { name: "kvcreds" }, options: { usepodidentity: "true", keyvaultname: "demo-kv" } } }],
          },
        },
      });
      expect(events[0]).toMatchObject({ kind: "driverInit", driver: "azure/kv", result: { status: "Success" } });
      await pollUntil("two failed mounts", () => events.filter((e) => e.kind === "mount").length >= 2);
      expect((await core.readNamespacedPod({ name: "demo-app", namespace: "default" })).status?.phase ?? "Pending").not.toBe("Running");
      await pollUntil("Running", async () => (await core.readNamespacedPod({ name: "demo-app", namespace: "default" })).status?.phase === "Running");
      const mounts = events.filter((e): e is Extract<KubeletEvent, { kind: "mount" }> => e.kind === "mount");
      expect(mounts.map((m) => m.result.status)).toEqual(["Failure", "Failure", "Success"]);
      const running = await core.readNamespacedPod({ name: "demo-app", namespace: "default" });
      expect(running.status?.podIP).toBe("127.0.0.21");

      const file = kubelet.hostPath(running as V1Pod, "/secret1/appsecret1");
      expect(file).toBe(join(dir, "kubelet", "pods", created.metadata?.uid ?? "?", "volumes", "azure~kv", "secrets-store", "appsecret1"));
      expect(readFileSync(file ?? "", "utf8")).toBe("s3cr3t");
      expect(kubelet.hostPath(running as V1Pod, "/etc/passwd")).toBeUndefined();
      const options = JSON.parse(readFileSync(join(mounts[2]?.dir ?? "", "options.json"), "utf8")) as Record<string, string>;
      expect(options).toEqual({
        usepodidentity: "true",
        keyvaultname: "demo-kv",
        "kubernetes.io/pod.name": "demo-app",
        "kubernetes.io/pod.namespace": "default",
        "kubernetes.io/pod.uid": created.metadata?.uid,
        "kubernetes.io/serviceAccount.name": "reader",
        "kubernetes.io/fsType": "",
        "kubernetes.io/readwrite": "ro",
        "kubernetes.io/secret/clientid": Buffer.from("abc").toString("base64"),
      });

      await core.deleteNamespacedPod({ name: "demo-app", namespace: "default" });
      await pollUntil("unmount", () => events.some((e) => e.kind === "unmount"));
      expect(existsSync(mounts[2]?.dir ?? "")).toBe(false);
    } finally {
      await kubelet.stop();
    }
  }, 30_000);

  it("refuses to start when a driver fails init, and fails mounts of drivers it does not have", async () => {
    writeFileSync(join(dir, "bad.cjs"), `process.stdout.write(JSON.stringify({status:"Failure",message:"broken"})); process.exit(1);`);
    await expect(
      SimulatedKubelet.start({ nodeName: "node-b", core, rootDir: join(dir, "kb"), flexVolumeDrivers: { "azure/kv": { command: process.execPath, args: [join(dir, "bad.cjs")] } }, podIp: () => "127.0.0.22" }),
    ).rejects.toThrow(/failed init: Failure broken/);
    const events: KubeletEvent[] = [];
    const kubelet = await SimulatedKubelet.start({ nodeName: "node-c", core, rootDir: join(dir, "kc"), flexVolumeDrivers: {}, podIp: () => "127.0.0.23", pollIntervalMs: 50, onEvent: (e) => events.push(e) });
    try {
      await core.createNamespacedPod({
        namespace: "default",
        body: { metadata: { name: "orphan" }, spec: { nodeName: "node-c", containers: [{ name: "app", image: "x" }], volumes: [{ name: "v", flexVolume: { driver: "azure/kv" } }] } },
      });
      await pollUntil("a mount attempt", () => events.some((e) => e.kind === "mount"));
      expect(events.find((e) => e.kind === "mount")).toMatchObject({ result: { status: "Failure", message: "no FlexVolume driver azure/kv installed on node-c" } });
      expect((await core.readNamespacedPod({ name: "orphan", namespace: "default" })).status?.phase).not.toBe("Running");
    } finally {
      await kubelet.stop();
    }
  }, 30_000);
});

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("SimulatedKubelet: projected service-account tokens", () => {
  it("writes each token through TokenRequest before Running, refreshes it at 80 % of its lifetime, removes it with the pod", async () => {
    // The apiserver and the kubelet's token timers share one virtual clock; pod polling stays on real time.
    const clock = new VirtualClock({ startMs: Date.UTC(2026, 0, 1) });
    const api = await FakeKubeApiServer.start({ now: () => new Date(clock.now()) });
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    const client = kc.makeApiClient(CoreV1Api);
    const events: KubeletEvent[] = [];
    const root = join(dir, "kubelet-tokens");
    const kubelet = await SimulatedKubelet.start({ nodeName: "node-t", core: client, rootDir: root, flexVolumeDrivers: {}, podIp: () => "127.0.0.31", pollIntervalMs: 50, initialRetryDelayMs: 100, clock, onEvent: (e) => events.push(e) });
    try {
      await client.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "workload" } } });
      const pod = await client.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "wi-app" },
          spec: {
            nodeName: "node-t",
            serviceAccountName: "workload",
            containers: [{ name: "app", image: "x", volumeMounts: [{ name: "azure-identity-token", mountPath: "/var/run/secrets/azure/tokens", readOnly: true }] }],
            volumes: [
              { name: "azure-identity-token", projected: { sources: [{ serviceAccountToken: { audience: "api://AzureADTokenExchange", expirationSeconds: 3600, path: "azure-identity-token" } }] } },
              { name: "api-token", projected: { defaultMode: 0o440, sources: [{ serviceAccountToken: { path: "nested/token", expirationSeconds: 7200 } }, { configMap: { name: "ignored" } }] } },
            ],
          },
        },
      });
      const uid = pod.metadata?.uid ?? "";
      await pollUntil("Running", async () => (await client.readNamespacedPod({ name: "wi-app", namespace: "default" })).status?.phase === "Running");

      const volumeDir = join(root, "pods", uid, "volumes", "kubernetes.io~projected", "azure-identity-token");
      const file = join(volumeDir, "azure-identity-token");
      expect(kubelet.hostPath(pod, "/var/run/secrets/azure/tokens/azure-identity-token")).toBe(file);
      // kubelet's AtomicWriter layout: <path> → ..data/<path>, ..data → ..<timestamp>.<random>
      expect(lstatSync(file).isSymbolicLink()).toBe(true);
      expect(readlinkSync(file)).toBe("..data/azure-identity-token");
      expect(readlinkSync(join(volumeDir, "..data"))).toMatch(/^\.\.2026_01_01_00_00_00\.\w+$/);
      expect(statSync(file).mode & 0o777).toBe(0o644);
      const first = readFileSync(file, "utf8");
      const claims = claimsOf(first);
      expect(claims).toMatchObject({
        iss: api.serviceAccountIssuer,
        sub: "system:serviceaccount:default:workload",
        aud: ["api://AzureADTokenExchange"],
        "kubernetes.io": { namespace: "default", pod: { name: "wi-app", uid } },
      });
      const iat = claims["iat"] as number;
      expect(claims["exp"]).toBe(iat + 3600);

      const nested = join(root, "pods", uid, "volumes", "kubernetes.io~projected", "api-token", "nested", "token");
      const nestedClaims = claimsOf(readFileSync(nested, "utf8"));
      expect(nestedClaims["aud"]).toEqual([api.serviceAccountIssuer]);
      expect((nestedClaims["exp"] as number) - (nestedClaims["iat"] as number)).toBe(7200);
      expect(statSync(nested).mode & 0o777).toBe(0o440);

      const setUps = events.filter((e): e is Extract<KubeletEvent, { kind: "projectToken" }> => e.kind === "projectToken");
      expect(setUps.map((e) => [e.volume, e.reason, e.ok, e.nextAtMs])).toEqual([
        ["azure-identity-token", "setUp", true, (iat + 2880) * 1000],
        ["api-token", "setUp", true, (iat + 5760) * 1000],
      ]);
      expect(clock.pendingTimers()).toHaveLength(2); // one refresh timer per token volume, nothing else

      // 80 % of 3600 s is 2880 s: nothing happens a second before, a refresh right at it.
      clock.advance(2879_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(readFileSync(file, "utf8")).toBe(first);
      clock.advance(1000);
      await pollUntil("the refreshed token", () => readFileSync(file, "utf8") !== first);
      const refreshed = claimsOf(readFileSync(file, "utf8"));
      expect(refreshed["iat"]).toBe(iat + 2880);
      expect(refreshed["jti"]).not.toBe(claims["jti"]);
      expect(readdirSync(volumeDir).filter((name) => name.startsWith("..2")).length).toBe(1); // the old payload is gone
      expect(readFileSync(nested, "utf8")).not.toBe(""); // the other volume was not touched yet
      expect(clock.pendingTimers().map((t) => t.dueMs).sort()).toEqual([(iat + 5760) * 1000, (iat + 2880 + 2880) * 1000]);

      await client.deleteNamespacedPod({ name: "wi-app", namespace: "default" });
      await pollUntil("projected volumes removed", () => events.filter((e) => e.kind === "removeProjected").length === 2);
      expect(existsSync(volumeDir)).toBe(false);
      expect(clock.pendingTimers()).toEqual([]);
    } finally {
      await kubelet.stop();
      await api.close();
    }
  }, 30_000);

  it("writes the projected token before running FlexVolume drivers, so a driver that needs it (azure/kv for a federated identity) finds it", async () => {
    const api = await FakeKubeApiServer.start();
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    const client = kc.makeApiClient(CoreV1Api);
    const root = join(dir, "kubelet-token-first");
    // The driver succeeds only when the pod's projected token is on disk (what NMI's /host/token needs for type 3).
    const driver = join(dir, "needs-token.cjs");
    writeFileSync(
      driver,
      `const fs = require("node:fs"); const [verb, target] = process.argv.slice(2);
      const say = (o) => process.stdout.write(JSON.stringify(o));
      if (verb === "init") { say({ status: "Success", capabilities: { attach: false } }); process.exit(0); }
      if (verb === "unmount") { say({ status: "Success" }); process.exit(0); }
      const token = target.slice(0, target.lastIndexOf("azure~kv")) + "kubernetes.io~projected/azure-federated-token/token";
      if (!fs.existsSync(token)) { say({ status: "Failure", message: "no token at " + token }); process.exit(1); }
      fs.mkdirSync(target, { recursive: true }); say({ status: "Success" }); process.exit(0);`,
    );
    const events: KubeletEvent[] = [];
    const kubelet = await SimulatedKubelet.start({ nodeName: "node-f", core: client, rootDir: root, flexVolumeDrivers: { "azure/kv": { command: process.execPath, args: [driver] } }, podIp: () => "127.0.0.32", pollIntervalMs: 50, initialRetryDelayMs: 100, onEvent: (e) => events.push(e) });
    try {
      await client.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "kv-app" } } });
      await client.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "kv-fed" },
          spec: {
            nodeName: "node-f",
            serviceAccountName: "kv-app",
            containers: [{ name: "app", image: "x" }],
            volumes: [
              { name: "secrets", flexVolume: { driver: "azure/kv", options: { usepodidentity: "true" } } },
              { name: "azure-federated-token", projected: { sources: [{ serviceAccountToken: { audience: "api://AzureADTokenExchange", path: "token" } }] } },
            ],
          },
        },
      });
      await pollUntil("Running", async () => (await client.readNamespacedPod({ name: "kv-fed", namespace: "default" })).status?.phase === "Running");
      const order = events.filter((e) => e.kind === "projectToken" || e.kind === "mount").map((e) => (e.kind === "mount" ? `mount ${e.result.status}` : "projectToken"));
      expect(order).toEqual(["projectToken", "mount Success"]);
    } finally {
      await kubelet.stop();
      await api.close();
    }
  }, 30_000);

  it("keeps the pod Pending while TokenRequest fails (missing service account, bad path), and starts it once the account exists", async () => {
    const api = await FakeKubeApiServer.start();
    const kc = new KubeConfig();
    kc.loadFromString(api.kubeconfig());
    const client = kc.makeApiClient(CoreV1Api);
    const clock = new VirtualClock({ startMs: Date.now() });
    const events: KubeletEvent[] = [];
    const kubelet = await SimulatedKubelet.start({ nodeName: "node-u", core: client, rootDir: join(dir, "kubelet-fail"), flexVolumeDrivers: {}, podIp: () => "127.0.0.32", pollIntervalMs: 50, initialRetryDelayMs: 100, maxRetryDelayMs: 200, clock, onEvent: (e) => events.push(e) });
    const podWith = (name: string, serviceAccountName: string, path: string): V1Pod => ({
      metadata: { name },
      spec: { nodeName: "node-u", serviceAccountName, containers: [{ name: "app", image: "x" }], volumes: [{ name: "t", projected: { sources: [{ serviceAccountToken: { audience: "api://AzureADTokenExchange", path } }] } }] },
    });
    try {
      await client.createNamespacedPod({ namespace: "default", body: podWith("lonely", "ghost", "token") });
      await client.createNamespacedPod({ namespace: "default", body: podWith("escaper", "default", "../../escape") });
      const failures = (pod: string) => events.filter((e): e is Extract<KubeletEvent, { kind: "projectToken" }> => e.kind === "projectToken" && e.pod === pod && !e.ok);
      await pollUntil("failed projections", () => failures("default/lonely").length >= 2 && failures("default/escaper").length >= 1);
      expect(failures("default/lonely")[0]?.message).toBe('serviceaccounts "ghost" not found');
      expect(failures("default/escaper")[0]?.message).toBe(`volume t: path "../../escape" must not contain '..'`);
      expect((await client.readNamespacedPod({ name: "lonely", namespace: "default" })).status?.phase).not.toBe("Running");

      await client.createNamespacedServiceAccount({ namespace: "default", body: { metadata: { name: "ghost" } } });
      await pollUntil("Running after the account exists", async () => (await client.readNamespacedPod({ name: "lonely", namespace: "default" })).status?.phase === "Running");
      expect((await client.readNamespacedPod({ name: "escaper", namespace: "default" })).status?.phase).not.toBe("Running");
      expect(existsSync(join(dir, "escape"))).toBe(false);
    } finally {
      await kubelet.stop();
      await api.close();
    }
    expect(clock.pendingTimers()).toEqual([]); // stop cancels every refresh timer
  }, 30_000);
});
