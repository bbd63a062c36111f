/**
 * The node side shared by the benches that run the real `podid-nmi` against a fake cluster: the node's fake IMDS
 * (its scale set holding the identities), a recorder in front of the fake kube-apiserver, a kubeconfig pointing
 * at it, free ports and NMI's loopback flags; and the NMI child process with a bounded stop.
 * @packageDocumentation
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ComputeTarget } from "@podid/core";
import { buildKubeconfig, FakeCompute, FakeIdentityCatalog, FakeImdsServer, loopbackNmiArgs, type FakeKubeApiServer } from "@podid/testkit";
import { KubeTrafficRecorder } from "./kube-traffic-recorder.js";
import { freePort, type RunningNmi } from "./nmi-footprint-process.js";

/** Longest wait for NMI to exit after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 15_000;

/** What {@link startNmiNodeFixture} started; `close` stops it all. */
export interface NmiNodeFixture {
  readonly imds: FakeImdsServer;
  readonly recorder: KubeTrafficRecorder;
  readonly kubeconfig: string;
  readonly port: number;
  readonly probePort: number;
  /** NMI's flags for `node` on loopback (token server, probes and metrics on separate ports, as the DaemonSet runs them). */
  readonly flags: readonly string[];
  close(): Promise<void>;
}

/** Starts the node's IMDS (scale set `scaleSet` holding `identityIds`) and the apiserver recorder; writes the kubeconfig into `dir`. */
export async function startNmiNodeFixture(o: { api: FakeKubeApiServer; dir: string; node: string; scaleSet: ComputeTarget; identityIds: readonly string[] }): Promise<NmiNodeFixture> {
  const compute = new FakeCompute();
  const target = compute.add(o.scaleSet, { systemAssigned: true, userAssigned: [...o.identityIds] });
  const catalog = new FakeIdentityCatalog();
  for (const id of o.identityIds) catalog.register(id);
  const imds = await FakeImdsServer.start({ compute, target, catalog, throttle: false });
  let recorder: KubeTrafficRecorder;
  try {
    recorder = await KubeTrafficRecorder.start(o.api.url);
  } catch (error) {
    await imds.close();
    throw error;
  }
  const kubeconfig = join(o.dir, "kubeconfig");
  await writeFile(kubeconfig, buildKubeconfig(recorder.url, undefined), { mode: 0o600 });
  const [port, probePort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  return {
    imds,
    recorder,
    kubeconfig,
    port,
    probePort,
    flags: loopbackNmiArgs({ node: o.node, kubeconfig, port, probePort, metricsPort, imdsPort: new URL(imds.url).port }),
    close: async () => {
      await recorder.close();
      await imds.close();
    },
  };
}

/** A running NMI child process (stderr tail kept, optionally watched) and its bounded stop. */
export interface SpawnedNmi {
  readonly nmi: RunningNmi;
  stop(): Promise<void>;
}

/** Spawns `node <args>` with only `PATH` and `env`; `onStderr` sees the stderr tail after each chunk. */
export function spawnNmi(args: readonly string[], env: Readonly<Record<string, string>> = {}, onStderr?: (tail: string) => void): SpawnedNmi {
  const child = spawn(process.execPath, [...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...env, PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
    onStderr?.(stderr);
  });
  return {
    nmi: { process: child, stderr: () => stderr.trim() },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
