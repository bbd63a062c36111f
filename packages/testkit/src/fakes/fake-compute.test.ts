import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { classifyArmError, type ComputeError, type ComputeTarget, type IdentityPatch, type Result } from "@podid/core";
import { VirtualClock } from "../clock/virtual-clock.js";
import { FakeCompute, MalformedPatchError } from "./fake-compute.js";

const SUB = "11111111-2222-3333-4444-555555555555";

function uami(name: string, rg = "identities"): string {
  return `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

function attach(...ids: string[]): IdentityPatch {
  return { identity: { type: "UserAssigned", userAssignedIdentities: Object.fromEntries(ids.map((id) => [id, {}])) } };
}

function errorOf<T>(result: Result<T, ComputeError>): ComputeError | undefined {
  return result.ok ? undefined : result.error;
}

function setup(): { compute: FakeCompute; vm: ComputeTarget; vmss: ComputeTarget } {
  const compute = new FakeCompute();
  const vm = compute.addVm({ subscriptionId: SUB, resourceGroup: "MC_rg_cluster_westeurope", name: "vm-0" });
  const vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: "MC_rg_cluster_westeurope", name: "aks-pool-vmss" });
  return { compute, vm, vmss };
}

describe("FakeCompute PATCH semantics", () => {
  it("answers notFound for unknown targets", async () => {
    const { compute } = setup();
    const ghost: ComputeTarget = { kind: "vm", subscriptionId: SUB, resourceGroup: "rg", name: "ghost" };
    expect(errorOf(await compute.getIdentities(ghost))?.kind).toBe("notFound");
    expect(errorOf(await compute.patchIdentities(ghost, attach(uami("a"))))?.kind).toBe("notFound");
  });

  it("merges attach/detach case-insensitively, keeps first casing, and ignores detaching an absent id", async () => {
    const { compute, vmss } = setup();
    const r1 = await compute.patchIdentities(vmss, attach(uami("a"), uami("b")));
    expect(r1.ok && r1.value.type).toBe("UserAssigned");
    const r2 = await compute.patchIdentities(vmss, {
      identity: {
        type: "UserAssigned",
        userAssignedIdentities: { [uami("A").toUpperCase()]: {}, [uami("b").toLowerCase()]: null, [uami("never")]: null },
      },
    });
    expect(r2.ok && r2.value.userAssignedIdentityIds).toEqual([uami("a")]);
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([uami("a").toLowerCase()]);
  });

  it("applies ARM's type rules to the system-assigned identity", async () => {
    const { compute, vm } = setup();
    compute.add(vm, { systemAssigned: true, userAssigned: [uami("a")] });
    const principal = compute.identitiesOf(vm)?.systemAssignedPrincipalId;
    expect(principal).toBeDefined();

    const keep = await compute.patchIdentities(vm, {
      identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [uami("b")]: {} } },
    });
    expect(keep.ok && keep.value.type).toBe("SystemAssigned, UserAssigned");
    expect(compute.identitiesOf(vm)?.systemAssignedPrincipalId).toBe(principal);

    await compute.patchIdentities(vm, { identity: { type: "SystemAssigned" } });
    expect(compute.identitiesOf(vm)).toMatchObject({ type: "SystemAssigned", userAssignedKeys: [], systemAssignedPrincipalId: principal });

    await compute.patchIdentities(vm, attach(uami("c")));
    expect(compute.identitiesOf(vm)?.type).toBe("UserAssigned");
    expect(compute.identitiesOf(vm)?.systemAssignedPrincipalId).toBeUndefined();

    await compute.patchIdentities(vm, { identity: { type: "SystemAssigned, UserAssigned" } });
    const fresh = compute.identitiesOf(vm)?.systemAssignedPrincipalId;
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(principal); // re-enabling creates a new principal

    const none = await compute.patchIdentities(vm, { identity: { type: "None" } });
    expect(none.ok && none.value).toMatchObject({ type: "None", userAssignedIdentityIds: [] });
    expect(compute.identitiesOf(vm)?.systemAssignedPrincipalId).toBeUndefined();
  });

  it("rejects more than 150 entries in one request with ARM's message, applying nothing", async () => {
    const { compute, vmss } = setup();
    const ids = Array.from({ length: 165 }, (_, i) => uami(`id-${i}`));
    const tooMany = errorOf(await compute.patchIdentities(vmss, attach(...ids)));
    expect(tooMany?.kind).toBe("tooManyIdentities");
    expect(tooMany?.message).toContain("exceed limit '150' in one request");
    expect(tooMany?.message).toContain("'165'");
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]);
    const exactly = await compute.patchIdentities(vmss, attach(...ids.slice(0, 150)));
    expect(exactly.ok && exactly.value.userAssignedIdentityIds).toHaveLength(150);
    // the classifier in core recognises the text
    expect(classifyArmError({ statusCode: 400, code: "InvalidParameter", message: tooMany?.message ?? "" }, 0).kind).toBe("tooManyIdentities");
  });

  it("honours If-Match etags and refuses targets being deleted", async () => {
    const { compute, vm } = setup();
    const read = await compute.getIdentities(vm);
    if (!read.ok) throw new Error("get failed");
    const first = await compute.patchIdentities(vm, attach(uami("a")), read.value.etag);
    expect(first.ok).toBe(true);
    const stale = errorOf(await compute.patchIdentities(vm, attach(uami("b")), read.value.etag));
    expect(stale?.kind).toBe("preconditionFailed");
    expect((await compute.patchIdentities(vm, attach(uami("b")), "*")).ok).toBe(true);
    compute.attachOutOfBand(vm, uami("c"));
    const afterDrift = errorOf(await compute.patchIdentities(vm, attach(uami("d")), first.ok ? first.value.etag : ""));
    expect(afterDrift?.kind).toBe("preconditionFailed");

    compute.setProvisioningState(vm, "Deleting");
    expect(errorOf(await compute.patchIdentities(vm, attach(uami("e"))))?.kind).toBe("conflict");
    expect(compute.identitiesOf(vm)?.userAssignedKeys).not.toContain(uami("e").toLowerCase());
  });

  it("forbidden and deleted identities fail the whole request, naming exactly the offending keys", async () => {
    const { compute, vmss } = setup();
    compute.forbidIdentities([uami("secret")]);
    compute.deleteIdentities([uami("gone")]);
    const forbidden = errorOf(await compute.patchIdentities(vmss, attach(uami("ok"), uami("SECRET"), uami("gone"))));
    expect(forbidden).toMatchObject({ kind: "forbiddenIdentities", identityKeys: [uami("secret").toLowerCase()] });
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]);
    // the message is realistic enough for core's classifier to extract the same ids
    expect(classifyArmError({ statusCode: 403, code: "LinkedAuthorizationFailed", message: forbidden?.message ?? "" }, 0)).toMatchObject({
      kind: "forbiddenIdentities",
      identityKeys: [uami("secret").toLowerCase()],
    });

    const invalid = errorOf(await compute.patchIdentities(vmss, attach(uami("ok"), uami("gone"))));
    expect(invalid).toMatchObject({ kind: "invalidIdentities", identityKeys: [uami("gone").toLowerCase()] });
    expect(classifyArmError({ statusCode: 400, code: "FailedIdentityOperation", message: invalid?.message ?? "" }, 0)).toMatchObject({
      kind: "invalidIdentities",
      identityKeys: [uami("gone").toLowerCase()],
    });
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]);

    // detaching a forbidden identity is allowed; after allowIdentities the attach succeeds
    compute.allowIdentities([uami("secret")]);
    compute.restoreIdentities([uami("gone")]);
    expect((await compute.patchIdentities(vmss, attach(uami("ok"), uami("secret"), uami("gone")))).ok).toBe(true);
  });

  it("throws on requests ARM would reject as malformed, or reports them as transient when configured", async () => {
    const { compute, vm } = setup();
    await expect(
      compute.patchIdentities(vm, { identity: { type: "SystemAssigned", userAssignedIdentities: { [uami("a")]: {} } } }),
    ).rejects.toBeInstanceOf(MalformedPatchError);
    await expect(compute.patchIdentities(vm, attach("/subscriptions/x/not-an-identity"))).rejects.toThrow(/not a user-assigned identity id/);
    await expect(compute.patchIdentities(vm, { identity: { type: "UserAssigned" } })).rejects.toThrow(/at least one/);
    expect(compute.counts().errors.malformed).toBe(3);

    const lenient = new FakeCompute({ malformedPatch: "transient" });
    const target = lenient.addVm({ subscriptionId: SUB, resourceGroup: "rg", name: "vm" }, { userAssigned: [uami("a")] });
    const detachLast = await lenient.patchIdentities(target, { identity: { type: "UserAssigned", userAssignedIdentities: { [uami("a")]: null } } });
    expect(errorOf(detachLast)?.kind).toBe("transient");
    expect(lenient.identitiesOf(target)?.userAssignedKeys).toEqual([uami("a").toLowerCase()]);
  });

  it("reports ids with the configured casing", async () => {
    const compute = new FakeCompute({ reportedIdCase: (id) => id.replace(/resourceGroups\/([^/]+)/, (_m, rg: string) => `resourceGroups/${rg.toUpperCase()}`) });
    const vm = compute.addVm({ subscriptionId: SUB, resourceGroup: "rg", name: "vm" }, { userAssigned: [uami("a")] });
    const read = await compute.getIdentities(vm);
    expect(read.ok && read.value.userAssignedIdentityIds).toEqual([uami("a", "IDENTITIES")]);
  });
});

describe("FakeCompute faults, counters, out-of-band changes", () => {
  it("throttles by count and scope, then serves normally", async () => {
    const { compute, vm, vmss } = setup();
    compute.throttle(vm, { retryAfterMs: 5000, count: 2 });
    compute.throttle("all", { retryAfterMs: 9000, ops: ["patch"] });
    expect(errorOf(await compute.getIdentities(vm))).toMatchObject({ kind: "throttled", retryAfterMs: 5000, scope: "target" });
    expect(errorOf(await compute.patchIdentities(vm, attach(uami("a"))))).toMatchObject({ kind: "throttled", scope: "target" });
    expect(errorOf(await compute.patchIdentities(vmss, attach(uami("a"))))).toMatchObject({ kind: "throttled", retryAfterMs: 9000, scope: "subscription" });
    expect((await compute.patchIdentities(vmss, attach(uami("a")))).ok).toBe(true);
    expect((await compute.getIdentities(vm)).ok).toBe(true);
    expect(compute.counts()).toMatchObject({ gets: 2, patches: 3, errors: { throttled: 3 } });
    expect(compute.countsFor(vm)).toEqual({ gets: 2, patches: 1 });
  });

  it("throttleUntil answers with the remaining window until the clock passes it", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const compute = new FakeCompute({ clock });
    const vm = compute.addVm({ subscriptionId: SUB, resourceGroup: "rg", name: "vm" });
    compute.throttleUntil(vm, 30_000);
    clock.advance(10_000);
    expect(errorOf(await compute.getIdentities(vm))).toMatchObject({ kind: "throttled", retryAfterMs: 20_000 });
    clock.advance(20_000);
    expect((await compute.getIdentities(vm)).ok).toBe(true);
  });

  it("conflictNext and failNext fail exactly the requested calls", async () => {
    const { compute, vm } = setup();
    compute.conflictNext(vm, 1);
    compute.failNext(vm, { kind: "transient", message: "502" }, ["get"]);
    expect(errorOf(await compute.patchIdentities(vm, attach(uami("a"))))?.kind).toBe("conflict");
    expect((await compute.patchIdentities(vm, attach(uami("a")))).ok).toBe(true);
    expect(errorOf(await compute.getIdentities(vm))?.kind).toBe("transient");
    expect((await compute.getIdentities(vm)).ok).toBe(true);
    expect(compute.callLog.map((c) => `${c.op}:${c.outcome}`)).toEqual(["patch:conflict", "patch:ok", "get:transient", "get:ok"]);
  });

  it("out-of-band attach/detach change state and etag", async () => {
    const { compute, vm } = setup();
    const before = compute.identitiesOf(vm)?.etag;
    compute.attachOutOfBand(vm, uami("x"));
    expect(compute.identitiesOf(vm)?.userAssignedKeys).toEqual([uami("x").toLowerCase()]);
    compute.detachOutOfBand(vm, uami("X"));
    expect(compute.identitiesOf(vm)?.userAssignedKeys).toEqual([]);
    expect(compute.identitiesOf(vm)?.etag).not.toBe(before);
    compute.setSystemAssigned(vm, true);
    expect(compute.identitiesOf(vm)?.type).toBe("SystemAssigned");
  });
});

describe("FakeCompute latency and one operation at a time", () => {
  it("queues PATCHes per target (40 s each), reports Updating meanwhile, and runs targets in parallel", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const compute = new FakeCompute({ clock, patchLatencyMs: 40_000, getLatencyMs: 100, oneOperationAtATimePerTarget: true });
    const a = compute.addVmss({ subscriptionId: SUB, resourceGroup: "rg", name: "a" });
    const b = compute.addVmss({ subscriptionId: SUB, resourceGroup: "rg", name: "b" });
    const done: Array<[string, number]> = [];
    const p1 = compute.patchIdentities(a, attach(uami("1"))).then((r) => done.push([`a1:${r.ok}`, clock.now()]));
    const p2 = compute.patchIdentities(a, attach(uami("2"))).then((r) => done.push([`a2:${r.ok}`, clock.now()]));
    const p3 = compute.patchIdentities(b, attach(uami("3"))).then((r) => done.push([`b:${r.ok}`, clock.now()]));
    await clock.advanceAsync(1_000);
    const during = compute.getIdentities(a);
    await clock.advanceAsync(100);
    const duringResult = await during;
    expect(duringResult.ok && duringResult.value.provisioningState).toBe("Updating");
    await clock.advanceAsync(80_000);
    await Promise.all([p1, p2, p3]);
    expect(done).toEqual([
      ["a1:true", 40_000],
      ["b:true", 40_000],
      ["a2:true", 80_000],
    ]);
    expect(compute.peakConcurrentPatches(a)).toBe(1);
    expect(compute.peakConcurrentPatches()).toBe(2);
    expect(compute.identitiesOf(a)).toMatchObject({ provisioningState: "Succeeded", userAssignedKeys: [uami("1").toLowerCase(), uami("2").toLowerCase()] });
  });

  it("with busyPolicy conflict, a PATCH arriving during another fails at once", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const compute = new FakeCompute({ clock, patchLatencyMs: 40_000, oneOperationAtATimePerTarget: true, busyPolicy: "conflict" });
    const a = compute.addVmss({ subscriptionId: SUB, resourceGroup: "rg", name: "a" });
    const first = compute.patchIdentities(a, attach(uami("1")));
    await clock.flush();
    const second = await compute.patchIdentities(a, attach(uami("2")));
    expect(errorOf(second)?.kind).toBe("conflict");
    await clock.advanceAsync(40_000);
    expect((await first).ok).toBe(true);
    const third = compute.patchIdentities(a, attach(uami("2")));
    await clock.advanceAsync(40_000);
    expect((await third).ok).toBe(true);
  });

  it("without serialisation, concurrent PATCHes overlap", async () => {
    const clock = new VirtualClock({ startMs: 0 });
    const compute = new FakeCompute({ clock, patchLatencyMs: 10_000 });
    const a = compute.addVm({ subscriptionId: SUB, resourceGroup: "rg", name: "a" });
    const both = Promise.all([compute.patchIdentities(a, attach(uami("1"))), compute.patchIdentities(a, attach(uami("2")))]);
    await clock.advanceAsync(10_000);
    const results = await both;
    expect(results.every((r) => r.ok)).toBe(true);
    expect(compute.peakConcurrentPatches(a)).toBe(2);
    expect(compute.callLog.map((c) => c.finishedAtMs)).toEqual([10_000, 10_000]);
  });
});

describe("FakeCompute properties", () => {
  const idArb = fc.integer({ min: 0, max: 399 }).map((n) => uami(`id-${n}`, n % 2 === 0 ? "rg-A" : "rg-b"));
  const deltaArb = fc.array(fc.tuple(idArb, fc.boolean(), fc.boolean()), { maxLength: 400 });

  it("property: random attach/detach deltas sent in ≤150-entry chunks equal the set model", async () => {
    await fc.assert(
      fc.asyncProperty(deltaArb, async (delta) => {
        const compute = new FakeCompute();
        const vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: "rg", name: "pool" }, { userAssigned: [uami("keep")] });
        const model = new Set([uami("keep").toLowerCase()]);
        const entries: Array<[string, Record<string, never> | null]> = delta.map(([id, add, upper]) => [upper ? id.toUpperCase() : id, add ? {} : null]);
        for (let i = 0; i < entries.length; i += 150) {
          // The model reads the body as sent: a JSON object keeps one value per exact key (the last given, at
          // the first key's position), so an id given twice in one chunk counts once there.
          const body = Object.fromEntries(entries.slice(i, i + 150));
          const expected = new Set(model);
          for (const [id, value] of Object.entries(body)) {
            if (value === null) expected.delete(id.toLowerCase());
            else expected.add(id.toLowerCase());
          }
          const patch: IdentityPatch =
            expected.size === 0
              ? { identity: { type: "None" } }
              : { identity: { type: "UserAssigned", userAssignedIdentities: body } };
          const result = await compute.patchIdentities(vmss, patch);
          expect(result.ok).toBe(true);
          model.clear();
          for (const key of expected) model.add(key);
        }
        expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([...model].sort());
      }),
      { numRuns: 60 },
    );
  });

  it("applies a body naming one id in two casings in the order of its keys", async () => {
    const compute = new FakeCompute();
    const vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: "rg", name: "pool" });
    const id = uami("id-8", "rg-A");
    // Object.fromEntries keeps the first key's position with the last value: { id: null, ID: {} }.
    const body = Object.fromEntries([[id, null], [id.toUpperCase(), {}], [id, null]] as Array<[string, Record<string, never> | null]>);
    expect(await compute.patchIdentities(vmss, { identity: { type: "UserAssigned", userAssignedIdentities: body } })).toMatchObject({ ok: true });
    expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([id.toLowerCase()]);
  });

  it("property: 'SystemAssigned, UserAssigned' never loses the system identity", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.tuple(idArb, fc.boolean()), { minLength: 1, maxLength: 20 }), { maxLength: 15 }), async (patches) => {
        const compute = new FakeCompute({ malformedPatch: "transient" });
        const vm = compute.addVm({ subscriptionId: SUB, resourceGroup: "rg", name: "vm" }, { systemAssigned: true, userAssigned: [uami("anchor")] });
        const principal = compute.identitiesOf(vm)?.systemAssignedPrincipalId;
        for (const entries of patches) {
          await compute.patchIdentities(vm, {
            identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: Object.fromEntries(entries.map(([id, add]) => [id, add ? {} : null])) },
          });
          const snap = compute.identitiesOf(vm);
          expect(snap?.systemAssignedPrincipalId).toBe(principal);
          expect(snap?.type === "SystemAssigned, UserAssigned" || snap?.type === "SystemAssigned").toBe(true);
          expect(snap?.userAssignedKeys).toContain(uami("anchor").toLowerCase());
        }
      }),
      { numRuns: 60 },
    );
  });

  it("property: a request with any forbidden attach changes nothing and lists exactly those keys", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(idArb, { minLength: 1, maxLength: 30, selector: (id) => id.toLowerCase() }), fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), async (ids, forbidMask) => {
        const compute = new FakeCompute();
        const vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: "rg", name: "pool" });
        const forbidden = ids.filter((_, i) => forbidMask[i] === true);
        compute.forbidIdentities(forbidden);
        const result = await compute.patchIdentities(vmss, attach(...ids));
        if (forbidden.length === 0) {
          expect(result.ok).toBe(true);
        } else {
          const error = errorOf(result);
          expect(error?.kind).toBe("forbiddenIdentities");
          expect(error?.kind === "forbiddenIdentities" ? [...error.identityKeys].sort() : []).toEqual(forbidden.map((id) => id.toLowerCase()).sort());
          expect(compute.identitiesOf(vmss)?.userAssignedKeys).toEqual([]);
        }
      }),
      { numRuns: 100 },
    );
  });
});
