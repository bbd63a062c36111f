/**
 * The simulated kubelet against the fake kube-apiserver over HTTP, with a stand-in FlexVolume driver (a real
 * process: a small Node.js script) that fails its first mounts, records the options it was given and
 * writes one file: the pod stays Pending while the mount fails, turns Running once it succeeds, the file is
 * reachable through the container's mount path, and deleting the pod unmounts the volume.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeKubeApiServer } from "../kube-apiserver/fake-kube-apiserver.js";
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

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

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
      await until(() => events.filter((e) => e.kind === "mount").length >= 2, "two failed mounts");
      expect((await core.readNamespacedPod({ name: "demo-app", namespace: "default" })).status?.phase ?? "Pending").not.toBe("Running");
      await until(async () => (await core.readNamespacedPod({ name: "demo-app", namespace: "default" })).status?.phase === "Running", "Running");
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
      await until(() => events.some((e) => e.kind === "unmount"), "unmount");
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
      await until(() => events.some((e) => e.kind === "mount"), "a mount attempt");
      expect(events.find((e) => e.kind === "mount")).toMatchObject({ result: { status: "Failure", message: "no FlexVolume driver azure/kv installed on node-c" } });
      expect((await core.readNamespacedPod({ name: "orphan", namespace: "default" })).status?.phase).not.toBe("Running");
    } finally {
      await kubelet.stop();
    }
  }, 30_000);
});
