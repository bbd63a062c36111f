import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NMI_VERSION } from "../version.js";
import { normaliseGoStyleArgs, parseGoBool } from "@podid/core";
import { decisionOptionsFrom, interceptionSpecFrom, listenAddressesFrom, NMI_CONFIG_DEFAULTS, type NmiConfig } from "./nmi-config.js";
import { parseNmiFlags } from "./parse-nmi-flags.js";

function run(argv: readonly string[], env: Record<string, string> = {}): NmiConfig {
  const parsed = parseNmiFlags(argv, env);
  if (!parsed.ok) throw new Error(parsed.error.message);
  if (parsed.value.kind !== "run") throw new Error(parsed.value.kind);
  return parsed.value.config;
}

function failure(argv: readonly string[]): string {
  const parsed = parseNmiFlags(argv);
  if (parsed.ok) throw new Error("expected an error");
  return parsed.error.message;
}

describe("parseNmiFlags", () => {
  it("has the original's defaults (docs/compatibility.md#nmi-flags) and podid's for its additions", () => {
    const config = run(["--node", "n1"]);
    expect(config).toEqual({ nodeName: "n1", ...NMI_CONFIG_DEFAULTS });
    expect(config).toMatchObject({
      listenAddress: "127.0.0.1",
      port: 2579,
      metadataAddress: "169.254.169.254",
      metadataPort: 80,
      iptUpdateIntervalSec: 60,
      forceNamespaced: false,
      micNamespace: "default",
      probePort: 8080,
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
      setRetryAfterHeader: false,
      enableConntrackDeletion: false,
      hostToken: "scoped",
      interceptionRelease: "fail-closed",
    });
  });

  it("accepts --flag=value, --flag value and Go's -flag=value forms, and Go's boolean spellings", () => {
    const config = run([
      "-node=n1",
      "--nmi-port",
      "3000",
      "-metadata-ip=127.0.0.1",
      "--metadata-port=8081",
      "-forceNamespaced",
      "--block-instance-metadata=1",
      "-metadata-header-required=false",
      "--enableScaleFeatures=F",
      "--operation-mode=MANAGED",
      "--MICNamespace=kube-system",
      "--set-retry-after-header",
      "--retry-attempts-for-created=2",
      "--retry-attempts-for-assigned=1",
      "--find-identity-retry-interval=3",
      "--interception-release=remove",
      "--host-token=true",
      "--kubeconfig=/etc/kube.conf",
      "--prometheus-port=9999",
      "--http-probe-port=8085",
    ]);
    expect(config).toMatchObject({
      nodeName: "n1",
      port: 3000,
      metadataAddress: "127.0.0.1",
      metadataPort: 8081,
      forceNamespaced: true,
      blockInstanceMetadata: true,
      metadataHeaderRequired: false,
      enableScaleFeatures: false,
      operationMode: "managed",
      micNamespace: "kube-system",
      setRetryAfterHeader: true,
      interceptionRelease: "remove",
      hostToken: "unscoped",
      kubeconfig: "/etc/kube.conf",
      prometheusPort: 9999,
      probePort: 8085,
    });
    expect(decisionOptionsFrom(config)).toMatchObject({ waitForCreatedMs: 6000, waitForAssignedMs: 9000, hostTokenMode: "unscoped", blockInstanceMetadata: true });
  });

  it("reads FORCENAMESPACED=true and KUBECONFIG from the environment (flags win for kubeconfig)", () => {
    expect(run(["--node=n"], { FORCENAMESPACED: "true" }).forceNamespaced).toBe(true);
    expect(run(["--node=n"], { FORCENAMESPACED: "1" }).forceNamespaced).toBe(false);
    expect(run(["--node=n"], { KUBECONFIG: "/a" }).kubeconfig).toBe("/a");
    expect(run(["--node=n", "--kubeconfig=/b"], { KUBECONFIG: "/a" }).kubeconfig).toBe("/b");
  });

  it("waits 80 s / 100 s with the defaults, as the original's 16 + 4 polls of 5 s", () => {
    expect(decisionOptionsFrom(run(["--node=n"]))).toMatchObject({ waitForCreatedMs: 80_000, waitForAssignedMs: 100_000, retryAfterSeconds: 20 });
  });

  it("refuses bad values, unknown flags, positional arguments and inconsistent combinations with a clear message", () => {
    expect(failure([])).toMatch(/--node is required/);
    expect(failure(["--node=n", "--nmi-port=70000"])).toMatch(/nmi-port/);
    expect(failure(["--node=n", "--metadata-ip=not-an-ip"])).toMatch(/metadata-ip/);
    expect(failure(["--node=n", "--operation-mode=weird"])).toMatch(/operation-mode/);
    expect(failure(["--node=n", "--block-instance-metadata=maybe"])).toMatch(/true or false/);
    expect(failure(["--node=n", "--bogus"])).toMatch(/unknown option/);
    expect(failure(["--node=n", "extra"])).toMatch(/too many arguments/);
    expect(failure(["--node=n", "--operation-mode=managed"])).toMatch(/requires --forceNamespaced/);
    expect(failure(["--node=n", "--http-probe-port=2579"])).toMatch(/must differ/);
    expect(failure(["--node=n", "--interception-release=open"])).toMatch(/fail-closed, remove/);
  });

  it("prints the version and help without running", () => {
    const version = parseNmiFlags(["--version"]);
    expect(version.ok && version.value).toEqual({ kind: "version", text: `podid-nmi ${NMI_VERSION.version}` });
    const help = parseNmiFlags(["--help"]);
    expect(help.ok && help.value.kind).toBe("help");
    expect(help.ok && help.value.kind === "help" && help.value.text).toContain("--set-retry-after-header");
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(NMI_VERSION.version).toBe(pkg.version);
  });

  it("warns about accepted no-op flags", () => {
    const parsed = parseNmiFlags(["--node=n", "--enableProfile", "--MICNamespace=kube-system"]);
    expect(parsed.ok && parsed.value.kind === "run" && parsed.value.notices).toHaveLength(2);
  });

  it("HOST_IP (the DaemonSet's status.hostIP) is the default listen address and DNAT target: no route_localnet needed", () => {
    const config = run(["--node=n"], { HOST_IP: "10.240.0.4" });
    expect(config).toMatchObject({ listenAddress: "10.240.0.4", hostIp: "10.240.0.4", iptablesBackend: "auto" });
    expect(interceptionSpecFrom(config)).toMatchObject({ targetAddress: "10.240.0.4", targetPort: 2579 });
    // Every interface: the DNAT still goes to the node IP; an explicit address wins over HOST_IP.
    expect(interceptionSpecFrom(run(["--node=n", "--nmi-listen-address=0.0.0.0"], { HOST_IP: "10.240.0.4" })).targetAddress).toBe("10.240.0.4");
    expect(interceptionSpecFrom(run(["--node=n", "--nmi-listen-address=127.0.0.1"], { HOST_IP: "10.240.0.4" })).targetAddress).toBe("127.0.0.1");
    // Unset or empty: the original's 127.0.0.1.
    expect(run(["--node=n"], { HOST_IP: "" }).listenAddress).toBe("127.0.0.1");
  });

  it("refuses a HOST_IP that cannot be a DNAT target, naming the variable, only where it is used", () => {
    for (const bad of ["fd00::4", "10.240.0", "node-1"]) {
      const parsed = parseNmiFlags(["--node=n"], { HOST_IP: bad });
      expect(parsed.ok ? "accepted" : parsed.error.message).toBe(
        `env HOST_IP=${JSON.stringify(bad)} is not an IPv4 address; NMI DNATs the IPv4 metadata address to it: give the node's IPv4 address, or set --nmi-listen-address`,
      );
    }
    expect(run(["--node=n", "--nmi-listen-address=10.0.0.9"], { HOST_IP: "fd00::4" }).listenAddress).toBe("10.0.0.9");
  });

  it("--kubelet-pods-dir is kubelet's pods directory, /var/lib/kubelet/pods by default; an absolute path", () => {
    expect(run(["--node=n"]).kubeletPodsDir).toBe("/var/lib/kubelet/pods");
    expect(run(["--node=n", "--kubelet-pods-dir=/mnt/kubelet/pods/"]).kubeletPodsDir).toBe("/mnt/kubelet/pods");
    expect(run(["-node=n", "-kubelet-pods-dir", "/data/pods"]).kubeletPodsDir).toBe("/data/pods");
    expect(failure(["--node=n", "--kubelet-pods-dir=pods"])).toContain("--kubelet-pods-dir");
  });

  it("--iptables-backend takes auto, nft or legacy", () => {
    expect(run(["--node=n", "--iptables-backend=legacy"]).iptablesBackend).toBe("legacy");
    expect(run(["--node=n", "--iptables-backend", "nft"]).iptablesBackend).toBe("nft");
    expect(failure(["--node=n", "--iptables-backend=xtables"])).toContain("--iptables-backend");
  });

  it("listens on 127.0.0.1 too for /host/token callers when NMI listens on the node IP, unless --host-token=off", () => {
    expect(listenAddressesFrom(run(["--node=n", "--host-token"], { HOST_IP: "10.240.0.4" }))).toEqual(["10.240.0.4", "127.0.0.1"]);
    expect(listenAddressesFrom(run(["--node=n"], { HOST_IP: "10.240.0.4" }))).toEqual(["10.240.0.4", "127.0.0.1"]);
    expect(listenAddressesFrom(run(["--node=n", "--host-token=off"], { HOST_IP: "10.240.0.4" }))).toEqual(["10.240.0.4"]);
    expect(listenAddressesFrom(run(["--node=n", "--host-token"]))).toEqual(["127.0.0.1"]);
    expect(listenAddressesFrom(run(["--node=n", "--host-token", "--nmi-listen-address=0.0.0.0"]))).toEqual(["0.0.0.0"]);
  });

  it("--host-token is scoped by default; takes scoped, unscoped or off, and the earlier booleans (bare/true → unscoped, false → off)", () => {
    expect(run(["--node=n"]).hostToken).toBe("scoped");
    for (const mode of ["scoped", "unscoped", "off"] as const) {
      expect(run(["--node=n", `--host-token=${mode}`]).hostToken).toBe(mode);
      expect(run(["--node=n", "--host-token", mode]).hostToken).toBe(mode);
    }
    expect(run(["--node=n", "--host-token"]).hostToken).toBe("unscoped");
    expect(run(["--node=n", "-host-token"]).hostToken).toBe("unscoped");
    for (const yes of ["true", "1", "t", "T", "TRUE", "True"]) expect(run(["--node=n", `--host-token=${yes}`]).hostToken).toBe("unscoped");
    for (const no of ["false", "0", "f", "F", "FALSE", "False"]) expect(run(["--node=n", `--host-token=${no}`]).hostToken).toBe("off");
    expect(failure(["--node=n", "--host-token=yes"])).toContain("--host-token");
    expect(failure(["--node=n", "--host-token=Scoped"])).toContain("scoped, unscoped, off");
    expect(decisionOptionsFrom(run(["--node=n"]))).toMatchObject({ hostTokenMode: "scoped" });
  });

  it("serves the original's port, 2579, by default (both Key Vault drivers call localhost:2579)", () => {
    expect(run(["--node=n"]).port).toBe(2579);
  });

  it("targets 127.0.0.1 with the DNAT when listening on every interface", () => {
    expect(interceptionSpecFrom(run(["--node=n", "--nmi-listen-address=0.0.0.0"]))).toEqual({
      chain: "aad-metadata",
      metadataAddress: "169.254.169.254",
      metadataPort: 80,
      targetAddress: "127.0.0.1",
      targetPort: 2579,
    });
  });
});

describe("Go-style arguments", () => {
  it("adds the second dash to single-dash long options only", () => {
    expect(normaliseGoStyleArgs(["-node=a", "--x", "-h", "-", "--", "-after"])).toEqual(["--node=a", "--x", "-h", "-", "--", "-after"]);
  });

  it("parseGoBool accepts exactly strconv.ParseBool's spellings", () => {
    const accepted = ["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"];
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), (s) => {
        expect(parseGoBool(s) !== undefined).toBe(accepted.includes(s));
      }),
      { numRuns: 300 },
    );
    for (const s of accepted) expect(parseGoBool(s)).toBe(["1", "t", "T", "TRUE", "true", "True"].includes(s));
  });

  it("any boolean flag parses the same in every accepted form", () => {
    const flags = ["block-instance-metadata", "set-retry-after-header", "enable-conntrack-deletion", "forceNamespaced"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...flags), fc.boolean(), fc.constantFrom("--", "-"), fc.constantFrom("true", "false", "1", "0", "T", "F"), (flag, _b, dash, text) => {
        const value = parseGoBool(text);
        const parsed = parseNmiFlags(["--node=n", `${dash}${flag}=${text}`]);
        expect(parsed.ok).toBe(true);
        const key = { "block-instance-metadata": "blockInstanceMetadata", "set-retry-after-header": "setRetryAfterHeader", "enable-conntrack-deletion": "enableConntrackDeletion", forceNamespaced: "forceNamespaced" }[flag];
        expect(parsed.ok && parsed.value.kind === "run" && parsed.value.config[key as keyof NmiConfig]).toBe(value);
      }),
      { numRuns: 100 },
    );
  });
});
