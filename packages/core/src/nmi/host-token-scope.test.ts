import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { podArb } from "@podid/testkit";
import { err, ok } from "../result.js";
import type { PodView } from "../model/types.js";
import type { KubeError } from "../ports/kube-errors.js";
import { findPodOnNode } from "./caller-attribution.js";
import { decideHostTokenRequest, type HostTokenDecisionInput } from "./decide-token.js";
import {
  decideHostTokenScope,
  findScopedPod,
  hostTokenScopeDescription,
  parseHostTokenMode,
  secretProviderClassesToRead,
  type SecretProviderClassLookup,
} from "./host-token-scope.js";
import type { KeyVaultVolume } from "./key-vault-volumes.js";
import { NMI_DECISION_DEFAULTS, type NmiDecisionOptions } from "./nmi-options.js";

const NODE = "aks-nodepool1-12345678-vmss000000";
const OTHER_NODE = "aks-nodepool1-12345678-vmss000001";
const GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"];
const CLASSES = ["spc-a", "spc-b", "spc-c"] as const;

const volumeArb: fc.Arbitrary<KeyVaultVolume> = fc.oneof(
  fc.tuple(fc.constantFrom("v1", "v2"), fc.boolean()).map(([volume, usePodIdentity]): KeyVaultVolume => ({ kind: "flexVolume", volume, usePodIdentity })),
  fc.tuple(fc.constantFrom("v3", "v4"), fc.constantFrom("", ...CLASSES)).map(([volume, secretProviderClass]): KeyVaultVolume => ({ kind: "csi", volume, secretProviderClass })),
);

/** A lookup of one class: found (mostly the Azure provider's) with some usePodIdentity text, not found, or an API failure. */
const lookupArb: fc.Arbitrary<SecretProviderClassLookup> = fc.oneof(
  fc
    .tuple(fc.option(fc.constantFrom(...GO_TRUE, "false", "0", "yes", ""), { nil: undefined }), fc.constantFrom("azure", "azure", "azure", "vault", "Azure", ""))
    .map(([usePodIdentity, provider]): SecretProviderClassLookup => ok({ namespace: "ns", name: "x", provider, ...(usePodIdentity === undefined ? {} : { usePodIdentity }) })),
  fc.constant<SecretProviderClassLookup>(ok(undefined)),
  fc.constantFrom<KubeError>({ kind: "forbidden", message: "m" }, { kind: "transient", message: "m" }).map((e): SecretProviderClassLookup => err(e)),
);

/** Lookups for a random subset of the classes (a class left out was not looked up). */
const lookupsArb: fc.Arbitrary<ReadonlyMap<string, SecretProviderClassLookup>> = fc
  .array(fc.tuple(fc.constantFrom(...CLASSES), lookupArb), { maxLength: 3 })
  .map((entries) => new Map(entries));

const scopedPodArb: fc.Arbitrary<PodView> = fc
  .tuple(podArb({ nodeNames: [NODE] }), fc.option(fc.array(volumeArb, { minLength: 1, maxLength: 4 }), { nil: undefined }))
  .map(([pod, volumes]) => (volumes === undefined ? pod : { ...pod, keyVaultVolumes: volumes }));

/** The rule, written out: a FlexVolume in pod-identity mode, or a CSI volume whose class was found, is the Azure provider's, with usePodIdentity true. */
function grants(volume: KeyVaultVolume, lookups: ReadonlyMap<string, SecretProviderClassLookup>): boolean {
  if (volume.kind === "flexVolume") return volume.usePodIdentity;
  const lookup = lookups.get(volume.secretProviderClass);
  return lookup !== undefined && lookup.ok && lookup.value !== undefined && lookup.value.provider === "azure" && GO_TRUE.includes(lookup.value.usePodIdentity ?? "");
}

describe("decideHostTokenScope", () => {
  it("puts a pod in scope exactly when one Key Vault volume is in pod-identity mode", () => {
    fc.assert(
      fc.property(scopedPodArb, lookupsArb, (pod, lookups) => {
        const verdict = decideHostTokenScope(pod, lookups);
        const volumes = pod.keyVaultVolumes ?? [];
        expect(verdict.kind === "inScope").toBe(volumes.some((v) => grants(v, lookups)));
        if (verdict.kind === "inScope") expect(grants(verdict.volume, lookups)).toBe(true);
        if (volumes.length === 0) expect(verdict).toEqual({ kind: "denied", reason: { kind: "noKeyVaultVolume" } });
        if (verdict.kind === "unavailable") {
          // Only a class that could still grant the pod a token makes it 503 rather than 403.
          const lookup = lookups.get(verdict.name);
          expect(lookup === undefined || !lookup.ok).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("asks for the classes it needs: none when a FlexVolume grants, else every class a CSI volume names", () => {
    fc.assert(
      fc.property(scopedPodArb, lookupsArb, (pod, lookups) => {
        const names = secretProviderClassesToRead(pod);
        const volumes = pod.keyVaultVolumes ?? [];
        if (volumes.some((v) => v.kind === "flexVolume" && v.usePodIdentity)) expect(names).toEqual([]);
        else expect(new Set(names)).toEqual(new Set(volumes.flatMap((v) => (v.kind === "csi" && v.secretProviderClass !== "" ? [v.secretProviderClass] : []))));
        // Given exactly the lookups it asked for, the verdict never says "not looked up".
        const asked = new Map([...lookups].filter(([name]) => names.includes(name)));
        for (const name of names) if (!asked.has(name)) asked.set(name, ok(undefined));
        const verdict = decideHostTokenScope(pod, asked);
        if (verdict.kind === "unavailable") expect(verdict.error).toBeDefined();
      }),
      { numRuns: 500 },
    );
  });

  it("names each reason: FlexVolume without pod identity, class not found, another provider's class, class without pod identity, class unreadable", () => {
    const pod = (volumes: KeyVaultVolume[]): PodView => ({
      kind: "Pod",
      metadata: { name: "app", namespace: "team-a", uid: "u", labels: {}, annotations: {}, finalizers: [] },
      nodeName: NODE,
      serviceAccountName: "default",
      hostNetwork: false,
      phase: "Running",
      podIP: "10.0.0.5",
      podIPs: ["10.0.0.5"],
      keyVaultVolumes: volumes,
    });
    const none = new Map<string, SecretProviderClassLookup>();
    expect(decideHostTokenScope(pod([{ kind: "flexVolume", volume: "kv", usePodIdentity: false }]), none)).toEqual({ kind: "denied", reason: { kind: "flexVolumeWithoutPodIdentity", volume: "kv" } });
    expect(decideHostTokenScope(pod([{ kind: "csi", volume: "kv", secretProviderClass: "" }]), none)).toEqual({ kind: "denied", reason: { kind: "csiVolumeWithoutClass", volume: "kv" } });
    const csi = pod([{ kind: "csi", volume: "kv", secretProviderClass: "azure-kv" }]);
    const notFound = decideHostTokenScope(csi, new Map([["azure-kv", ok(undefined)]]));
    expect(notFound).toEqual({ kind: "denied", reason: { kind: "secretProviderClassNotFound", namespace: "team-a", name: "azure-kv" } });
    if (notFound.kind === "denied") expect(hostTokenScopeDescription({ namespace: "team-a", name: "app" }, notFound.reason)).toContain("SecretProviderClass team-a/azure-kv not found");
    const off = decideHostTokenScope(csi, new Map([["azure-kv", ok({ namespace: "team-a", name: "azure-kv", provider: "azure", usePodIdentity: "false" })]]));
    expect(off).toEqual({ kind: "denied", reason: { kind: "secretProviderClassWithoutPodIdentity", namespace: "team-a", name: "azure-kv" } });
    const unset = decideHostTokenScope(csi, new Map([["azure-kv", ok({ namespace: "team-a", name: "azure-kv", provider: "azure" })]]));
    expect(unset.kind).toBe("denied");
    // Only the Azure provider calls /host/token: another provider's class grants nothing, whatever its parameters.
    const vault = decideHostTokenScope(csi, new Map([["azure-kv", ok({ namespace: "team-a", name: "azure-kv", provider: "vault", usePodIdentity: "true" })]]));
    expect(vault).toEqual({ kind: "denied", reason: { kind: "secretProviderClassNotAzure", namespace: "team-a", name: "azure-kv", provider: "vault" } });
    if (vault.kind === "denied") expect(hostTokenScopeDescription({ namespace: "team-a", name: "app" }, vault.reason)).toContain("is for provider vault, not the Azure provider");
    const failed: KubeError = { kind: "transient", message: "connection reset" };
    expect(decideHostTokenScope(csi, new Map([["azure-kv", err(failed)]]))).toEqual({ kind: "unavailable", namespace: "team-a", name: "azure-kv", error: failed });
    expect(decideHostTokenScope(csi, none)).toEqual({ kind: "unavailable", namespace: "team-a", name: "azure-kv" });
    for (const t of GO_TRUE) {
      expect(decideHostTokenScope(csi, new Map([["azure-kv", ok({ namespace: "team-a", name: "azure-kv", provider: "azure", usePodIdentity: t })]])).kind).toBe("inScope");
    }
  });
});

describe("findScopedPod", () => {
  it("finds only the single live (Pending or Running, not deleting) pod of this node, else names why", () => {
    const podsArb = fc.array(podArb({ nodeNames: [NODE, OTHER_NODE], names: ["web-0"], namespaces: ["team-a"], allowDeleting: true }), { maxLength: 4 });
    fc.assert(
      fc.property(podsArb, (pods) => {
        const found = findScopedPod("team-a", "web-0", pods, NODE);
        const onNode = pods.filter((p) => p.metadata.namespace === "team-a" && p.metadata.name === "web-0" && p.nodeName === NODE);
        const live = onNode.filter((p) => p.metadata.deletionTimestamp === undefined && (p.phase === "Pending" || p.phase === "Running"));
        // Same pods as the original-compatible rule of the unscoped mode.
        expect(found.ok).toBe(findPodOnNode("team-a", "web-0", pods, { nodeName: NODE }).ok);
        if (found.ok) expect(live).toEqual([found.value]);
        else if (live.length > 1) expect(found.error).toEqual({ kind: "podAmbiguous" });
        else if (onNode.length === 0) expect(found.error).toEqual({ kind: "podNotOnNode" });
        else if (onNode[0]?.metadata.deletionTimestamp !== undefined) expect(found.error).toEqual({ kind: "podTerminating" });
        else expect(found.error).toEqual({ kind: "podNotLive", phase: onNode[0]?.phase });
      }),
      { numRuns: 1000 },
    );
  });
});

describe("parseHostTokenMode", () => {
  it("takes the three modes and Go's booleans (true → unscoped, false → off), nothing else", () => {
    expect(parseHostTokenMode("scoped")).toEqual(ok("scoped"));
    expect(parseHostTokenMode(" unscoped ")).toEqual(ok("unscoped"));
    expect(parseHostTokenMode("off")).toEqual(ok("off"));
    for (const t of GO_TRUE) expect(parseHostTokenMode(t)).toEqual(ok("unscoped"));
    for (const f of ["0", "f", "F", "FALSE", "false", "False"]) expect(parseHostTokenMode(f)).toEqual(ok("off"));
    for (const bad of ["", "on", "yes", "Scoped", "none"]) expect(parseHostTokenMode(bad).ok).toBe(false);
  });
});

describe("decideHostTokenRequest per --host-token mode", () => {
  const options = (hostTokenMode: NmiDecisionOptions["hostTokenMode"]): NmiDecisionOptions => ({ ...NMI_DECISION_DEFAULTS, hostTokenMode });
  const inputArb = fc
    .tuple(fc.array(fc.tuple(scopedPodArb, fc.constantFrom(NODE, OTHER_NODE)), { maxLength: 4 }), lookupsArb)
    .map(([pods, lookups]) => ({
      pods: pods.map(([pod, node]) => ({ ...pod, metadata: { ...pod.metadata, namespace: "team-a", name: "web-0" }, nodeName: node })),
      lookups,
    }));
  const input = (pods: readonly PodView[], lookups: ReadonlyMap<string, SecretProviderClassLookup>, mode: NmiDecisionOptions["hostTokenMode"]): HostTokenDecisionInput => ({
    request: ok({ resource: "https://vault.azure.net", podNamespace: "team-a", podName: "web-0" }),
    podsOnNode: pods,
    attribution: { nodeName: NODE },
    identities: { mode: "managed", bindings: [], identities: [] },
    elapsedMs: 0,
    options: options(mode),
    secretProviderClasses: lookups,
  });

  it("scoped answers like unscoped for a pod in scope, and with 403 (or 503 for an unreadable class) otherwise; off always refuses", () => {
    fc.assert(
      fc.property(inputArb, ({ pods, lookups }) => {
        const scoped = decideHostTokenRequest(input(pods, lookups, "scoped"));
        const unscoped = decideHostTokenRequest(input(pods, lookups, "unscoped"));
        expect(decideHostTokenRequest(input(pods, lookups, "off"))).toEqual({ kind: "hostTokenDenied", reason: "disabled" });
        const pod = findScopedPod("team-a", "web-0", pods, NODE);
        const verdict = pod.ok ? decideHostTokenScope(pod.value, lookups) : undefined;
        if (verdict?.kind === "inScope") expect(scoped).toEqual(unscoped);
        else expect(["hostTokenOutOfScope", "hostTokenScopeUnavailable"]).toContain(scoped.kind);
        if (scoped.kind === "hostTokenScopeUnavailable") expect(verdict?.kind).toBe("unavailable");
      }),
      { numRuns: 1000 },
    );
  });

  it("keeps the original's refusals before the scope: 400 without pod headers, 500 from a non-host address", () => {
    const base = input([], new Map(), "scoped");
    expect(decideHostTokenRequest({ ...base, request: err({ kind: "missingPodHeaders" }) })).toEqual({ kind: "badRequest", reason: { kind: "missingPodHeaders" } });
    expect(decideHostTokenRequest({ ...base, request: err({ kind: "notFromHost", remoteAddress: "10.244.0.9" }) })).toEqual({ kind: "hostTokenDenied", reason: "notFromHost" });
  });
});
