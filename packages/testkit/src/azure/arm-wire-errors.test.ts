import fc from "fast-check";
import { classifyArmError, type ComputeError, type ComputeTarget, type IdentityPatch } from "@podid/core";
import { describe, expect, it } from "vitest";
import { anyUserAssignedIdentityIdArb, computeTargetArb } from "../arbitraries/azure-ids.js";
import { FakeCompute } from "../fakes/fake-compute.js";
import { catalogErrorToWire, computeErrorToWire, splitCodedMessage } from "./arm-wire-errors.js";

type Scenario =
  | { readonly kind: "throttle"; readonly all: boolean; readonly retryAfterMs: number }
  | { readonly kind: "conflict" }
  | { readonly kind: "deleting" }
  | { readonly kind: "forbid"; readonly count: number }
  | { readonly kind: "deleted"; readonly count: number }
  | { readonly kind: "tooMany" }
  | { readonly kind: "notFound" }
  | { readonly kind: "stale" }
  | { readonly kind: "injected"; readonly error: ComputeError };

const scenarioArb: fc.Arbitrary<Scenario> = fc.oneof(
  fc.record({ kind: fc.constant("throttle" as const), all: fc.boolean(), retryAfterMs: fc.integer({ min: 0, max: 300_000 }) }),
  fc.constant({ kind: "conflict" as const }),
  fc.constant({ kind: "deleting" as const }),
  fc.record({ kind: fc.constant("forbid" as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("deleted" as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.constant({ kind: "tooMany" as const }),
  fc.constant({ kind: "notFound" as const }),
  fc.constant({ kind: "stale" as const }),
  fc.record({
    kind: fc.constant("injected" as const),
    error: fc.oneof(
      fc.constant<ComputeError>({ kind: "forbidden", message: "AuthorizationFailed: The client does not have authorization to perform action 'Microsoft.Compute/virtualMachineScaleSets/write'." }),
      fc.constant<ComputeError>({ kind: "transient", message: "InternalServerError: An internal error occurred." }),
    ),
  }),
);

/** Produces a real error from FakeCompute for `scenario`. */
async function errorFrom(scenario: Scenario, target: ComputeTarget, ids: readonly string[]): Promise<ComputeError> {
  const compute = new FakeCompute();
  compute.add(target);
  const attach = (list: readonly string[]): IdentityPatch => ({
    identity: { type: "UserAssigned", userAssignedIdentities: Object.fromEntries(list.map((id) => [id, {}])) },
  });
  let call: ReturnType<FakeCompute["patchIdentities"]>;
  switch (scenario.kind) {
    case "throttle":
      compute.throttle(scenario.all ? "all" : target, { retryAfterMs: scenario.retryAfterMs });
      call = compute.patchIdentities(target, attach(ids));
      break;
    case "conflict":
      compute.conflictNext(target);
      call = compute.patchIdentities(target, attach(ids));
      break;
    case "deleting":
      compute.setProvisioningState(target, "Deleting");
      call = compute.patchIdentities(target, attach(ids));
      break;
    case "forbid":
      compute.forbidIdentities(ids.slice(0, scenario.count));
      call = compute.patchIdentities(target, attach(ids));
      break;
    case "deleted":
      compute.deleteIdentities(ids.slice(0, scenario.count));
      call = compute.patchIdentities(target, attach(ids));
      break;
    case "tooMany":
      call = compute.patchIdentities(target, attach(Array.from({ length: 151 }, (_, i) => `${ids[0] ?? ""}-${i}`)));
      break;
    case "notFound":
      call = compute.patchIdentities({ ...target, name: `${target.name}-gone` }, attach(ids));
      break;
    case "stale":
      call = compute.patchIdentities(target, attach(ids), '"stale"');
      break;
    case "injected":
      compute.failNext(target, scenario.error);
      call = compute.patchIdentities(target, attach(ids));
      break;
  }
  const result = await call;
  if (result.ok) throw new Error(`scenario ${scenario.kind} did not fail`);
  return result.error;
}

describe("computeErrorToWire", () => {
  it("puts every FakeCompute error on the wire so that core's classifyArmError recovers it (kind, ids, wait, scope)", async () => {
    await fc.assert(
      fc.asyncProperty(
        scenarioArb,
        computeTargetArb,
        fc.uniqueArray(anyUserAssignedIdentityIdArb.map((x) => x.id), { minLength: 3, maxLength: 5, selector: (id) => id.toLowerCase() }),
        async (scenario, target, ids) => {
          const error = await errorFrom(scenario, target, ids);
          const wire = computeErrorToWire(error);
          expect(wire.status).toBeGreaterThanOrEqual(400);
          expect(wire.code).toMatch(/^[A-Za-z]+$/);
          const classified = classifyArmError(
            { statusCode: wire.status, code: wire.code, message: wire.message, ...(wire.headers?.["retry-after"] !== undefined ? { retryAfter: wire.headers["retry-after"] } : {}) },
            0,
          );
          expect(classified.kind).toBe(error.kind);
          if (error.kind === "throttled" && classified.kind === "throttled") {
            expect(classified.retryAfterMs).toBe(Math.ceil(error.retryAfterMs / 1000) * 1000);
            expect(classified.scope).toBe(error.scope);
          }
          if ((error.kind === "forbiddenIdentities" || error.kind === "invalidIdentities") && "identityKeys" in classified) {
            expect([...classified.identityKeys].sort()).toEqual([...error.identityKeys].sort());
            // The message names the refused ids in ARM's linked-scope / not-found form.
            expect(wire.message).not.toMatch(/^(LinkedAuthorizationFailed|FailedIdentityOperation):/);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("uses ARM's statuses and codes for the documented cases", () => {
    expect(computeErrorToWire({ kind: "throttled", retryAfterMs: 1500, scope: "target", message: "TooManyRequests: slow down" })).toEqual({
      status: 429,
      code: "TooManyRequests",
      message: "slow down",
      headers: { "retry-after": "2" },
    });
    expect(computeErrorToWire({ kind: "tooManyIdentities", message: "User Assigned Identities Number '151' Assign exceed limit '150' in one request" })).toMatchObject({
      status: 400,
      code: "BadRequest",
    });
    expect(computeErrorToWire({ kind: "transient", message: "InvalidParameter: bad" })).toMatchObject({ status: 400, code: "InvalidParameter" });
    expect(computeErrorToWire({ kind: "transient", message: "something broke" })).toMatchObject({ status: 500, code: "InternalServerError" });
    expect(catalogErrorToWire({ kind: "throttled", retryAfterMs: 0, message: "x" })).toMatchObject({ status: 429, headers: { "retry-after": "0" } });
    expect(catalogErrorToWire({ kind: "notFound", message: "ResourceNotFound: gone" })).toEqual({ status: 404, code: "ResourceNotFound", message: "gone" });
  });

  it("splits only a leading `Code: ` prefix", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,20}$/), fc.string(), (code, message) => {
        expect(splitCodedMessage(`${code}: ${message}`, "X")).toEqual({ code, message });
      }),
      { numRuns: 200 },
    );
    expect(splitCodedMessage("User Assigned Identities Number '1' ...", "BadRequest")).toEqual({ code: "BadRequest", message: "User Assigned Identities Number '1' ..." });
  });
});
