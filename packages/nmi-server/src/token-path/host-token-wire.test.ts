import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { parsePodWithKeyVaultVolumes } from "@podid/adapter-k8s";
import type { AssignedIdentityWireStatus, HostTokenMode, PodPhase, PodView } from "@podid/core";
import { keyVaultFlexVolume, makeAssigned, makeBinding, makeIdentity, makePod, rawHttpExchange, secretsStoreCsiVolume, TEST_NODE, type RawHttpResponse } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

/**
 * `/host/token` as its two real callers send it, byte for byte over a TCP socket, to NMI's HTTP server
 * (docs/compatibility.md, "Host token endpoint"; docs/adr/0019-scoped-host-token.md).
 *
 * Both callers are Go programs using `net/http`'s default client:
 * - the FlexVolume `azure/kv` driver (`azurekeyvault-flexvolume`, `oauth.go`): decodes the body into
 *   `{"token": adal.Token, "clientid": string}`; reads `token.access_token` (wrapped as a manual bearer token),
 *   `expires_in`/`expires_on`/`not_before` as `json.Number` (numbers or numeric strings), and refuses an empty
 *   `clientid`; retries any non-200 answer 5 times, 7 s apart;
 * - the Secrets Store CSI driver's Azure provider v1.8.x (`pkg/auth/auth.go`, `podIdentityCredential.GetToken`):
 *   the same request and shape; refuses an empty `access_token` or `clientid`, parses `token.expires_on` as a
 *   number (unparseable = already expired), and surfaces any non-200 body as the mount error (kubelet retries).
 * Go canonicalises the header names they set (`podname` → `Podname`), writes `Host` and `User-Agent` first and
 * its transport adds `Accept-Encoding: gzip`; the resource is put into the query unencoded; no `Metadata` header.
 */

/** The request bytes of either caller for pod `namespace/name` (identical for both: same library, same URL). */
function goClientRequest(namespace: string, name: string): string {
  return [
    "GET /host/token/?resource=https://vault.azure.net HTTP/1.1",
    "Host: localhost:2579",
    "User-Agent: Go-http-client/1.1",
    `Podname: ${name}`,
    `Podns: ${namespace}`,
    "Accept-Encoding: gzip",
    "",
    "",
  ].join("\r\n");
}

/** One exchange of exact request bytes (Go's client keeps the connection open: no `Connection: close`). */
const exchange = (port: number, bytes: string, localAddress = "127.0.0.1") => rawHttpExchange(port, bytes, { localAddress, timeoutMs: 10_000 });

/** The seed tutorial's pod as the API server stores it right after scheduling: Pending, no IP yet. */
function seedPodJson(overrides: { name?: string; volumes?: unknown[]; phase?: PodPhase; node?: string } = {}): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: overrides.name ?? "demo-app", namespace: "default", uid: `uid-${overrides.name ?? "demo-app"}`, labels: { aadpodidbinding: "demo-kv-access" } },
    spec: {
      nodeName: overrides.node ?? TEST_NODE,
      containers: [
        { name: "app", image: "mcr.microsoft.com/azure-cli", command: ["sleep", "infinity"], volumeMounts: [{ name: "secrets-store", mountPath: "/secret1", readOnly: true }] },
      ],
      volumes: overrides.volumes ?? [keyVaultFlexVolume()],
    },
    status: { phase: overrides.phase ?? "Pending" },
  };
}

/** A Secrets Store CSI volume naming `secretProviderClass`, as the Azure provider's docs write it. */
const csiVolume = (secretProviderClass: string) => secretsStoreCsiVolume(secretProviderClass, "secrets-store-inline");

let h: NmiHarness;
let port = 0;

afterEach(async () => {
  await h?.app.close();
});

/** NMI in `mode` on a real socket, with the `demo-kv-access` identity bound and allowed at the fake IMDS. */
async function start(mode: HostTokenMode, config: Record<string, unknown> = {}) {
  h = createHarness({ config: { hostToken: mode, ...config } });
  await h.app.listen({ host: "127.0.0.1", port: 0 });
  port = (h.app.server.address() as AddressInfo).port;
  const identity = h.cluster.apply("azureidentities", makeIdentity({ name: "demo-kv-identity" }));
  const binding = h.cluster.apply("azureidentitybindings", makeBinding(identity, "demo-kv-access"));
  h.tokens.allow(identity.spec.resourceID);
  return { identity, binding };
}

/** Stores a pod through the adapter's own decoding (what NMI's pod informer does) and, unless `none`, its AAI. */
function addPod(raw: Record<string, unknown>, ids: Awaited<ReturnType<typeof start>>, status: AssignedIdentityWireStatus | "none" = "Assigned"): PodView {
  const parsed = parsePodWithKeyVaultVolumes(raw);
  if (!parsed.ok) throw new Error(`test pod does not parse: ${JSON.stringify(parsed.error)}`);
  const pod = h.cluster.apply("pods", parsed.value);
  if (status !== "none") h.cluster.apply("azureassignedidentities", makeAssigned(pod, ids.identity, ids.binding, status));
  return pod;
}

/** The JSON body of a response. */
const json = (res: RawHttpResponse): Record<string, unknown> => JSON.parse(res.body) as Record<string, unknown>;

/** Expects the original's success body exactly: `{"token":{the seven adal.Token fields},"clientid":"…"}`. */
function expectHostTokenBody(res: RawHttpResponse, clientId: string): void {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  // Go's transport only decodes gzip when it asked for it; NMI answers plain JSON either way.
  expect(res.headers.has("content-encoding")).toBe(false);
  const body = json(res);
  expect(Object.keys(body)).toEqual(["token", "clientid"]);
  const token = body["token"] as Record<string, unknown>;
  expect(Object.keys(token)).toEqual(["access_token", "refresh_token", "expires_in", "expires_on", "not_before", "resource", "token_type"]);
  for (const value of Object.values(token)) expect(typeof value).toBe("string");
  // What the callers read: a non-empty bearer token, a numeric expires_on (Go json.Number / strconv), the clientid.
  expect(token["access_token"]).not.toBe("");
  expect(String(token["expires_on"])).toMatch(/^[0-9]+$/);
  expect(Number(token["expires_on"]) * 1000).toBeGreaterThan(h.clock.now());
  expect(String(token["expires_in"])).toMatch(/^[0-9]+$/);
  expect(token["token_type"]).toBe("Bearer");
  // The unencoded `resource=https://vault.azure.net` reached the token source as that exact resource.
  expect(token["resource"]).toBe("https://vault.azure.net");
  expect(body["clientid"]).toBe(clientId);
  expect(clientId).not.toBe("");
}

/** The audit record of the last request. */
const lastAudit = () => h.logger.findAll("nmi decision").at(-1)?.fields;

describe("/host/token, wire-exact for both callers (scoped, the default)", () => {
  it("FlexVolume azure/kv: the seed tutorial's pod, still Pending (kubelet mounts before containers start), gets its token", async () => {
    const ids = await start("scoped");
    addPod(seedPodJson(), ids);
    const res = await exchange(port, goClientRequest("default", "demo-app"));
    expectHostTokenBody(res, ids.identity.spec.clientID);
    expect(h.tokens.calls.map((c) => c.resource)).toEqual(["https://vault.azure.net"]);
    expect(lastAudit()).toMatchObject({ route: "hostToken", podNamespace: "default", podName: "demo-app", decision: "issued", status: 200 });
  });

  it("Secrets Store CSI provider v1.8: a pod whose SecretProviderClass sets usePodIdentity gets its token", async () => {
    const ids = await start("scoped");
    h.secretProviderClasses.set("default", "azure-kv", "true");
    addPod(seedPodJson({ volumes: [csiVolume("azure-kv")], phase: "Running" }), ids);
    const res = await exchange(port, goClientRequest("default", "demo-app"));
    expectHostTokenBody(res, ids.identity.spec.clientID);
    expect(h.secretProviderClasses.reads).toEqual(["default/azure-kv"]);
  });

  it("answers 404 while the pod's AzureAssignedIdentity is not Assigned (after the original's wait), then the token once it is", async () => {
    const ids = await start("scoped");
    const pod = addPod(seedPodJson(), ids, "Created");
    const waited = exchange(port, goClientRequest("default", "demo-app"));
    for (let i = 0; i < 1000 && h.engine.waiting !== 1; i++) await new Promise((r) => setTimeout(r, 2));
    expect(h.engine.waiting).toBe(1);
    await h.clock.advanceAsync(100_000);
    const notYet = await waited;
    expect(notYet.status).toBe(404);
    expect(json(notYet)).toEqual({ error: "not_found", error_description: expect.stringMatching(/not assigned in time/) as unknown });
    expect(h.tokens.calls).toEqual([]);
    // kubelet retries the mount; meanwhile MIC assigns the identity.
    const retried = exchange(port, goClientRequest("default", "demo-app"));
    for (let i = 0; i < 1000 && h.engine.waiting !== 1; i++) await new Promise((r) => setTimeout(r, 2));
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, ids.identity, ids.binding, "Assigned"));
    expectHostTokenBody(await retried, ids.identity.spec.clientID);
  });

  it("serves the original's port by default: the drivers call localhost:2579", () => {
    expect(createHarness().config.port).toBe(2579);
  });
});

/**
 * A host process (or a hostNetwork pod) replaying the drivers' request for a pod it has no business minting
 * tokens for. Each case also runs against `--host-token=unscoped`, the original's behaviour, where the same
 * bytes DO get a token: that is the hole the scoped mode closes, and it shows each assertion can fail.
 */
describe("/host/token attacked: the scoped mode refuses, unscoped (the original) does not", () => {
  type Setup = (ids: Awaited<ReturnType<typeof start>>) => void;
  const cases: { readonly title: string; readonly setup: Setup; readonly pod: string; readonly status: number; readonly reason: string; readonly text: RegExp; readonly unscoped: number }[] = [
    {
      title: "a pod of this node without a Key Vault volume",
      setup: (ids) => void addPod(seedPodJson({ name: "plain", volumes: [{ name: "tmp", emptyDir: {} }], phase: "Running" }), ids),
      pod: "plain",
      status: 403,
      reason: "noKeyVaultVolume",
      text: /declares no azure\/kv FlexVolume/,
      unscoped: 200,
    },
    {
      title: "a pod whose azure/kv volume does not use pod identity",
      setup: (ids) =>
        void addPod(seedPodJson({ name: "sp", volumes: [{ name: "kv", flexVolume: { driver: "azure/kv", options: { usepodidentity: "false", keyvaultname: "v" } } }] }), ids),
      pod: "sp",
      status: 403,
      reason: "flexVolumeWithoutPodIdentity",
      text: /does not set usepodidentity to true/,
      unscoped: 200,
    },
    {
      title: "a pod whose SecretProviderClass has usePodIdentity \"false\"",
      setup: (ids) => {
        h.secretProviderClasses.set("default", "wi-class", "false");
        addPod(seedPodJson({ name: "wi", volumes: [csiVolume("wi-class")] }), ids);
      },
      pod: "wi",
      status: 403,
      reason: "secretProviderClassWithoutPodIdentity",
      text: /SecretProviderClass default\/wi-class does not set usePodIdentity to true/,
      unscoped: 200,
    },
    {
      title: "a pod whose SecretProviderClass is another provider's (only the Azure provider calls /host/token)",
      setup: (ids) => {
        h.secretProviderClasses.put({ namespace: "default", name: "vault-class", provider: "vault", usePodIdentity: "true" });
        addPod(seedPodJson({ name: "vault-user", volumes: [csiVolume("vault-class")] }), ids);
      },
      pod: "vault-user",
      status: 403,
      reason: "secretProviderClassNotAzure",
      text: /SecretProviderClass default\/vault-class is for provider vault, not the Azure provider/,
      unscoped: 200,
    },
    {
      title: "a pod whose SecretProviderClass does not exist",
      setup: (ids) => void addPod(seedPodJson({ name: "ghost-class", volumes: [csiVolume("missing")] }), ids),
      pod: "ghost-class",
      status: 403,
      reason: "secretProviderClassNotFound",
      text: /SecretProviderClass default\/missing not found/,
      unscoped: 200,
    },
    {
      title: "a Succeeded pod",
      setup: (ids) => void addPod(seedPodJson({ name: "done", phase: "Succeeded" }), ids),
      pod: "done",
      status: 403,
      reason: "podNotLive",
      text: /pod default\/done is Succeeded/,
      // The original-compatible rule already required a live pod (500, as for an unknown pod).
      unscoped: 500,
    },
    {
      title: "a pod of another node",
      setup: (ids) => void addPod(seedPodJson({ name: "elsewhere", node: "aks-nodepool1-12345678-vmss000001" }), ids),
      pod: "elsewhere",
      status: 403,
      reason: "podNotOnNode",
      text: /is not scheduled on this node/,
      unscoped: 500,
    },
  ];

  for (const c of cases) {
    it(`${c.title} → ${c.status} with the reason and an audit line`, async () => {
      const ids = await start("scoped");
      c.setup(ids);
      const res = await exchange(port, goClientRequest("default", c.pod));
      expect(res.status).toBe(c.status);
      expect(json(res)).toEqual({ error: "forbidden", error_description: expect.stringMatching(c.text) as unknown });
      expect(lastAudit()).toMatchObject({ audit: true, route: "hostToken", sourceIp: "127.0.0.1", podNamespace: "default", podName: c.pod, decision: "hostTokenOutOfScope", reason: c.reason, status: c.status });
      expect(h.tokens.calls).toEqual([]);
      await h.app.close();

      const ids2 = await start("unscoped");
      c.setup(ids2);
      expect((await exchange(port, goClientRequest("default", c.pod))).status).toBe(c.unscoped);
    });
  }

  it("a caller from the pod network (any source but 127.0.0.1) is refused as today, in every mode", async () => {
    for (const mode of ["scoped", "unscoped"] as const) {
      const ids = await start(mode);
      addPod(seedPodJson(), ids);
      const res = await exchange(port, goClientRequest("default", "demo-app"), "127.0.0.2");
      expect(res.status).toBe(500);
      expect(json(res)).toEqual({ error: "server_error", error_description: "request remote address is not from a host" });
      expect(h.tokens.calls).toEqual([]);
      await h.app.close();
    }
  });

  it("a SecretProviderClass the API server cannot serve → 503 (the drivers retry), throttling with Retry-After", async () => {
    const ids = await start("scoped");
    addPod(seedPodJson({ volumes: [csiVolume("azure-kv")] }), ids);
    h.secretProviderClasses.fail("default", "azure-kv", { kind: "transient", message: "connection reset" });
    const res = await exchange(port, goClientRequest("default", "demo-app"));
    expect(res.status).toBe(503);
    expect(json(res)).toEqual({ error: "service_unavailable", error_description: "SecretProviderClass default/azure-kv cannot be read now (transient); retry" });
    expect(lastAudit()).toMatchObject({ decision: "hostTokenScopeUnavailable", reason: "transient", status: 503 });
    h.secretProviderClasses.fail("default", "azure-kv", { kind: "throttled", retryAfterMs: 3_000, message: "slow down" });
    const throttled = await exchange(port, goClientRequest("default", "demo-app"));
    expect([throttled.status, throttled.headers.get("retry-after")]).toEqual([503, "3"]);
    expect(h.tokens.calls).toEqual([]);
  });

  it("off refuses even the seed pod; unscoped serves any live pod of this node, Key Vault volume or not", async () => {
    const ids = await start("off");
    addPod(seedPodJson(), ids);
    const off = await exchange(port, goClientRequest("default", "demo-app"));
    expect([off.status, json(off)["error_description"]]).toEqual([403, "the /host/token endpoint is disabled"]);
    await h.app.close();

    const ids2 = await start("unscoped");
    h.cluster.apply("pods", { ...makePod({ name: "plain", ip: "10.0.0.9", selector: "demo-kv-access" }) });
    const plain = h.cluster.get("pods", "default", "plain");
    if (plain === undefined) throw new Error("pod not stored");
    h.cluster.apply("azureassignedidentities", makeAssigned(plain, ids2.identity, ids2.binding, "Assigned"));
    expectHostTokenBody(await exchange(port, goClientRequest("default", "plain")), ids2.identity.spec.clientID);
  });
});
