import {
  CLOUD_OPERATION,
  formatUserAssignedIdentityId,
  identityKey,
  METRIC,
  planIdentityPatches,
  type ComputeError,
  type ComputeIdentityState,
  type ComputeTarget,
  type IdentityIntent,
  type Result,
} from "@podid/core";
import {
  ARM_AUDIENCES,
  FakeAadServer,
  FakeArmServer,
  FakeCompute,
  FakeIdentityCatalog,
  RecordingMetrics,
  systemClock,
  TestCertificateAuthority,
} from "@podid/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseAzureJsonConfig } from "../config/load-azure-config.js";
import { createArmCredential } from "../credentials/arm-credential.js";
import { armClientSettings } from "./arm-client-settings.js";
import { ArmComputeAdapter } from "./arm-compute-adapter.js";

/**
 * The adapter against the loopback ARM and AAD over real HTTPS with the real SDKs, configured the way MIC
 * is: an azure.json naming a service principal, the cloud's endpoints pointed at the fakes. The fake ARM
 * checks the bearer token's audience, so these tests also prove the credential and scope wiring.
 */
const SUB = "6f1d2c3b-4a59-4687-9a0b-1c2d3e4f5a6b";
const SUB2 = "7a2e3d4c-5b6a-4798-8b1c-2d3e4f5a6b7c";
const RG = "MC_podid_cluster_westeurope";
const TENANT = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
const uami = (name: string, sub = SUB) => formatUserAssignedIdentityId({ subscriptionId: sub, resourceGroup: "identities", name });
const key = (id: string) => identityKey(id) ?? id;

let compute: FakeCompute;
let catalog: FakeIdentityCatalog;
let arm: FakeArmServer;
let aad: FakeAadServer;
let adapter: ArmComputeAdapter;
let metrics: RecordingMetrics;
let skewMs = 0;
let vm: ComputeTarget;
let vmss: ComputeTarget;
let otherVmss: ComputeTarget;
let foreignSubVmss: ComputeTarget;

async function makeAdapter(options: { operationTimeoutMs?: number; endpoint?: string } = {}): Promise<ArmComputeAdapter> {
  const config = await parseAzureJsonConfig(
    JSON.stringify({
      cloud: "AzurePublicCloud",
      tenantId: TENANT,
      aadClientId: "mic-client",
      aadClientSecret: "mic-secret",
      subscriptionId: SUB,
      resourceGroup: RG,
      vmType: "vmss",
      resourceManagerEndpoint: options.endpoint ?? arm.url,
      activeDirectoryEndpoint: aad.url,
    }),
    "azure.json",
    {},
  );
  if (!config.ok) throw new Error(JSON.stringify(config.error));
  return new ArmComputeAdapter({
    credential: createArmCredential(config.value),
    ...armClientSettings(config.value, { maxRetries: 1, retryDelayInMs: 5, maxRetryDelayInMs: 10 }),
    pollIntervalMs: 5,
    now: () => Date.now() + skewMs,
    metrics,
    ...(options.operationTimeoutMs !== undefined ? { operationTimeoutMs: options.operationTimeoutMs } : {}),
  });
}

/** What MIC does for one target: GET, plan with core, PATCH each chunk in order. */
async function apply(target: ComputeTarget, intent: IdentityIntent, maxPerRequest?: number): Promise<Result<ComputeIdentityState, ComputeError>> {
  const current = await adapter.getIdentities(target);
  if (!current.ok) return current;
  const plan = planIdentityPatches(current.value, intent, maxPerRequest);
  let state: Result<ComputeIdentityState, ComputeError> = current;
  for (const patch of plan.patches) {
    state = await adapter.patchIdentities(target, patch);
    if (!state.ok) return state;
  }
  return state;
}

const armCalls = (operation: string) => arm.requestLog.filter((e) => e.operation === operation).length;

beforeAll(async () => {
  const ca = TestCertificateAuthority.fromEnvironment();
  compute = new FakeCompute({ clock: systemClock, patchLatencyMs: (t) => (t.name.startsWith("slow") ? 400 : 5), oneOperationAtATimePerTarget: true, busyPolicy: "conflict" });
  catalog = new FakeIdentityCatalog();
  aad = await FakeAadServer.start({ ca });
  aad.registerApplication({ tenantId: TENANT, clientId: "mic-client", secret: "mic-secret" });
  arm = await FakeArmServer.start({ ca, compute, catalog, auth: { audiences: ARM_AUDIENCES } });
  metrics = new RecordingMetrics();
  adapter = await makeAdapter();
});

afterAll(async () => {
  await arm?.close();
  await aad?.close();
});

beforeEach(() => {
  skewMs += 3_600_000; // every test starts with all throttle gates open
  vm = compute.addVm({ subscriptionId: SUB, resourceGroup: RG, name: "vm-0" }, { systemAssigned: true, userAssigned: [uami("foreign")] });
  vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: RG, name: "pool-vmss" });
  otherVmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: RG, name: "other-vmss" });
  foreignSubVmss = compute.addVmss({ subscriptionId: SUB2, resourceGroup: RG, name: "elsewhere" });
  arm.resetCounters();
});

describe("ArmComputeAdapter against the fake ARM", () => {
  it("reads the identity block of a VM and a scale set", async () => {
    const got = await adapter.getIdentities(vm);
    const snapshot = compute.identitiesOf(vm);
    expect(got).toEqual({
      ok: true,
      value: { type: "SystemAssigned, UserAssigned", userAssignedIdentityIds: [uami("foreign")], provisioningState: "Succeeded", etag: snapshot?.etag },
    });
    expect(await adapter.getIdentities(vmss)).toMatchObject({ ok: true, value: { type: "None", userAssignedIdentityIds: [] } });
    expect(metrics.histogram(METRIC.cloudProviderOperationsDuration, { operation_type: CLOUD_OPERATION.vmGet }).length).toBeGreaterThan(0);
  });

  it("adds and removes identities on a VM, keeping its system-assigned and foreign identities", async () => {
    const principal = compute.identitiesOf(vm)?.systemAssignedPrincipalId;
    expect(await apply(vm, { add: [key(uami("a")), key(uami("b"))], remove: [] })).toMatchObject({ ok: true });
    expect(compute.identitiesOf(vm)?.userAssignedKeys).toEqual([uami("a"), uami("b"), uami("foreign")].map(key).sort());
    const removed = await apply(vm, { add: [], remove: [key(uami("a")), key(uami("b"))] });
    expect(removed).toMatchObject({ ok: true, value: { type: "SystemAssigned, UserAssigned", userAssignedIdentityIds: [uami("foreign")] } });
    expect(compute.identitiesOf(vm)?.systemAssignedPrincipalId).toBe(principal);
    expect(arm.counts().byOperation.vmPatch).toBe(2);
    expect(arm.malformedPatches).toEqual([]);
  });

  it("adds and removes identities on a uniform scale set, back to no identity at all", async () => {
    expect(await apply(vmss, { add: [key(uami("a"))], remove: [] })).toMatchObject({ ok: true, value: { type: "UserAssigned" } });
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([key(uami("a"))]);
    expect(await apply(vmss, { add: [], remove: [key(uami("a"))] })).toMatchObject({ ok: true, value: { type: "None", userAssignedIdentityIds: [] } });
    expect(compute.identitiesOf(vmss)?.type).toBe("None");
  });

  it("splits large changes into PATCHes of at most 150 identities, each awaited as a long-running operation", async () => {
    const ids = Array.from({ length: 320 }, (_, i) => key(uami(`bulk-${String(i).padStart(3, "0")}`)));
    expect(await apply(vmss, { add: ids, remove: [] })).toMatchObject({ ok: true });
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([...ids].sort());
    expect(arm.counts().byOperation.vmssPatch).toBe(3);
    expect(arm.counts().operations).toMatchObject({ started: 3, succeeded: 3, failed: 0, pending: 0 });
    expect(await apply(vmss, { add: [], remove: ids })).toMatchObject({ ok: true, value: { type: "None" } });
    expect(arm.counts().byOperation.vmssPatch).toBe(6);
    // One request over the limit is refused by ARM and classified, not retried.
    expect(await apply(vmss, { add: ids.slice(0, 151), remove: [] }, 200)).toMatchObject({ ok: false, error: { kind: "tooManyIdentities" } });
    expect(arm.counts().byOperation.vmssPatch).toBe(7);
  });

  it("polls the operation until it ends and returns the identity block it left", async () => {
    const slow = compute.addVmss({ subscriptionId: SUB, resourceGroup: RG, name: "slow-lro" });
    const result = await apply(slow, { add: [key(uami("a"))], remove: [] });
    expect(result.ok && result.value.userAssignedIdentityIds.map(key)).toEqual([key(uami("a"))]);
    // 400 ms of operation polled every 5 ms: several InProgress answers, then Succeeded, then the final GET.
    expect(armCalls("operationStatus")).toBeGreaterThan(3);
    expect(arm.counts().operations.succeeded).toBe(1);
  });

  it("gives up waiting for an operation after operationTimeoutMs (transient), and holds nothing against the next call", async () => {
    const slow = compute.addVmss({ subscriptionId: SUB, resourceGroup: RG, name: "slow-timeout" });
    const impatient = await makeAdapter({ operationTimeoutMs: 100 });
    const current = await impatient.getIdentities(slow);
    if (!current.ok) throw new Error("get failed");
    const [patch] = planIdentityPatches(current.value, { add: [key(uami("a"))], remove: [] }).patches;
    expect(await impatient.patchIdentities(slow, patch!)).toMatchObject({ ok: false, error: { kind: "transient" } });
    // A transient failure holds nothing back (and the controller's gates ignore it: see target-gates.test.ts).
    expect(await impatient.getIdentities(slow)).toMatchObject({ ok: true });
  });

  it("reports a failed long-running operation with the identities ARM named", async () => {
    arm.failNextOperation(vmss, { code: "LinkedAuthorizationFailed", message: `The client has no permission to perform action on the linked scope(s) '${uami("b")}'.` });
    expect(await apply(vmss, { add: [key(uami("a")), key(uami("b"))], remove: [] })).toEqual({
      ok: false,
      error: { kind: "forbiddenIdentities", identityKeys: [key(uami("b"))], message: expect.stringContaining("linked scope") as unknown as string },
    });
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]);
  });

  it("names exactly the one identity the caller may not assign; without it the rest lands", async () => {
    const batch = ["a", "b", "forbidden", "c"].map((n) => key(uami(n)));
    compute.forbidIdentities([uami("forbidden")]);
    try {
      const refused = await apply(vmss, { add: batch, remove: [] });
      expect(refused).toMatchObject({ ok: false, error: { kind: "forbiddenIdentities", identityKeys: [key(uami("forbidden"))] } });
      expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]); // ARM applies nothing of a refused request
      expect(await apply(vmss, { add: batch.filter((k) => k !== key(uami("forbidden"))), remove: [] })).toMatchObject({ ok: true });
      expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual(["a", "b", "c"].map((n) => key(uami(n))));
    } finally {
      compute.allowIdentities([uami("forbidden")]);
    }
  });

  it("names deleted identities (400 FailedIdentityOperation) as invalid", async () => {
    arm.deleteIdentity(uami("gone"));
    expect(await apply(vm, { add: [key(uami("gone")), key(uami("a"))], remove: [] })).toMatchObject({
      ok: false,
      error: { kind: "invalidIdentities", identityKeys: [key(uami("gone"))] },
    });
  });

  it("reports 409 while another operation runs on the scale set, without SDK retries", async () => {
    const slow = compute.addVmss({ subscriptionId: SUB, resourceGroup: RG, name: "slow-409" });
    const current = await adapter.getIdentities(slow);
    if (!current.ok) throw new Error("get failed");
    const first = planIdentityPatches(current.value, { add: [key(uami("a"))], remove: [] }).patches[0]!;
    const second = planIdentityPatches(current.value, { add: [key(uami("b"))], remove: [] }).patches[0]!;
    const running = adapter.patchIdentities(slow, first);
    await new Promise((r) => setTimeout(r, 100));
    expect(await adapter.patchIdentities(slow, second)).toMatchObject({ ok: false, error: { kind: "conflict" } });
    expect(await running).toMatchObject({ ok: true });
    expect(arm.requestLog.filter((e) => e.operation === "vmssPatch").map((e) => e.status)).toEqual([202, 409]);
    // A 409 does not close the gate: the next cycle may try again at once.
    expect(await adapter.patchIdentities(slow, second)).toMatchObject({ ok: true });
  });

  it("turns a stale etag into preconditionFailed and an unknown VM into notFound", async () => {
    const current = await adapter.getIdentities(vmss);
    if (!current.ok) throw new Error("get failed");
    compute.attachOutOfBand(vmss, uami("sneaky"));
    const patch = planIdentityPatches(current.value, { add: [key(uami("a"))], remove: [] }).patches[0]!;
    expect(await adapter.patchIdentities(vmss, patch, current.value.etag)).toMatchObject({ ok: false, error: { kind: "preconditionFailed" } });
    expect(await adapter.getIdentities({ ...vm, name: "no-such-vm" })).toMatchObject({ ok: false, error: { kind: "notFound" } });
    expect(metrics.counter(METRIC.cloudProviderOperationsErrorsCount, { operation_type: CLOUD_OPERATION.vmGet })).toBeGreaterThan(0);
  });

  it("in a 429 storm makes exactly one ARM call per call (the SDK neither retries nor sleeps) and reports Retry-After", async () => {
    let storm = true;
    const remove = arm.injectFault((r) =>
      storm && r.operation === "vmssGet" && r.target?.name === "pool-vmss"
        ? { status: 429, code: "TooManyRequests", message: "The request is being throttled.", headers: { "retry-after": "30" } }
        : undefined,
    );
    try {
      // Honouring Retry-After (the gates, the wait, the countdown) is the controller's: target-gates.test.ts and
      // mic-controller.test.ts's "429 storm" test hold what this test asserted while the adapter kept gates too.
      const results: Result<ComputeIdentityState, ComputeError>[] = [];
      for (let i = 0; i < 3; i += 1) results.push(await adapter.getIdentities(vmss));
      expect(armCalls("vmssGet")).toBe(3); // one request per call: the SDK did not retry the 429
      for (const r of results) expect(r).toEqual({ ok: false, error: { kind: "throttled", scope: "target", retryAfterMs: 30_000, message: expect.any(String) as unknown as string } });
      storm = false;
      // Writes to the same scale set and reads of other scale sets were never affected.
      expect(await adapter.getIdentities(otherVmss)).toMatchObject({ ok: true });
      expect(await adapter.patchIdentities(vmss, { identity: { type: "UserAssigned", userAssignedIdentities: { [uami("a")]: {} } } })).toMatchObject({ ok: true });
      expect(await adapter.getIdentities(vmss)).toMatchObject({ ok: true });
    } finally {
      remove();
    }
  });

  it("treats a 429 on the operation's final GET as throttling of the write", async () => {
    arm.failNext("vmssGet", { status: 429, code: "TooManyRequests", message: "throttled", headers: { "retry-after": "9" } });
    const patch = { identity: { type: "UserAssigned" as const, userAssignedIdentities: { [uami("a")]: {} } } };
    expect(await adapter.patchIdentities(vmss, patch)).toMatchObject({ ok: false, error: { kind: "throttled", retryAfterMs: 9_000 } });
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([key(uami("a"))]); // the PATCH itself went through
  });

  it("reports a subscription-wide 429 with scope subscription, so the caller can hold every VM/VMSS of it", async () => {
    arm.failNext("vmssGet", { status: 429, code: "SubscriptionRequestsThrottled", message: "Number of 'read' requests for subscription exceeded the limit.", headers: { "retry-after": "20" } });
    expect(await adapter.getIdentities(vmss)).toMatchObject({ ok: false, error: { kind: "throttled", scope: "subscription", retryAfterMs: 20_000 } });
    // Holding the subscription is the controller's (target-gates.test.ts); the adapter itself refuses nothing.
    arm.resetCounters();
    expect(await adapter.getIdentities(otherVmss)).toMatchObject({ ok: true });
    expect(await adapter.getIdentities(foreignSubVmss)).toMatchObject({ ok: true });
    expect(arm.counts().requests).toBe(2);
  });

  it("reports an unreachable ARM as transient", async () => {
    const closed = await FakeArmServer.start({ ca: TestCertificateAuthority.fromEnvironment(), compute, catalog });
    const url = closed.url;
    await closed.close();
    const unreachable = await makeAdapter({ endpoint: url });
    expect(await unreachable.getIdentities(vmss)).toMatchObject({ ok: false, error: { kind: "transient" } });
  });
});
