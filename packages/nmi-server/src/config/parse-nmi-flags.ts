import type { Command } from "commander";
import {
  err,
  ok,
  parseChoiceFlag,
  parseHostTokenMode,
  parseIntegerFlag,
  parseIpFlag,
  parseNumberFlag,
  type DeployableCommand,
  type FlagEnvironment,
  type FlagValue,
  type HostTokenMode,
  type InvalidFlags,
  type IptablesBackendSetting,
  type Result,
} from "@podid/core";
import { boolArg, flagArg, parseDaemonFlags, type DaemonCommandLine, type ParsedFlags, type RunCommand } from "@podid/daemon-shell";
import { NMI_VERSION } from "../version.js";
import {
  defineNmiConfig,
  NMI_CONFIG_DEFAULTS,
  type InterceptionMode,
  type InterceptionRelease,
  type NmiConfig,
  type NmiLogLevel,
  type OperationMode,
} from "./nmi-config.js";

/**
 * `parseNmiFlags`: the original NMI's command line (its flag names and defaults) plus podid's additions,
 * parsed with commander into the one {@link NmiConfig}. Commander applies no defaults: an absent flag
 * stays `undefined` and `defineNmiConfig` fills it from `NMI_CONFIG_DEFAULTS`, so each default is applied
 * in one place (the help text only names it). daemon-shell's `parseDaemonFlags` runs the program
 * (help, `--version`, Go-style arguments). Pure: the process environment is passed in, nothing is
 * printed and nothing exits.
 * @packageDocumentation
 */

/** What the command line asks for. */
export type NmiCommand = DeployableCommand<NmiConfig>;

const ipArg = flagArg(parseIpFlag);
const integerArg = (min: number, max: number) => flagArg((text) => parseIntegerFlag(text, min, max));
const numberArg = (min: number) => flagArg((text) => parseNumberFlag(text, { atLeast: min }));
const choiceArg = <T extends string>(choices: readonly T[], options: { readonly caseInsensitive?: boolean } = {}) =>
  flagArg((text) => parseChoiceFlag(text, choices, options));

/** A Kubernetes namespace name (RFC 1123 label). */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * `--exception-namespaces`: comma-separated namespace names (spaces around names ignored, duplicates
 * dropped); an empty value honours no exception at all.
 */
function parseNamespaceList(text: string): FlagValue<readonly string[]> {
  const names = text.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const bad = names.find((name) => !NAMESPACE_NAME.test(name));
  if (bad !== undefined) return err({ kind: "invalidFlagValue", expected: `comma-separated namespace names (${JSON.stringify(bad)} is not one)` });
  return ok([...new Set(names)]);
}
const namespaceListArg = flagArg(parseNamespaceList);

/** An absolute directory path (trailing slashes dropped): NMI joins pod UIDs under it. */
const absolutePathArg = flagArg((text: string): FlagValue<string> =>
  text.startsWith("/") && !text.includes("\0") ? ok(text.replace(/(.)\/+$/, "$1")) : err({ kind: "invalidFlagValue", expected: "an absolute path" }),
);

/** Ports: 0 asks the OS for a free one (used by tests; the DNAT follows the port actually bound). */
const port = integerArg(0, 65_535);
const count = integerArg(0, 10_000);
const D = NMI_CONFIG_DEFAULTS;

/** A flag's description with its default named (commander's own default would apply it a second time). */
const described = (description: string, fallback: unknown): string => `${description} (default: ${JSON.stringify(fallback)})`;

/** NMI's flags, added to daemon-shell's program (which has `-h/--help` and `--version`). */
function addNmiFlags(program: Command): void {
  // Not daemon-shell's `boolOption`: that one gives commander the default, which `defineNmiConfig` applies.
  const bool = (flags: string, description: string, fallback: boolean) => [`${flags} [bool]`, described(description, fallback), boolArg] as const;
  const valued = <T>(flags: string, description: string, parse: (text: string) => T, fallback: T) => [flags, described(description, fallback), parse] as const;
  const text = (flags: string, description: string, fallback: string) => [flags, described(description, fallback)] as const;
  program
    .option("--node <name>", "node name (required): only pods of this node can be callers")
    .option(...valued("--nmi-listen-address <ip>", "address the token server listens on and the DNAT target (default: env HOST_IP, the node IP, if set)", ipArg, D.listenAddress))
    .option(...valued("--iptables-backend <backend>", "iptables tools to use: auto (the backend holding the node's rules, nft when equal), nft or legacy", choiceArg<IptablesBackendSetting>(["auto", "nft", "legacy"]), D.iptablesBackend))
    .option(...valued("--nmi-port <port>", "token server port (and DNAT target port)", port, D.port))
    .option(...valued("--metadata-ip <ip>", "instance metadata address to intercept and proxy to", ipArg, D.metadataAddress))
    .option(...valued("--metadata-port <port>", "instance metadata port", port, D.metadataPort))
    .option(...valued("--ipt-update-interval-sec <seconds>", "interval of the interception check and repair", integerArg(1, 86_400), D.iptUpdateIntervalSec))
    .option(...bool("--forceNamespaced", "pod, binding and identity must share a namespace (also env FORCENAMESPACED=true)", D.forceNamespaced))
    .option(...text("--MICNamespace <namespace>", "accepted for compatibility; podid has no MIC bypass (use an exception)", D.micNamespace))
    .option(...valued("--http-probe-port <port>", "port of /healthz, /readyz and /livez", port, D.probePort))
    .option(...valued("--probe-listen-address <ip>", "address of the probe and metrics servers", ipArg, D.probeListenAddress))
    .option(...valued("--retry-attempts-for-created <n>", "wait bound (× interval) for a pod's first AzureAssignedIdentity", count, D.retryAttemptsForCreated))
    .option(...valued("--retry-attempts-for-assigned <n>", "extra wait bound (× interval) for a Created identity to become Assigned", count, D.retryAttemptsForAssigned))
    .option(...valued("--find-identity-retry-interval <seconds>", "interval the wait bounds are counted in", integerArg(0, 3_600), D.findIdentityRetryIntervalSec))
    .option(...bool("--enableProfile", "accepted for compatibility and ignored", D.enableProfile))
    .option(...bool("--enableScaleFeatures", "watch only this node's AzureAssignedIdentities (nodename label)", D.enableScaleFeatures))
    .option(...bool("--block-instance-metadata", "answer /metadata/instance with 403", D.blockInstanceMetadata))
    .option(...bool("--metadata-header-required", "require the Metadata: true header", D.metadataHeaderRequired))
    .option(...valued("--prometheus-port <port>", "port of /metrics", port, D.prometheusPort))
    .option(...valued("--operation-mode <mode>", "standard (AzureAssignedIdentities) or managed (bindings)", choiceArg<OperationMode>(["standard", "managed"], { caseInsensitive: true }), D.operationMode))
    .option(...bool("--allow-network-plugin-kubenet", "skip the kubenet refusal (CVE-2021-1677)", D.allowNetworkPluginKubenet))
    .option(...text("--kubelet-config <path>", "file scanned for --network-plugin=kubenet", D.kubeletConfigPath))
    .option(...valued("--kubelet-pods-dir <path>", "kubelet's pods directory (read-only): pods' projected service-account tokens for federated identities", absolutePathArg, D.kubeletPodsDir))
    .option(...bool("--set-retry-after-header", "answer a not-yet-assigned identity with 503 + Retry-After instead of waiting", D.setRetryAfterHeader))
    .option(...bool("--enable-conntrack-deletion", "flush conntrack entries to the metadata address after installing the rules", D.enableConntrackDeletion))
    .option("--kubeconfig <path>", "kubeconfig file (default: env KUBECONFIG, else in-cluster)")
    // `--host-token` alone (an earlier podid's boolean flag) keeps meaning what it switched on: unscoped.
    .option(
      ...valued(
        "--host-token [mode]",
        "/host/token for node agents (Key Vault volume drivers): scoped (pods of this node with a Key Vault volume in pod-identity mode), unscoped (any pod of this node, as the original) or off; true = unscoped, false = off",
        flagArg(parseHostTokenMode),
        D.hostToken,
      ),
    )
    .option(...valued("--interception <mode>", "iptables (fail-closed rules) or none (demo/development only: nothing intercepts pod traffic)", choiceArg<InterceptionMode>(["iptables", "none"]), D.interception))
    .option(...bool("--anti-spoofing", "bind pod IPs to their host interface/bridge port, drop spoofed metadata traffic and ARP, refuse unresolved pods (docs/adr/0010)", D.antiSpoofing))
    .option(...valued("--interception-release <mode>", "on shutdown: fail-closed (block pod traffic to the metadata address) or remove (the original's fail-open cleanup)", choiceArg<InterceptionRelease>(["fail-closed", "remove"]), D.interceptionRelease))
    .option(...valued("--exception-namespaces <namespaces>", "comma-separated namespaces whose AzurePodIdentityExceptions are honoured", namespaceListArg, D.exceptionNamespaces))
    .option(...bool("--exception-passthrough", "excepted pods may obtain any identity, also those AzureIdentities name (the original's behaviour)", D.exceptionPassthrough))
    .option(...valued("--pod-rate-limit <perSecond>", "token requests per second per pod (0 disables)", numberArg(0), D.podRateLimitPerSecond))
    .option(...valued("--pod-rate-burst <n>", "burst of token requests per pod", integerArg(1, 100_000), D.podRateBurst))
    .option(...valued("--max-connections-per-pod <n>", "connections one pod (source address) may hold open; more are closed at accept", integerArg(1, 1_000_000), D.maxConnectionsPerPod))
    .option(...valued("--max-connections <n>", "connections in total (lowered to the descriptor limit minus a reserve)", integerArg(1, 1_000_000), D.maxConnections))
    .option(...valued("--graceful-shutdown-timeout-sec <seconds>", "longest drain on SIGTERM", integerArg(0, 3_600), D.shutdownTimeoutSec))
    .option(...valued("--log-level <level>", "debug, info, warn or error", choiceArg<NmiLogLevel>(["debug", "info", "warn", "error"]), D.logLevel));
}

/** Raw option values as commander returns them (names are the camel-cased flags; absent flags are `undefined`). */
interface RawOptions {
  readonly node?: string;
  readonly nmiListenAddress?: string;
  readonly iptablesBackend?: IptablesBackendSetting;
  readonly nmiPort?: number;
  readonly metadataIp?: string;
  readonly metadataPort?: number;
  readonly iptUpdateIntervalSec?: number;
  readonly forceNamespaced?: boolean;
  readonly MICNamespace?: string;
  readonly httpProbePort?: number;
  readonly probeListenAddress?: string;
  readonly retryAttemptsForCreated?: number;
  readonly retryAttemptsForAssigned?: number;
  readonly findIdentityRetryInterval?: number;
  readonly enableProfile?: boolean;
  readonly enableScaleFeatures?: boolean;
  readonly blockInstanceMetadata?: boolean;
  readonly metadataHeaderRequired?: boolean;
  readonly prometheusPort?: number;
  readonly operationMode?: OperationMode;
  readonly allowNetworkPluginKubenet?: boolean;
  readonly kubeletConfig?: string;
  readonly kubeletPodsDir?: string;
  readonly setRetryAfterHeader?: boolean;
  readonly enableConntrackDeletion?: boolean;
  readonly kubeconfig?: string;
  /** `true` for `--host-token` without a value. */
  readonly hostToken?: HostTokenMode | true;
  readonly interceptionRelease?: InterceptionRelease;
  readonly interception?: InterceptionMode;
  readonly antiSpoofing?: boolean;
  readonly exceptionNamespaces?: readonly string[];
  readonly exceptionPassthrough?: boolean;
  readonly podRateLimit?: number;
  readonly podRateBurst?: number;
  readonly gracefulShutdownTimeoutSec?: number;
  readonly maxConnectionsPerPod?: number;
  readonly maxConnections?: number;
  readonly logLevel?: NmiLogLevel;
}

/** An IPv4 address in dotted-quad form (what a DNAT target must be). */
const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

/**
 * Env `HOST_IP` (the DaemonSet sets it from `status.hostIP`): absent or empty means unknown. Checked only
 * where it is used — as the listen address and DNAT target — which must be IPv4 (IMDS is IPv4-only).
 */
function checkHostIp(hostIp: string | undefined, listenFlag: string | undefined): string | undefined {
  const used = listenFlag === undefined || listenFlag === "0.0.0.0" || listenFlag === "::";
  if (hostIp === undefined || !used || IPV4.test(hostIp)) return undefined;
  return `env HOST_IP=${JSON.stringify(hostIp)} is not an IPv4 address; NMI DNATs the IPv4 metadata address to it: give the node's IPv4 address, or set --nmi-listen-address`;
}

/** Checks that need several flags together. */
function validate(config: NmiConfig): string | undefined {
  if (config.nodeName.trim() === "") return "--node is required (the name of the node this NMI serves)";
  if (config.operationMode === "managed" && !config.forceNamespaced) {
    // The original refused too ("managed mode not intialized in force namespaced mode").
    return "--operation-mode=managed requires --forceNamespaced=true (or env FORCENAMESPACED=true)";
  }
  if (config.port !== 0 && (config.probePort === config.port || config.prometheusPort === config.port)) {
    return "--nmi-port must differ from --http-probe-port and --prometheus-port (health and metrics are never served to pods)";
  }
  return undefined;
}

/** The flags' values as the one {@link NmiConfig}, with notices for accepted no-op flags; or the refusal. */
function interpret({ options: o, env }: ParsedFlags<RawOptions>): Result<Omit<RunCommand<NmiConfig>, "kind">, InvalidFlags> {
  const kubeconfig = o.kubeconfig ?? (env["KUBECONFIG"] !== undefined && env["KUBECONFIG"] !== "" ? env["KUBECONFIG"] : undefined);
  const hostIp = env["HOST_IP"] === undefined || env["HOST_IP"].trim() === "" ? undefined : env["HOST_IP"].trim();
  const badHostIp = checkHostIp(hostIp, o.nmiListenAddress);
  if (badHostIp !== undefined) return err({ kind: "invalidFlags", message: badHostIp });
  const config = defineNmiConfig({
    nodeName: o.node ?? "",
    listenAddress: o.nmiListenAddress ?? hostIp,
    hostIp,
    iptablesBackend: o.iptablesBackend,
    port: o.nmiPort,
    metadataAddress: o.metadataIp,
    metadataPort: o.metadataPort,
    iptUpdateIntervalSec: o.iptUpdateIntervalSec,
    forceNamespaced: env["FORCENAMESPACED"] === "true" ? true : o.forceNamespaced,
    micNamespace: o.MICNamespace,
    probePort: o.httpProbePort,
    probeListenAddress: o.probeListenAddress,
    prometheusPort: o.prometheusPort,
    retryAttemptsForCreated: o.retryAttemptsForCreated,
    retryAttemptsForAssigned: o.retryAttemptsForAssigned,
    findIdentityRetryIntervalSec: o.findIdentityRetryInterval,
    enableScaleFeatures: o.enableScaleFeatures,
    blockInstanceMetadata: o.blockInstanceMetadata,
    metadataHeaderRequired: o.metadataHeaderRequired,
    operationMode: o.operationMode,
    allowNetworkPluginKubenet: o.allowNetworkPluginKubenet,
    kubeletConfigPath: o.kubeletConfig,
    kubeletPodsDir: o.kubeletPodsDir,
    setRetryAfterHeader: o.setRetryAfterHeader,
    enableConntrackDeletion: o.enableConntrackDeletion,
    kubeconfig,
    hostToken: o.hostToken === true ? "unscoped" : o.hostToken,
    interceptionRelease: o.interceptionRelease,
    interception: o.interception,
    antiSpoofing: o.antiSpoofing,
    exceptionNamespaces: o.exceptionNamespaces,
    exceptionPassthrough: o.exceptionPassthrough,
    podRateLimitPerSecond: o.podRateLimit,
    podRateBurst: o.podRateBurst,
    shutdownTimeoutSec: o.gracefulShutdownTimeoutSec,
    maxConnectionsPerPod: o.maxConnectionsPerPod,
    maxConnections: o.maxConnections,
    logLevel: o.logLevel,
    enableProfile: o.enableProfile,
  });
  const problem = validate(config);
  if (problem !== undefined) return err({ kind: "invalidFlags", message: problem });
  const notices: string[] = [];
  if (config.enableProfile) notices.push("--enableProfile is ignored: podid-nmi has no pprof endpoint");
  if (config.micNamespace !== D.micNamespace) {
    notices.push("--MICNamespace is ignored: podid has no MIC bypass; give MIC its node identity with an AzurePodIdentityException");
  }
  return ok({ config, notices });
}

/** NMI's command line for daemon-shell's parser. */
const NMI_COMMAND_LINE: DaemonCommandLine<RawOptions, NmiConfig> = {
  name: "podid-nmi",
  description: "podid node daemon (NMI): IMDS-compatible token server for pods",
  versionText: NMI_VERSION.text,
  flags: addNmiFlags,
  interpret,
};

/**
 * Parses NMI's command line. Accepts `--flag=value`, `--flag value` and Go's `-flag=value`; booleans take
 * Go's spellings (`--flag`, `--flag=false`, `-flag=0`, …). `env` supplies `FORCENAMESPACED` (exactly
 * `true`, as the original), `KUBECONFIG` and `HOST_IP` (the node IP: default listen address and DNAT target). Returns the run configuration with notices for accepted
 * no-op flags, the version or help text, or an error naming the bad flag.
 */
export function parseNmiFlags(argv: readonly string[], env: FlagEnvironment = {}): Result<NmiCommand, InvalidFlags> {
  return parseDaemonFlags(NMI_COMMAND_LINE, argv, env);
}
