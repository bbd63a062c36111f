import type { ClockPort, KubeReaderPort, LoggerPort, MetricsPort, NetfilterPort, TokenSourcePort } from "@podid/core";
import type { NmiConfig } from "../config/nmi-config.js";
import type { ImdsForwarder } from "../proxy/http-forwarder.js";

/**
 * The seam between NMI and its adapters. NMI depends only on core's ports; the composition root receives
 * factories for them, so the production build passes adapter-k8s, adapter-azure and adapter-iptables and
 * tests pass testkit's fakes — with the same wiring.
 * @packageDocumentation
 */

/** What every adapter factory receives. */
export interface NmiAdapterContext {
  /** The whole configuration (node name, `enableScaleFeatures`, `kubeconfig`, conntrack deletion, …). */
  readonly config: NmiConfig;
  readonly logger: LoggerPort;
  readonly clock: ClockPort;
  readonly metrics: MetricsPort;
}

/**
 * A {@link KubeReaderPort} with an optional lifecycle: `start` resolves once the caches are synced (the
 * original blocked on informer sync before serving), `stop` ends the watches.
 */
export interface NmiKubeReader extends KubeReaderPort {
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** Factories of the adapters NMI runs on. */
export interface NmiAdapters {
  /**
   * Informer caches of this node's pods, AzureAssignedIdentities (label `nodename=<node>` when
   * `enableScaleFeatures`), AzureIdentities, bindings and exceptions, plus Secret reads (adapter-k8s).
   */
  readonly kubeReader: (context: NmiAdapterContext) => NmiKubeReader;
  /** IMDS and AAD token acquisition (adapter-azure). */
  readonly tokenSource: (context: NmiAdapterContext) => TokenSourcePort;
  /** The `aad-metadata` nat chain (adapter-iptables; honours `enableConntrackDeletion`). */
  readonly netfilter: (context: NmiAdapterContext) => NetfilterPort;
  /** Real time unless given. */
  readonly clock?: ClockPort;
  /** Forwarding to IMDS; default: HTTP to `--metadata-ip:--metadata-port`. */
  readonly forwarder?: (context: NmiAdapterContext) => ImdsForwarder;
}
