import { Option, type Command } from "commander";
import {
  defaultLeaderElectionConfig,
  err,
  formatGoDuration,
  ok,
  parseGoBool,
  parseChoiceFlag,
  parseDurationFlag,
  parseIntegerFlag,
  parseIpFlag,
  parseNumberFlag,
  validateLeaderElectionConfig,
  type DeployableCommand,
  type FlagEnvironment,
  type InvalidFlags,
  type LeaderElectionConfigError,
  type Result,
} from "@podid/core";
import { boolOption, flagArg, parseDaemonFlags, type DaemonCommandLine, type ParsedFlags, type RunCommand } from "@podid/daemon-shell";
import { MIC_DAEMON_VERSION } from "../version.js";
import { MIC_CONFIG_DEFAULTS, MIC_LOG_LEVELS, type MicConfig, type MicLogLevel } from "./mic-config.js";

/**
 * `parseMicFlags`: the original MIC's command line (`cmd/mic/main.go`, docs/compatibility.md#mic-flags: same
 * names, same defaults, Go duration syntax, Go's single- or double-dash spellings) plus the klog flags its
 * manifests passed and podid's few additions, parsed with commander into a typed {@link MicConfig}. Pure: the
 * environment and host name are passed in; nothing is printed and nothing exits.
 * @packageDocumentation
 */

/** What the command line asks for. */
export type MicCommand = DeployableCommand<MicConfig>;

/** Facts about the host the defaults depend on. */
export interface MicHost {
  /** The default of `--leader-election-instance` (the original used `os.Hostname()`: the pod name). */
  readonly hostname: string;
}

const ipArg = flagArg(parseIpFlag);
const positiveNumberArg = flagArg((text) => parseNumberFlag(text, { above: 0 }));
const integerArg = (min: number, max: number) => flagArg((text) => parseIntegerFlag(text, min, max));
const durationArg = (minMs: number) => flagArg((text) => parseDurationFlag(text, minMs));
const logLevelArg = flagArg((text) => parseChoiceFlag(text, MIC_LOG_LEVELS, { caseInsensitive: true }));
const logFormatArg = flagArg((text) => parseChoiceFlag(text, ["json", "text"] as const, { caseInsensitive: true }));

function describeElectionError(error: LeaderElectionConfigError): string {
  switch (error.kind) {
    case "emptyIdentity":
      return "the holder identity is empty";
    case "nonPositiveDuration":
      return `${error.field} must be positive`;
    case "renewDeadlineNotBelowLeaseDuration":
      return "the renew deadline must be below the lease duration";
    case "retryPeriodTooLong":
      return "the retry period is too long for the renew deadline";
  }
}

/** Splits `--immutable-user-msis` like the original (comma-separated; blanks dropped). */
function idListArg(text: string): string[] {
  return text
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
}

const D = MIC_CONFIG_DEFAULTS;

function isHttpsUrl(text: string): boolean {
  try {
    return new URL(text).protocol === "https:";
  } catch {
    return false;
  }
}
const port = integerArg(0, 65_535);

/** Adds MIC's flags to daemon-shell's program (which has `-h, --help` and `--version`). */
function addMicFlags(program: Command): void {
  // Durations are shown in Go's notation in the help text, not as milliseconds.
  const duration = (flags: string, description: string, minMs: number, fallbackMs: number) =>
    new Option(flags, description).argParser(durationArg(minMs)).default(fallbackMs, formatGoDuration(fallbackMs));
  program
    .option("--kubeconfig <path>", "kubeconfig file (empty: $KUBECONFIG, else in-cluster in a pod, else ~/.kube/config)", D.kubeconfig)
    .option("--cloudconfig <path>", "azure.json path, watched and reloaded (empty: environment variables CLOUD, TENANT_ID, CLIENT_ID, …)", D.cloudconfig)
    .addOption(boolOption("--forceNamespaced", "pod, binding and identity must share a namespace (also env FORCENAMESPACED=true)", D.forceNamespaced))
    .addOption(duration("--syncRetryDuration <duration>", "interval of the unconditional full planning pass", 1, D.syncRetryIntervalMs))
    .option("--leader-election-instance <name>", "holder identity in the leader Lease (default: host name)")
    .option("--leader-election-namespace <namespace>", "namespace of the leader Lease", D.leaderElectionNamespace)
    .option("--leader-election-name <name>", "name of the leader Lease", D.leaderElectionName)
    .addOption(duration("--leader-election-duration <duration>", "lease duration (renew deadline = 1/2, retry period = 1/4)", 1_000, D.leaderElectionDurationMs))
    .option("--http-probe-port <port>", "port of /healthz, /readyz and /livez", port, D.probePort)
    .option("--prometheus-port <port>", "port of /metrics (the probe server serves it too when both ports are equal)", port, D.prometheusPort)
    .option("--listen-address <ip>", "address the probe and metrics servers bind (podid)", ipArg, D.listenAddress)
    .addOption(boolOption("--enableProfile", "accepted for compatibility and ignored (podid serves no pprof)", false))
    .addOption(boolOption("--enableScaleFeatures", "deprecated, no effect on MIC", false))
    .option("--createDeleteBatch <n>", "AzureAssignedIdentity writes running at once", integerArg(1, 10_000), D.createDeleteBatch)
    .option("--clientQps <qps>", "Kubernetes client requests per second (and burst)", positiveNumberArg, D.clientQps)
    .option("--immutable-user-msis <ids>", "comma-separated client (or resource) ids never detached from a VM/VMSS", idListArg, [])
    .option("--config-map-name <name>", "accepted for compatibility (type upgrade marker; podid needs no upgrade)", D.configMapName)
    .option("--type-upgrade-status-key <key>", "accepted for compatibility (type upgrade marker; podid needs no upgrade)", D.typeUpgradeStatusKey)
    .addOption(boolOption("--enable-type-upgrade", "accepted for compatibility (podid reads the pre-1.6 field names as they are)", true))
    .option("--update-user-msi-max-retry <n>", "PATCH retries after leaving identities ARM refused out", integerArg(0, 100), D.updateUserMsiMaxRetry)
    .addOption(duration("--update-user-msi-retry-interval <duration>", "accepted and validated (podid retries without the refused identities at once)", 0, D.updateUserMsiRetryIntervalMs))
    .addOption(duration("--identity-assignment-reconcile-interval <duration>", "interval of the Azure drift repair (read back each VM/VMSS)", 1, D.identityAssignmentReconcileIntervalMs))
    .addOption(duration("--batch-window <duration>", "changes within this window are planned together (podid)", 0, D.batchWindowMs))
    .addOption(duration("--arm-poll-interval <duration>", "polling interval of a PATCH's long-running operation when ARM sends no Retry-After (podid)", 1, D.armPollIntervalMs))
    .option("--log-level <level>", "debug, info, warn or error (podid)", logLevelArg)
    .option("-v, --v <level>", "klog verbosity: 4 or more selects --log-level=debug", integerArg(0, 10))
    .option("--log-format <format>", "klog: json (podid always writes JSON) or text", logFormatArg)
    .addOption(boolOption("--logtostderr", "klog: accepted (podid writes JSON lines to stdout)", true))
    .addOption(boolOption("--alsologtostderr", "klog: accepted and ignored", false))
    .option("--log_dir <dir>", "klog: accepted and ignored")
    .option("--custom-user-agent <text>", "appended to the user agent of Kubernetes and ARM requests", "")
    .option(
      "--service-account-issuer <url>",
      "https issuer of the cluster's service-account tokens, trusted by the federated identity credentials MIC writes for type-3 identities (podid; default: read from the API server's /.well-known/openid-configuration)",
      D.serviceAccountIssuer,
    );
}

/** Raw option values as commander returns them (camel-cased flag names). */
interface RawOptions {
  readonly kubeconfig: string;
  readonly cloudconfig: string;
  readonly forceNamespaced: boolean;
  readonly syncRetryDuration: number;
  readonly leaderElectionInstance?: string;
  readonly leaderElectionNamespace: string;
  readonly leaderElectionName: string;
  readonly leaderElectionDuration: number;
  readonly httpProbePort: number;
  readonly prometheusPort: number;
  readonly listenAddress: string;
  readonly enableProfile: boolean;
  readonly enableScaleFeatures: boolean;
  readonly createDeleteBatch: number;
  readonly clientQps: number;
  readonly immutableUserMsis: string[];
  readonly configMapName: string;
  readonly typeUpgradeStatusKey: string;
  readonly enableTypeUpgrade: boolean;
  readonly updateUserMsiMaxRetry: number;
  readonly updateUserMsiRetryInterval: number;
  readonly identityAssignmentReconcileInterval: number;
  readonly batchWindow: number;
  readonly armPollInterval: number;
  readonly logLevel?: MicLogLevel;
  readonly v?: number;
  readonly logFormat?: "json" | "text";
  readonly logtostderr: boolean;
  readonly alsologtostderr: boolean;
  readonly log_dir?: string;
  readonly customUserAgent: string;
  readonly serviceAccountIssuer: string;
}

/**
 * Parses MIC's command line. Accepts `--flag=value`, `--flag value` and Go's `-flag=value` / `-flag value`;
 * booleans take Go's spellings (`--flag`, `--flag=false`, `-flag=0`, …); durations take Go's syntax
 * (`15s`, `3m`, `1h30m`). `env` supplies `FORCENAMESPACED` (any of Go's true spellings) and `HOSTNAME`;
 * `host.hostname` is the default Lease holder identity (default: `env.HOSTNAME`). Returns the run configuration with notices for deprecated or compatibility-only flags,
 * the version or help text, or an error naming the bad flag.
 */
export function parseMicFlags(
  argv: readonly string[],
  env: FlagEnvironment = {},
  host: MicHost = { hostname: env["HOSTNAME"] ?? "" },
): Result<MicCommand, InvalidFlags> {
  return parseDaemonFlags(micCommandLine(host), argv, env);
}

/** MIC's command line for daemon-shell's `parseDaemonFlags`. */
function micCommandLine(host: MicHost): DaemonCommandLine<RawOptions, MicConfig> {
  return {
    name: "podid-mic",
    description: "podid controller (MIC): assigns user-assigned identities to the VMs and scale sets of pods that use them",
    versionText: MIC_DAEMON_VERSION.text,
    flags: addMicFlags,
    interpret: (parsed) => interpretMicFlags(parsed, host),
  };
}

/** The run configuration from the parsed values, or the first cross-flag problem. */
function interpretMicFlags({ options: o, given, env }: ParsedFlags<RawOptions>, host: MicHost): Result<Omit<RunCommand<MicConfig>, "kind">, InvalidFlags> {
  const instance = (o.leaderElectionInstance ?? host.hostname).trim();
  const config: MicConfig = {
    kubeconfig: o.kubeconfig,
    cloudconfig: o.cloudconfig,
    forceNamespaced: o.forceNamespaced || parseGoBool(env["FORCENAMESPACED"] ?? "") === true,
    syncRetryIntervalMs: o.syncRetryDuration,
    leaderElection: {
      instance,
      namespace: o.leaderElectionNamespace.trim(),
      name: o.leaderElectionName.trim(),
      durationMs: o.leaderElectionDuration,
    },
    probePort: o.httpProbePort,
    prometheusPort: o.prometheusPort,
    listenAddress: o.listenAddress,
    immutableUserMsis: o.immutableUserMsis,
    createDeleteBatch: o.createDeleteBatch,
    clientQps: o.clientQps,
    updateUserMsiMaxRetry: o.updateUserMsiMaxRetry,
    updateUserMsiRetryIntervalMs: o.updateUserMsiRetryInterval,
    identityAssignmentReconcileIntervalMs: o.identityAssignmentReconcileInterval,
    batchWindowMs: o.batchWindow,
    armPollIntervalMs: o.armPollInterval,
    logLevel: o.logLevel ?? (o.v !== undefined && o.v >= 4 ? "debug" : D.logLevel),
    customUserAgent: o.customUserAgent.trim(),
    serviceAccountIssuer: o.serviceAccountIssuer.trim(),
    typeUpgrade: { enabled: o.enableTypeUpgrade, configMapName: o.configMapName, statusKey: o.typeUpgradeStatusKey },
  };

  if (config.leaderElection.instance === "") {
    return err({ kind: "invalidFlags", message: "--leader-election-instance is empty and the host name is unknown; set it (e.g. to the pod name)" });
  }
  if (config.leaderElection.namespace === "" || config.leaderElection.name === "") {
    return err({ kind: "invalidFlags", message: "--leader-election-namespace and --leader-election-name must not be empty" });
  }
  if (config.serviceAccountIssuer !== "" && !isHttpsUrl(config.serviceAccountIssuer)) {
    // Entra ID fetches the issuer's discovery document over HTTPS and matches the issuer exactly.
    return err({ kind: "invalidFlags", message: `--service-account-issuer must be an https URL, got ${JSON.stringify(config.serviceAccountIssuer)}` });
  }
  const election = validateLeaderElectionConfig(defaultLeaderElectionConfig(instance, config.leaderElection.durationMs));
  if (!election.ok) return err({ kind: "invalidFlags", message: `--leader-election-duration: ${describeElectionError(election.error)}` });

  const notices: string[] = [];
  if (given("enableScaleFeatures")) notices.push("--enableScaleFeatures is deprecated and has no effect on MIC");
  if (given("enableProfile")) notices.push("--enableProfile is ignored: podid-mic serves no pprof endpoint");
  if (given("enableTypeUpgrade") || given("configMapName") || given("typeUpgradeStatusKey")) {
    notices.push(
      "type upgrade not needed: podid reads the pre-1.6 PascalCase fields of identities and bindings as they are, so --enable-type-upgrade, --config-map-name and --type-upgrade-status-key have no effect",
    );
  }
  if (given("updateUserMsiRetryInterval")) {
    notices.push("--update-user-msi-retry-interval is accepted; podid retries a PATCH without the identities ARM refused at once and quarantines them");
  }
  if (o.logFormat === "text") notices.push("--log-format=text is ignored: podid-mic always writes JSON lines");
  if (given("alsologtostderr") || o.log_dir !== undefined) notices.push("--alsologtostderr and --log_dir are ignored: podid-mic writes JSON lines to stdout");
  return ok({ config, notices });
}
