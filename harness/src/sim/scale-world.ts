import { type ComputeTarget, type EventRecorderPort } from "@podid/core";
import { buildScaleCluster, FakeCluster, FakeCompute, RecordingLogger, seedScaleCluster, VirtualClock, type ScaleClusterOptions } from "@podid/testkit";
import { MicController, type MicControllerOptions } from "@podid/mic-runner/controller";
import { KubeClientModel, type KubeClientModelOptions, type ModelledEventRecorder } from "./kube-client-model.js";

/** ARM as the #988 steady-state runs model it: 40 s per VMSS operation, one operation at a time per VMSS. */
export const SIM_VMSS_PATCH_MS = 40_000;
/** VM PATCHes are faster (the original's docs: 10–20 s on a VM, 40–60 s on a VMSS). */
export const SIM_VM_PATCH_MS = 15_000;
/** ARM GET latency. */
export const SIM_GET_MS = 300;

/** A simulated cluster: fake API server, fake ARM and the real MIC controller on one virtual clock. */
export interface ScaleWorld {
  readonly clock: VirtualClock;
  readonly cluster: FakeCluster;
  readonly compute: FakeCompute;
  readonly controller: MicController;
  readonly cluster0: ReturnType<typeof buildScaleCluster>;
  readonly targets: readonly ComputeTarget[];
  /** Virtual time at which each AAI (namespace/name) first became Assigned. */
  readonly assignedAt: Map<string, number>;
  /** The modelled kube client, when the world has one. */
  readonly kube?: KubeClientModel;
  /** MIC's Event recorder writing through {@link kube} (with it): Event writes sent, Events dropped. */
  readonly events?: ModelledEventRecorder;
}

/** How the world's ARM and kube client behave (defaults: 40 s VMSS PATCH, no client limits). */
export interface ScaleWorldModel {
  /** Virtual ms of one VMSS PATCH (a VM PATCH takes {@link SIM_VM_PATCH_MS}, or half this when set). */
  readonly vmssPatchMs?: number;
  /** The kube client's token bucket and write bound; without it every write is instant. */
  readonly kube?: KubeClientModelOptions;
}

const countingEvents: EventRecorderPort = { record: () => undefined };

/** Builds the world; pods are not applied yet (the caller decides when the burst starts). */
export function buildScaleWorld(shape: ScaleClusterOptions, options: Partial<MicControllerOptions> = {}, model: ScaleWorldModel = {}): ScaleWorld {
  const clock = new VirtualClock({ startMs: Date.UTC(2026, 0, 1) });
  const cluster0 = buildScaleCluster(shape);
  const cluster = new FakeCluster({ clock });
  const compute = new FakeCompute({
    clock,
    getLatencyMs: SIM_GET_MS,
    patchLatencyMs: (target) =>
      target.kind === "vmss" ? (model.vmssPatchMs ?? SIM_VMSS_PATCH_MS) : model.vmssPatchMs === undefined ? SIM_VM_PATCH_MS : model.vmssPatchMs / 2,
    oneOperationAtATimePerTarget: true,
  });
  const targets = seedScaleCluster(cluster0, cluster, compute);
  const assignedAt = new Map<string, number>();
  cluster.subscribe("azureassignedidentities", (event) => {
    const key = `${event.object.metadata.namespace}/${event.object.metadata.name}`;
    if (event.type !== "deleted" && event.object.status === "Assigned" && !assignedAt.has(key)) assignedAt.set(key, clock.now());
  });
  const kube = model.kube === undefined ? undefined : new KubeClientModel(clock, model.kube);
  const events = kube?.eventRecorder();
  const controller = new MicController(
    {
      reader: cluster,
      writer: kube === undefined ? cluster : kube.writer(cluster),
      compute,
      clock,
      logger: new RecordingLogger({ clock }).child({}),
      events: events ?? countingEvents,
      isLeader: () => true,
    },
    options,
  );
  return { clock, cluster, compute, controller, cluster0, targets: [...targets.values()], assignedAt, ...(kube === undefined || events === undefined ? {} : { kube, events }) };
}
