import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readPackageVersion } from "@podid/daemon-shell";
import { MIC_DAEMON_VERSION, MIC_VERSION } from "../version.js";
import { controllerOptionsFrom, type MicConfig } from "./mic-config.js";
import { parseMicFlags, type MicCommand } from "./parse-mic-flags.js";

const HOST = { hostname: "mic-7d9f-abcde" };

function run(argv: readonly string[], env: Readonly<Record<string, string>> = {}): { config: MicConfig; notices: readonly string[] } {
  const parsed = parseMicFlags(argv, env, HOST);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const command: MicCommand = parsed.value;
  if (command.kind !== "run") throw new Error(`expected run, got ${command.kind}`);
  return { config: command.config, notices: command.notices };
}

function failure(argv: readonly string[]): string {
  const parsed = parseMicFlags(argv, {}, HOST);
  if (parsed.ok) throw new Error(`expected ${argv.join(" ")} to be refused`);
  return parsed.error.message;
}

describe("parseMicFlags", () => {
  it("has the original MIC's defaults (docs/compatibility.md#mic-flags), except --clientQps 50 (docs/adr/0013-pipelined-assignment-and-client-qps.md)", () => {
    const { config, notices } = run([]);
    expect(config).toEqual({
      kubeconfig: "",
      cloudconfig: "",
      forceNamespaced: false,
      syncRetryIntervalMs: 3_600_000,
      leaderElection: { instance: "mic-7d9f-abcde", namespace: "default", name: "aad-pod-identity-mic", durationMs: 15_000 },
      probePort: 8080,
      prometheusPort: 8888,
      listenAddress: "0.0.0.0",
      immutableUserMsis: [],
      createDeleteBatch: 20,
      clientQps: 50,
      updateUserMsiMaxRetry: 2,
      updateUserMsiRetryIntervalMs: 1_000,
      identityAssignmentReconcileIntervalMs: 180_000,
      batchWindowMs: 1_000,
      armPollIntervalMs: 5_000,
      logLevel: "info",
      customUserAgent: "",
      serviceAccountIssuer: "",
      typeUpgrade: { enabled: true, configMapName: "aad-pod-identity-config", statusKey: "type-upgrade-status" },
    } satisfies MicConfig);
    expect(notices).toEqual([]);
  });

  it("reads every flag of the original, in Go's and GNU spellings alike", () => {
    const flags: readonly [string, string, (c: MicConfig) => unknown, unknown][] = [
      ["kubeconfig", "/root/.kube/config", (c) => c.kubeconfig, "/root/.kube/config"],
      ["cloudconfig", "/etc/kubernetes/azure.json", (c) => c.cloudconfig, "/etc/kubernetes/azure.json"],
      ["forceNamespaced", "true", (c) => c.forceNamespaced, true],
      ["syncRetryDuration", "30m", (c) => c.syncRetryIntervalMs, 1_800_000],
      ["leader-election-instance", "mic-0", (c) => c.leaderElection.instance, "mic-0"],
      ["leader-election-namespace", "podid-system", (c) => c.leaderElection.namespace, "podid-system"],
      ["leader-election-name", "my-lock", (c) => c.leaderElection.name, "my-lock"],
      ["leader-election-duration", "30s", (c) => c.leaderElection.durationMs, 30_000],
      ["http-probe-port", "9080", (c) => c.probePort, 9_080],
      ["prometheus-port", "9888", (c) => c.prometheusPort, 9_888],
      ["immutable-user-msis", "a1,b2 , ,c3", (c) => c.immutableUserMsis, ["a1", "b2", "c3"]],
      ["createDeleteBatch", "50", (c) => c.createDeleteBatch, 50],
      ["clientQps", "12.5", (c) => c.clientQps, 12.5],
      ["update-user-msi-max-retry", "4", (c) => c.updateUserMsiMaxRetry, 4],
      ["update-user-msi-retry-interval", "2s", (c) => c.updateUserMsiRetryIntervalMs, 2_000],
      ["identity-assignment-reconcile-interval", "1h", (c) => c.identityAssignmentReconcileIntervalMs, 3_600_000],
      ["batch-window", "250ms", (c) => c.batchWindowMs, 250],
      ["arm-poll-interval", "2s", (c) => c.armPollIntervalMs, 2_000],
      ["listen-address", "127.0.0.1", (c) => c.listenAddress, "127.0.0.1"],
      ["log-level", "debug", (c) => c.logLevel, "debug"],
      ["custom-user-agent", "contoso", (c) => c.customUserAgent, "contoso"],
      ["service-account-issuer", "https://oidc.example/abc/", (c) => c.serviceAccountIssuer, "https://oidc.example/abc/"],
      ["enable-type-upgrade", "false", (c) => c.typeUpgrade.enabled, false],
      ["config-map-name", "cm", (c) => c.typeUpgrade.configMapName, "cm"],
      ["type-upgrade-status-key", "k", (c) => c.typeUpgrade.statusKey, "k"],
    ];
    const spelling = fc.constantFrom(
      (f: string, v: string) => [`--${f}=${v}`],
      (f: string, v: string) => [`-${f}=${v}`],
      (f: string, v: string) => [`--${f}`, v],
      (f: string, v: string) => [`-${f}`, v],
    );
    fc.assert(
      fc.property(fc.shuffledSubarray([...flags], { minLength: 1 }), fc.array(spelling, { minLength: flags.length, maxLength: flags.length }), (chosen, spellings) => {
        const argv = chosen.flatMap(([flag, value], i) => (spellings[i] ?? spellings[0])?.(flag, value) ?? []);
        const { config } = run(argv);
        for (const [flag, , read, expected] of chosen) expect(read(config), flag).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it("takes --service-account-issuer only as an https URL, kept exactly (Entra ID matches issuers exactly)", () => {
    expect(run(["--service-account-issuer=https://kubernetes.default.svc.cluster.local"]).config.serviceAccountIssuer).toBe("https://kubernetes.default.svc.cluster.local");
    expect(failure(["--service-account-issuer=http://issuer.example"])).toMatch(/--service-account-issuer must be an https URL/);
    expect(failure(["--service-account-issuer=not a url"])).toMatch(/--service-account-issuer must be an https URL/);
  });

  it("takes boolean flags alone or with Go's spellings, and FORCENAMESPACED from the environment", () => {
    expect(run(["-forceNamespaced"]).config.forceNamespaced).toBe(true);
    expect(run(["--forceNamespaced=T"]).config.forceNamespaced).toBe(true);
    expect(run(["--forceNamespaced=0"]).config.forceNamespaced).toBe(false);
    expect(run([], { FORCENAMESPACED: "true" }).config.forceNamespaced).toBe(true);
    expect(run([], { FORCENAMESPACED: "nope" }).config.forceNamespaced).toBe(false);
    expect(failure(["--forceNamespaced=yes"])).toMatch(/forceNamespaced.*true or false/);
  });

  it("parses the args of the original's manifests and chart (klog flags included)", () => {
    const { config, notices } = run(["--cloudconfig=/etc/kubernetes/azure.json", "--logtostderr", "--v=2", "--log-format=json", "--enableScaleFeatures=true", "--prometheus-port=8888"]);
    expect(config.cloudconfig).toBe("/etc/kubernetes/azure.json");
    expect(config.logLevel).toBe("info");
    expect(notices).toEqual(["--enableScaleFeatures is deprecated and has no effect on MIC"]);
    expect(run(["-v=5"]).config.logLevel).toBe("debug");
  });

  it("logs why accepted compatibility flags do nothing", () => {
    const { notices } = run(["--enable-type-upgrade=true", "--update-user-msi-retry-interval=3s", "--enableProfile", "--log-format=text", "--log_dir=/tmp"]);
    expect(notices).toHaveLength(5);
    expect(notices.join("\n")).toMatch(/type upgrade not needed: podid reads the pre-1.6 PascalCase fields/);
    expect(notices.join("\n")).toMatch(/pprof/);
  });

  it("refuses what cannot run, naming the flag", () => {
    expect(failure(["--leader-election-duration=15"])).toMatch(/--leader-election-duration.*Go duration/);
    expect(failure(["--leader-election-duration=500ms"])).toMatch(/at least 1s/);
    expect(failure(["--syncRetryDuration=-1s"])).toMatch(/--syncRetryDuration/);
    expect(failure(["--createDeleteBatch=0"])).toMatch(/--createDeleteBatch/);
    expect(failure(["--clientQps=0"])).toMatch(/--clientQps/);
    expect(failure(["--http-probe-port=70000"])).toMatch(/--http-probe-port/);
    expect(failure(["--listen-address=localhost"])).toMatch(/IP address/);
    expect(failure(["--no-such-flag"])).toMatch(/unknown option/);
    expect(failure(["stray"])).toMatch(/too many arguments|unexpected/i);
    expect(parseMicFlags([], {}, { hostname: "" })).toMatchObject({ ok: false, error: { message: expect.stringMatching(/--leader-election-instance/) as unknown as string } });
  });

  it("answers --version and --help without running", () => {
    expect(parseMicFlags(["--version"], {}, HOST)).toEqual({ ok: true, value: { kind: "version", text: `podid-mic ${MIC_VERSION} (aad-pod-identity MIC compatible)` } });
    const help = parseMicFlags(["--help"], {}, HOST);
    expect(help.ok && help.value.kind === "help" && help.value.text).toMatch(/--identity-assignment-reconcile-interval <duration>.*\(default: 3m0s\)/);
  });

  it("maps flags onto the controller's options, the cluster identity included", () => {
    const { config } = run(["--forceNamespaced", "--immutable-user-msis=c1", "--createDeleteBatch=7", "--update-user-msi-max-retry=1", "--batch-window=50ms", "--identity-assignment-reconcile-interval=1m", "--syncRetryDuration=2h", "--arm-poll-interval=1s"]);
    expect(controllerOptionsFrom(config, " kubelet-client-id ")).toMatchObject({
      forceNamespaced: true,
      immutableIdentities: ["c1"],
      clusterIdentity: "kubelet-client-id",
      writeConcurrency: 7,
      maxRefusedIdentityRetries: 1,
      batchWindowMs: 50,
      driftRepairIntervalMs: 60_000,
      fullResyncIntervalMs: 7_200_000,
      operationPollMs: 1_000,
    });
    expect(controllerOptionsFrom(config, "")).not.toHaveProperty("clusterIdentity");
  });

  it("keeps MIC_VERSION equal to the package version", () => {
    expect(MIC_VERSION).toBe(readPackageVersion(new URL("../../package.json", import.meta.url)));
    expect(MIC_DAEMON_VERSION.version).toBe(MIC_VERSION);
  });
});
