import type { AzureConfig } from "@podid/adapter-azure";
import type { loadKubeConfig } from "@podid/adapter-k8s";
import type { KubeReaderPort, Unsubscribe } from "@podid/core";

/**
 * The shapes the composition root needs beyond core's ports: a reader with a lifecycle, a leadership
 * source and the cloud configuration in force. adapter-k8s's `KubeInformerReader` and `LeaderElector`
 * satisfy the first two as they are; tests and the demo may inject their own.
 * @packageDocumentation
 */

/** core's {@link KubeReaderPort} plus the informer lifecycle MIC drives. */
export interface MicKubeReader extends KubeReaderPort {
  start(): void;
  stop(): Promise<void>;
  /** Resolves once every cache completed its first list. */
  whenSynced(): Promise<void>;
}

/** A leader election candidate (adapter-k8s `LeaderElector`). */
export interface MicLeadership {
  /** This candidate's holder identity. */
  readonly identity: string;
  start(): void;
  /** Stops campaigning; a leader releases the Lease unless `release` is false. */
  stop(options?: { readonly release?: boolean }): Promise<void>;
  /** True while this candidate leads (false the instant its renew deadline passes). */
  isLeader(): boolean;
  /** `true` when leadership is won, `false` when it is lost; calls alternate. */
  onLeadershipChange(listener: (leading: boolean) => void): Unsubscribe;
}

/** The cloud configuration in force and its changes (`azure.json` is watched; the environment is read once). */
export interface CloudConfigSource {
  readonly current: AzureConfig;
  /** Calls `listener` with each new, valid configuration. */
  onChange(listener: (config: AzureConfig) => void): Unsubscribe;
  close(): void;
}

/** client-node's `KubeConfig` (named through adapter-k8s, which owns that dependency). */
export type MicKubeConfig = ReturnType<typeof loadKubeConfig>;

/** The environment MIC reads (the cloud configuration variables when `--cloudconfig` is empty, `KUBECONFIG`, …). */
export type MicProcessEnv = Readonly<Record<string, string | undefined>>;
