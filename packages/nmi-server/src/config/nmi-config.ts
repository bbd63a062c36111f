import {
  DEFAULT_EXCEPTION_NAMESPACES,
  DEFAULT_POD_RATE_LIMITER_CONFIG,
  NMI_RETRY_AFTER_SECONDS,
  isLoopbackIpv4,
  type HostTokenMode,
  type InterceptionSpec,
  type IptablesBackendSetting,
  type NmiDecisionOptions,
} from "@podid/core";

/**
 * The whole configuration of the NMI daemon: one {@link NmiConfig}, produced once by `parseNmiFlags` from
 * the original NMI's flags plus podid's additions (or by {@link defineNmiConfig} in tests and embedders).
 * Every default lives in {@link NMI_CONFIG_DEFAULTS} and is applied only by {@link defineNmiConfig}; the
 * token server, the composition and the adapters read the config as it is and never default a value again.
 * Values core needs in its own terms (decision options, interception spec) are derived here, not stored twice.
 * @packageDocumentation
 */

/** `--operation-mode`: identities from MIC's AzureAssignedIdentities, or straight from bindings. */
export type OperationMode = "standard" | "managed";

/**
 * `--interception-release`: what happens to the iptables interception on SIGTERM. `fail-closed` (default)
 * leaves pod traffic to the metadata address blocked; `remove` deletes the rules like the original did,
 * letting pods reach IMDS directly until the next NMI installs them again.
 */
export type InterceptionRelease = "fail-closed" | "remove";

/** How NMI intercepts pod traffic to the metadata address (`--interception`). */
export type InterceptionMode = "iptables" | "none";

/** Log levels accepted by `--log-level`. */
export type NmiLogLevel = "debug" | "info" | "warn" | "error";

/** Typed NMI configuration (defaults: {@link NMI_CONFIG_DEFAULTS}). Durations are in the unit named by the field. */
export interface NmiConfig {
  /** `--node` (required): this node's name; only its pods can be callers. */
  readonly nodeName: string;
  /**
   * `--nmi-listen-address`; when the flag is absent, env `HOST_IP` (the node's IP, which the DaemonSet sets
   * from `status.hostIP`) if set, else 127.0.0.1 (docs/adr/0014-dnat-target-and-iptables-backend.md).
   */
  readonly listenAddress: string;
  /**
   * Env `HOST_IP`: the node's own IPv4 address. The DNAT target when NMI listens on every interface; as the
   * default listen address it is also the default DNAT target, which needs no `route_localnet`.
   */
  readonly hostIp?: string;
  /**
   * `--iptables-backend` (podid): `auto` (default) uses the backend holding the node's rules, decided once
   * at start and logged; `nft` or `legacy` fixes it (docs/adr/0014-dnat-target-and-iptables-backend.md).
   */
  readonly iptablesBackend: IptablesBackendSetting;
  /** `--nmi-port`: the token server port and the DNAT target port. */
  readonly port: number;
  /** `--metadata-ip`: the address intercepted and proxied to. */
  readonly metadataAddress: string;
  /** `--metadata-port`. */
  readonly metadataPort: number;
  /** `--ipt-update-interval-sec`: how often the interception is checked and repaired. */
  readonly iptUpdateIntervalSec: number;
  /** `--forceNamespaced` or env `FORCENAMESPACED=true`. */
  readonly forceNamespaced: boolean;
  /**
   * `--MICNamespace`. Accepted for compatibility; podid has no "is this MIC?" bypass
   * (the original's ReplicaSet-name-prefix check), MIC gets its node identity through an exception.
   */
  readonly micNamespace: string;
  /** `--http-probe-port`: `/healthz`, `/readyz`, `/livez`. */
  readonly probePort: number;
  /** `--probe-listen-address` (podid). */
  readonly probeListenAddress: string;
  /** `--prometheus-port`: `/metrics`. */
  readonly prometheusPort: number;
  /** `--retry-attempts-for-created`. */
  readonly retryAttemptsForCreated: number;
  /** `--retry-attempts-for-assigned`. */
  readonly retryAttemptsForAssigned: number;
  /** `--find-identity-retry-interval`. With the two above it gives the total wait bound. */
  readonly findIdentityRetryIntervalSec: number;
  /** `--enableScaleFeatures`: the AAI informer is filtered by the `nodename` label. */
  readonly enableScaleFeatures: boolean;
  /** `--block-instance-metadata`. */
  readonly blockInstanceMetadata: boolean;
  /** `--metadata-header-required`. */
  readonly metadataHeaderRequired: boolean;
  /** `--operation-mode`. */
  readonly operationMode: OperationMode;
  /** `--allow-network-plugin-kubenet`. */
  readonly allowNetworkPluginKubenet: boolean;
  /** `--kubelet-config`. */
  readonly kubeletConfigPath: string;
  /**
   * `--kubelet-pods-dir` (podid): kubelet's pods directory, mounted read-only, where NMI reads a pod's projected
   * service-account token for federated identities (docs/adr/0021-federated-identities.md).
   */
  readonly kubeletPodsDir: string;
  /** `--set-retry-after-header`. */
  readonly setRetryAfterHeader: boolean;
  /** `--enable-conntrack-deletion`; carried out by the netfilter adapter. */
  readonly enableConntrackDeletion: boolean;
  /** `--kubeconfig` or env `KUBECONFIG`; absent = in-cluster configuration. */
  readonly kubeconfig?: string;
  /**
   * `--host-token=scoped|unscoped|off` (podid; `true` means `unscoped`, `false` means `off`, as earlier podid
   * command lines wrote it). The original always served `/host/token`, which lets any host-network process
   * mint tokens for any pod of the node by naming it in two headers; `scoped` (the default) serves only pods
   * of this node that mount a Key Vault volume in pod-identity mode (docs/adr/0019-scoped-host-token.md).
   */
  readonly hostToken: HostTokenMode;
  /** `--interception-release` (podid). */
  readonly interceptionRelease: InterceptionRelease;
  /**
   * `--exception-namespaces` (podid, comma-separated): AzurePodIdentityExceptions are honoured only in these
   * namespaces; the original honoured an exception in any namespace, so any user could except their own pods.
   */
  readonly exceptionNamespaces: readonly string[];
  /**
   * `--exception-passthrough` (podid): an excepted pod may obtain any identity IMDS has, as in the original.
   * Off (default), it obtains only identities no AzureIdentity names — the node's own — and gets 403 otherwise.
   */
  readonly exceptionPassthrough: boolean;
  /**
   * `--interception`: `iptables` installs the fail-closed `aad-metadata` rules; `none` installs
   * nothing, so pods reach NMI only when they call it directly (e.g. `AZURE_POD_IDENTITY_AUTHORITY_HOST`) —
   * for the demo and development only, never a node.
   */
  readonly interception: InterceptionMode;
  /**
   * `--anti-spoofing` (podid, default on; docs/adr/0010-anti-spoofing.md): bind every pod IP to the host
   * interface or bridge port it enters through, drop metadata traffic (and bridged ARP) that carries a pod's
   * IP from anywhere else (nftables), and refuse tokens to pods whose interface is not resolved. Only with
   * `--interception=iptables`. Off restores the original's behaviour (attribution by source IP alone).
   */
  readonly antiSpoofing: boolean;
  /** `--pod-rate-limit` (podid): token requests per second per pod; 0 turns the per-pod limit off. */
  readonly podRateLimitPerSecond: number;
  /** `--pod-rate-burst` (podid). */
  readonly podRateBurst: number;
  /** `--graceful-shutdown-timeout-sec` (podid): bounds the token server's drain on SIGTERM (kept under Kubernetes' default 30 s grace period). */
  readonly shutdownTimeoutSec: number;
  /** `--log-level` (podid). */
  readonly logLevel: NmiLogLevel;
  /** `--enableProfile`: accepted for compatibility and ignored (there is no pprof in Node). */
  readonly enableProfile: boolean;
  /**
   * Timeout of one request forwarded to the metadata endpoint, in ms (no flag). The original
   * had none, so a hung IMDS pinned the pod's request forever.
   */
  readonly proxyTimeoutMs: number;
  /**
   * `--max-connections-per-pod` (podid): connections one source address may hold open to the token server;
   * more are closed at accept time (docs/compatibility.md#connection-limits).
   */
  readonly maxConnectionsPerPod: number;
  /**
   * `--max-connections` (podid): connections to the token server in total; lowered at start to the soft
   * descriptor limit minus {@link NmiConfig.descriptorReserve}.
   */
  readonly maxConnections: number;
  /** Descriptors kept free for probes, metrics, rule repair, watches and upstream calls (no flag). */
  readonly descriptorReserve: number;
  /** A request's headers must be complete this long after it began, in ms (no flag; IMDS clients send them at once). */
  readonly headersTimeoutMs: number;
  /**
   * The whole request must be received this long after it began, in ms (no flag). Node stops this clock once
   * the request is received, so the assignment wait that follows (up to 100 s) is not cut by it.
   */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this many ms (no flag). */
  readonly keepAliveTimeoutMs: number;
  /** Largest request body the token server accepts, in bytes (no flag; IMDS requests have none, bodies are only forwarded). */
  readonly bodyLimitBytes: number;
  /**
   * Reuse token-path decisions while the informer caches are unchanged (no flag). Off re-decides every
   * request from scratch; the differential test compares both.
   */
  readonly memoiseDecisions: boolean;
}

/**
 * Every default, in one place: the original's flag defaults and podid's for its additions; `nodeName` has
 * none. The per-pod limit's defaults are core's limiter defaults (5/s, burst 20), named rather than copied.
 */
export const NMI_CONFIG_DEFAULTS: Omit<NmiConfig, "nodeName"> = {
  listenAddress: "127.0.0.1",
  iptablesBackend: "auto",
  port: 2579,
  metadataAddress: "169.254.169.254",
  metadataPort: 80,
  iptUpdateIntervalSec: 60,
  forceNamespaced: false,
  micNamespace: "default",
  probePort: 8080,
  probeListenAddress: "0.0.0.0",
  prometheusPort: 9090,
  retryAttemptsForCreated: 16,
  retryAttemptsForAssigned: 4,
  findIdentityRetryIntervalSec: 5,
  enableScaleFeatures: true,
  blockInstanceMetadata: false,
  metadataHeaderRequired: true,
  operationMode: "standard",
  allowNetworkPluginKubenet: false,
  kubeletConfigPath: "/etc/default/kubelet",
  kubeletPodsDir: "/var/lib/kubelet/pods",
  setRetryAfterHeader: false,
  enableConntrackDeletion: false,
  hostToken: "scoped",
  interceptionRelease: "fail-closed",
  // podid's own namespace (deploy/, where MIC's exception lives) and kube-system (AKS add-ons).
  exceptionNamespaces: DEFAULT_EXCEPTION_NAMESPACES,
  exceptionPassthrough: false,
  interception: "iptables",
  antiSpoofing: true,
  podRateLimitPerSecond: DEFAULT_POD_RATE_LIMITER_CONFIG.ratePerSecond,
  podRateBurst: DEFAULT_POD_RATE_LIMITER_CONFIG.burst,
  shutdownTimeoutSec: 25,
  logLevel: "info",
  enableProfile: false,
  proxyTimeoutMs: 30_000,
  bodyLimitBytes: 64 * 1024,
  maxConnectionsPerPod: 64,
  maxConnections: 4096,
  descriptorReserve: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  memoiseDecisions: true,
};

/** What {@link defineNmiConfig} takes: the node name and any values; `undefined` means "the default". */
export type NmiConfigInput = { readonly nodeName: string } & { readonly [K in keyof NmiConfig]?: NmiConfig[K] | undefined };

/**
 * A complete {@link NmiConfig}: {@link NMI_CONFIG_DEFAULTS} with every value that `input` defines. The only
 * place defaults are applied (`parseNmiFlags` passes the flags that were given; tests pass what they vary).
 */
export function defineNmiConfig(input: NmiConfigInput): NmiConfig {
  const config: Record<string, unknown> = { ...NMI_CONFIG_DEFAULTS };
  for (const [key, value] of Object.entries(input)) if (value !== undefined) config[key] = value;
  return config as unknown as NmiConfig;
}

/**
 * The decision options core uses, from the flags. The wait bounds keep the original's arithmetic: a pod
 * with no AAI at all may wait `created × interval` (16 × 5 s = 80 s), one whose AAI is `Created` up to
 * `(created + assigned) × interval` (20 × 5 s = 100 s) in total — but podid waits for the watch event
 * instead of polling, so a request completes as soon as the identity is `Assigned`.
 */
export function decisionOptionsFrom(config: NmiConfig): NmiDecisionOptions {
  const intervalMs = config.findIdentityRetryIntervalSec * 1000;
  return {
    metadataHeaderRequired: config.metadataHeaderRequired,
    setRetryAfterHeader: config.setRetryAfterHeader,
    // The original's fixed `Retry-After: 20`; no flag sets it.
    retryAfterSeconds: NMI_RETRY_AFTER_SECONDS,
    waitForCreatedMs: config.retryAttemptsForCreated * intervalMs,
    waitForAssignedMs: (config.retryAttemptsForCreated + config.retryAttemptsForAssigned) * intervalMs,
    hostTokenMode: config.hostToken,
    blockInstanceMetadata: config.blockInstanceMetadata,
    exceptionNamespaces: config.exceptionNamespaces,
    exceptionPassthrough: config.exceptionPassthrough,
  };
}

/** The name of the nat chain, kept from the original so existing tooling and runbooks still apply. */
const INTERCEPTION_CHAIN = "aad-metadata";

/** True for the addresses that mean "every interface". */
function isWildcard(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/**
 * The interception to install: pod TCP traffic to the metadata address goes to NMI, at the address it
 * listens on. When NMI listens on every interface the DNAT target is the node IP (`HOST_IP`) if known, else
 * 127.0.0.1 as in the original (which then needs `route_localnet=1`).
 */
export function interceptionSpecFrom(config: NmiConfig): InterceptionSpec {
  return {
    chain: INTERCEPTION_CHAIN,
    metadataAddress: config.metadataAddress,
    metadataPort: config.metadataPort,
    targetAddress: isWildcard(config.listenAddress) ? (config.hostIp ?? "127.0.0.1") : config.listenAddress,
    targetPort: config.port,
  };
}

/**
 * Every address the token server listens on: the listen address, plus 127.0.0.1 unless `--host-token=off`
 * when the listen address is neither loopback nor a wildcard — `/host/token` answers only callers on
 * 127.0.0.1, and host agents such as the Key Vault FlexVolume call it there, as with the original.
 */
export function listenAddressesFrom(config: NmiConfig): readonly string[] {
  const loopbackToo = config.hostToken !== "off" && !isWildcard(config.listenAddress) && !isLoopbackIpv4(config.listenAddress);
  return loopbackToo ? [config.listenAddress, "127.0.0.1"] : [config.listenAddress];
}
