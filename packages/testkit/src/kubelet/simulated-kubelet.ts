/**
 * The kubelet of one node of the embedded cluster, reduced to what identity and Key Vault volumes need: it
 * polls the pods bound to its node, mounts each pod's `flexVolume`s by running the volume's driver as a real
 * process (`<driver> mount <dir> <json options>`, retried with kubelet's exponential back-off while the
 * driver fails), and only then reports the pod Running with its IP — volumes are set up before any
 * container starts, so a driver asking NMI for the pod's token sees a Pending pod. When the pod is gone
 * from the apiserver it unmounts the volumes. The volume directory follows kubelet's layout
 * (`<root>/pods/<uid>/volumes/<vendor>~<driver>/<volume>`), so "the file the container sees at
 * `/secret1/appsecret1`" is a real file on this machine: {@link SimulatedKubelet.hostPath}.
 *
 * It also projects the `serviceAccountToken` sources of `projected` volumes the way kubelet does (TokenRequest
 * over HTTP bound to the pod, AtomicWriter layout under `kubernetes.io~projected/<volume>`, refresh at 80 %
 * of the token's lifetime on {@link SimulatedKubeletOptions.clock}; see `service-account-token-volumes.ts`),
 * before the pod turns Running, and removes those directories when the pod is gone.
 * @packageDocumentation
 */
import { mkdir, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import type { ClockPort, TimerHandle } from "@podid/core";
import { systemClock } from "../azure/system-clock.js";
import type { ClusterComponent } from "../cli/embedded-cluster.js";
import { writeVolumePayload } from "./atomic-writer.js";
import { callFlexVolumeDriver, type FlexVolumeCallResult, type FlexVolumeDriverCommand } from "./flexvolume-driver-call.js";
import { escapeQualifiedName, flexVolumeMountOptions } from "./flexvolume-mount-options.js";
import { refreshDueAtMs, requestVolumeTokens, serviceAccountTokenVolumes, tokenPayload, type TokenVolume } from "./service-account-token-volumes.js";

/** Options of {@link SimulatedKubelet.start}. */
export interface SimulatedKubeletOptions {
  readonly nodeName: string;
  readonly core: CoreV1Api;
  /** kubelet's root directory (`/var/lib/kubelet` on a node); the pods' volume directories live under it. */
  readonly rootDir: string;
  /** The FlexVolume drivers installed on this node, by driver name (`azure/kv`). */
  readonly flexVolumeDrivers: Readonly<Record<string, FlexVolumeDriverCommand>>;
  /** The IP each pod gets (the demo tells pods apart by loopback source address). */
  readonly podIp: (pod: V1Pod) => string;
  /** How often the node's pods are listed (default 150 ms). */
  readonly pollIntervalMs?: number;
  /** First mount retry delay; doubles up to {@link SimulatedKubeletOptions.maxRetryDelayMs} (kubelet: 500 ms → 2 m 2 s). */
  readonly initialRetryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
  /** Receives one line per mount attempt, unmount and status change. */
  readonly onEvent?: (event: KubeletEvent) => void;
  /**
   * Time for projected service-account tokens: when a token is due for refresh and the refresh timers
   * (default: real time). With a `VirtualClock` here and the apiserver's `now` on the same clock, a test
   * advances through token lifetimes; pod polling stays on real time.
   */
  readonly clock?: ClockPort;
}

/** What the kubelet did, for timelines and tests. */
export type KubeletEvent =
  | { readonly kind: "driverInit"; readonly driver: string; readonly result: FlexVolumeCallResult }
  | { readonly kind: "mount"; readonly pod: string; readonly volume: string; readonly dir: string; readonly attempt: number; readonly result: FlexVolumeCallResult }
  | { readonly kind: "running"; readonly pod: string; readonly podIp: string }
  | { readonly kind: "unmount"; readonly pod: string; readonly volume: string; readonly result: FlexVolumeCallResult }
  | {
      readonly kind: "projectToken";
      readonly pod: string;
      readonly volume: string;
      readonly dir: string;
      /** `setUp` before the pod starts, `refresh` when a token became due. */
      readonly reason: "setUp" | "refresh";
      readonly ok: boolean;
      /** The failure (TokenRequest's `Status` message or a file error); empty on success. */
      readonly message: string;
      /** When the next refresh (or, after a failure, the next attempt) is due, ms since the epoch on the kubelet's clock. */
      readonly nextAtMs?: number;
    }
  | { readonly kind: "removeProjected"; readonly pod: string; readonly volume: string; readonly dir: string };

/** A projected token volume of a pod: its directory and its refresh (or retry) timer. */
interface TokenVolumeState {
  readonly dir: string;
  timer: TimerHandle | undefined;
  retryDelayMs: number;
}

interface PodState {
  readonly key: string;
  readonly pod: V1Pod;
  /** Mounted flexVolumes and projected token volumes: volume name → host directory. */
  readonly mounted: Map<string, string>;
  /** Projected volumes with service-account tokens written, by volume name. */
  readonly tokenVolumes: Map<string, TokenVolumeState>;
  running: boolean;
  nextAttemptAt: number;
  retryDelayMs: number;
  attempts: number;
}

/** A running simulated kubelet (a {@link ClusterComponent}). */
export class SimulatedKubelet implements ClusterComponent {
  readonly name: string;
  private readonly pods = new Map<string, PodState>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly options: SimulatedKubeletOptions;
  private readonly clock: ClockPort;

  private constructor(options: SimulatedKubeletOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.name = `kubelet ${options.nodeName}`;
  }

  /** Probes every driver with `init` (as kubelet does when it discovers a plugin) and starts syncing pods. */
  static async start(options: SimulatedKubeletOptions): Promise<SimulatedKubelet> {
    const kubelet = new SimulatedKubelet(options);
    await mkdir(join(options.rootDir, "pods"), { recursive: true });
    for (const [driver, command] of Object.entries(options.flexVolumeDrivers)) {
      const result = await callFlexVolumeDriver(command, ["init"]);
      options.onEvent?.({ kind: "driverInit", driver, result });
      if (result.status !== "Success") throw new Error(`FlexVolume driver ${driver} failed init: ${result.status} ${result.message} ${result.stderr.trim()}`);
    }
    const tick = () => {
      kubelet.syncing = kubelet.syncing.then(() => kubelet.syncOnce()).catch(() => undefined);
    };
    kubelet.timer = setInterval(tick, options.pollIntervalMs ?? 150);
    tick();
    return kubelet;
  }

  describe(): readonly string[] {
    return [`${this.name}: pods under ${join(this.options.rootDir, "pods")}, FlexVolume drivers ${Object.keys(this.options.flexVolumeDrivers).join(", ") || "none"}`];
  }

  /** The host directory kubelet uses for a pod's volume. */
  volumeDir(pod: V1Pod, volumeName: string, driver: string): string {
    return join(this.options.rootDir, "pods", pod.metadata?.uid ?? "no-uid", "volumes", escapeQualifiedName(driver), volumeName);
  }

  /**
   * The file on this machine behind `containerPath` as container `containerName` (default: the first) of
   * `pod` sees it, through its volume mounts; `undefined` when no mounted volume covers the path.
   */
  hostPath(pod: V1Pod, containerPath: string, containerName?: string): string | undefined {
    const state = this.pods.get(podKey(pod));
    const container = (pod.spec?.containers ?? []).find((c) => containerName === undefined || c.name === containerName);
    if (state === undefined || container === undefined) return undefined;
    const wanted = posix.normalize(containerPath);
    for (const mount of container.volumeMounts ?? []) {
      const base = posix.normalize(mount.mountPath);
      const dir = state.mounted.get(mount.name);
      if (dir === undefined) continue;
      if (wanted === base) return dir;
      if (wanted.startsWith(`${base}/`)) return join(dir, wanted.slice(base.length + 1));
    }
    return undefined;
  }

  /** Stops syncing and unmounts every volume it mounted. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.syncing;
    for (const state of [...this.pods.values()]) await this.teardown(state);
  }

  private async syncOnce(): Promise<void> {
    if (this.stopped) return;
    const list = await this.options.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${this.options.nodeName}` });
    const seen = new Set<string>();
    for (const pod of list.items) {
      const key = podKey(pod);
      seen.add(key);
      const known = this.pods.get(key);
      if (known !== undefined && known.pod.metadata?.uid !== pod.metadata?.uid) {
        await this.teardown(known);
      }
      let state = this.pods.get(key);
      if (state === undefined) {
        state = { key, pod, mounted: new Map(), tokenVolumes: new Map(), running: pod.status?.phase === "Running", nextAttemptAt: 0, retryDelayMs: this.options.initialRetryDelayMs ?? 500, attempts: 0 };
        this.pods.set(key, state);
      }
      if (pod.metadata?.deletionTimestamp !== undefined || Date.now() < state.nextAttemptAt) continue;
      if (!state.running) await this.setUp(state);
      // A pod already Running when first seen (kubelet restarted) still gets its tokens projected.
      else if (!(await this.projectTokenVolumes(state))) this.backOff(state);
    }
    for (const state of [...this.pods.values()]) if (!seen.has(state.key)) await this.teardown(state);
  }

  /** Mounts what is not mounted yet; when every volume is up, reports the pod Running. */
  private async setUp(state: PodState): Promise<void> {
    const { pod } = state;
    // kubelet sets a pod's volumes up independently of each other, so a projected token is on disk even while a
    // FlexVolume driver keeps failing — and a driver that needs the token (azure/kv through NMI for a federated
    // identity, docs/adr/0021-federated-identities.md) must find it there. Tokens first, then the drivers.
    if (!(await this.projectTokenVolumes(state))) {
      this.backOff(state);
      return;
    }
    for (const volume of pod.spec?.volumes ?? []) {
      const source = volume.flexVolume;
      if (source === undefined || state.mounted.has(volume.name)) continue;
      const driver = this.options.flexVolumeDrivers[source.driver];
      const dir = this.volumeDir(pod, volume.name, source.driver);
      state.attempts += 1;
      const result: FlexVolumeCallResult =
        driver === undefined
          ? { status: "Failure", message: `no FlexVolume driver ${source.driver} installed on ${this.options.nodeName}`, exitCode: null, stderr: "", durationMs: 0, startedAt: Date.now() }
          : await callFlexVolumeDriver(driver, ["mount", dir, JSON.stringify(flexVolumeMountOptions(pod, source, await this.secretData(pod, source.secretRef?.name)))]);
      this.options.onEvent?.({ kind: "mount", pod: state.key, volume: volume.name, dir, attempt: state.attempts, result });
      if (result.status !== "Success") {
        this.backOff(state);
        return;
      }
      state.mounted.set(volume.name, dir);
    }
    const podIp = this.options.podIp(pod);
    const body: V1Pod = { ...pod, status: { ...(pod.status ?? {}), phase: "Running", podIP: podIp, podIPs: [{ ip: podIp }], hostIP: "127.0.0.1", startTime: new Date() } };
    await this.options.core.replaceNamespacedPodStatus({ name: pod.metadata?.name ?? "", namespace: pod.metadata?.namespace ?? "default", body });
    state.running = true;
    this.options.onEvent?.({ kind: "running", pod: state.key, podIp });
  }

  private backOff(state: PodState): void {
    state.nextAttemptAt = Date.now() + state.retryDelayMs;
    state.retryDelayMs = Math.min(state.retryDelayMs * 2, this.options.maxRetryDelayMs ?? 122_000);
  }

  /** Projects every token volume of the pod not projected yet; false when one failed (retried with back-off). */
  private async projectTokenVolumes(state: PodState): Promise<boolean> {
    for (const volume of serviceAccountTokenVolumes(state.pod)) {
      if (state.tokenVolumes.has(volume.name)) continue;
      state.attempts += 1;
      if (!(await this.projectTokens(state, volume, "setUp"))) return false;
    }
    return true;
  }

  /** Fetches the volume's tokens, writes them atomically and schedules the next refresh (or a retry of a failed refresh). */
  private async projectTokens(state: PodState, volume: TokenVolume, reason: "setUp" | "refresh"): Promise<boolean> {
    const dir = this.volumeDir(state.pod, volume.name, "kubernetes.io/projected");
    const initialRetry = this.options.initialRetryDelayMs ?? 500;
    const entry = state.tokenVolumes.get(volume.name) ?? { dir, timer: undefined, retryDelayMs: initialRetry };
    entry.timer?.cancel();
    entry.timer = undefined;
    try {
      const tokens = await requestVolumeTokens(this.options.core, state.pod, volume);
      await writeVolumePayload(dir, tokenPayload(volume, tokens), new Date(this.clock.now()));
      const nextAtMs = refreshDueAtMs(tokens);
      entry.retryDelayMs = initialRetry;
      state.tokenVolumes.set(volume.name, entry);
      state.mounted.set(volume.name, dir);
      entry.timer = this.clock.setTimer(Math.max(0, nextAtMs - this.clock.now()), () => this.enqueueRefresh(state, volume));
      this.options.onEvent?.({ kind: "projectToken", pod: state.key, volume: volume.name, dir, reason, ok: true, message: "", nextAtMs });
      return true;
    } catch (error) {
      const message = failureMessage(error);
      if (reason === "refresh") {
        // The old token stays in place until it expires; kubelet keeps trying on its next syncs.
        const nextAtMs = this.clock.now() + entry.retryDelayMs;
        entry.timer = this.clock.setTimer(entry.retryDelayMs, () => this.enqueueRefresh(state, volume));
        entry.retryDelayMs = Math.min(entry.retryDelayMs * 2, this.options.maxRetryDelayMs ?? 122_000);
        this.options.onEvent?.({ kind: "projectToken", pod: state.key, volume: volume.name, dir, reason, ok: false, message, nextAtMs });
      } else {
        this.options.onEvent?.({ kind: "projectToken", pod: state.key, volume: volume.name, dir, reason, ok: false, message });
      }
      return false;
    }
  }

  /** Runs a due refresh in the sync chain, so it never overlaps a sync or the pod's teardown. */
  private enqueueRefresh(state: PodState, volume: TokenVolume): void {
    this.syncing = this.syncing
      .then(async () => {
        if (this.stopped || this.pods.get(state.key) !== state) return;
        await this.projectTokens(state, volume, "refresh");
      })
      .catch(() => undefined);
  }

  private async teardown(state: PodState): Promise<void> {
    this.pods.delete(state.key);
    for (const [volume, entry] of state.tokenVolumes) {
      entry.timer?.cancel();
      await rm(entry.dir, { recursive: true, force: true });
      this.options.onEvent?.({ kind: "removeProjected", pod: state.key, volume, dir: entry.dir });
    }
    state.tokenVolumes.clear();
    for (const volume of state.pod.spec?.volumes ?? []) {
      const dir = state.mounted.get(volume.name);
      const driver = volume.flexVolume === undefined ? undefined : this.options.flexVolumeDrivers[volume.flexVolume.driver];
      if (dir === undefined || driver === undefined) continue;
      const result = await callFlexVolumeDriver(driver, ["unmount", dir]);
      this.options.onEvent?.({ kind: "unmount", pod: state.key, volume: volume.name, result });
    }
  }

  private async secretData(pod: V1Pod, secretName: string | undefined): Promise<Record<string, string>> {
    if (secretName === undefined) return {};
    const secret = await this.options.core.readNamespacedSecret({ name: secretName, namespace: pod.metadata?.namespace ?? "default" });
    return secret.data ?? {};
  }
}

function failureMessage(error: unknown): string {
  // client-node's ApiException carries the API server's Status as its body.
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === "string") return status.message;
    } catch {
      return body;
    }
  }
  return error instanceof Error ? error.message : String(error);
}

function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? "default"}/${pod.metadata?.name ?? ""}`;
}
