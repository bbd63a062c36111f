import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FakeFederatedCredentialPort, FakeIdentityCatalog, VirtualClock } from "@podid/testkit";
import { federatedCredentialName } from "../federated/credential-name.js";
import { FEDERATED_TOKEN_AUDIENCE, serviceAccountSubject } from "../federated/service-account-subject.js";
import type { FederatedCredential } from "../ports/federated-credential.port.js";
import { FederatedCredentialExecutor } from "./federated-credentials.js";

const ISSUER = "https://issuer.cluster.test";
const ID_A = "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/a";
const ID_B = "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/b";
const sa = (i: number) => serviceAccountSubject("team-a", `sa-${String(i).padStart(2, "0")}`);
const ours = (subject: string): FederatedCredential => ({
  name: federatedCredentialName(ISSUER, subject),
  issuer: ISSUER,
  subject,
  audiences: [FEDERATED_TOKEN_AUDIENCE],
});

/**
 * testkit's port over its fake store, with Entra ID's rules: every call takes `latencyMs` of the virtual clock and a
 * write then holds the identity as long again, answering 409 to an overlapping write; 20 credentials at most.
 */
function setup(latencyMs = 100) {
  const clock = new VirtualClock();
  const catalog = new FakeIdentityCatalog({ clock, federated: { writeLatencyMs: latencyMs } });
  for (const id of [ID_A, ID_B]) catalog.register(id);
  const port = new FakeFederatedCredentialPort(catalog.federatedCredentials, { clock, latencyMs });
  const seed = (id: string, credentials: readonly FederatedCredential[]): void => {
    for (const credential of credentials) catalog.federatedCredentials.add(id, credential.name, credential);
  };
  return { clock, port, seed };
}

/** Runs the virtual clock until `promise` settles (bounded). */
async function settle<T>(clock: VirtualClock, promise: Promise<T>): Promise<T> {
  let done = false;
  void promise.finally(() => (done = true));
  for (let i = 0; i < 10_000 && !done; i++) {
    await clock.flush();
    if (!done) await clock.advanceAsync(Math.max(1, (clock.nextDueMs() ?? clock.now() + 1) - clock.now()));
  }
  return promise;
}

describe("FederatedCredentialExecutor", () => {
  it("lists, then creates one credential per needed subject, one write at a time", async () => {
    const { clock, port } = setup();
    const executor = new FederatedCredentialExecutor(port, clock, { issuer: ISSUER });
    const outcome = await settle(clock, executor.ensure("a", ID_A, [sa(2), sa(1), sa(1)]));
    expect(outcome).toMatchObject({ trusted: [sa(1), sa(2)], refused: [], writes: 2 });
    expect(outcome.error).toBeUndefined();
    expect(port.calls.map((c) => c.op)).toStrictEqual(["list", "create", "create"]);
    expect(port.held(ID_A)).toStrictEqual([ours(sa(1)), ours(sa(2))]);
    expect(port.counts().peakInFlightPerIdentity).toBe(1);
  });

  it("never has two writes in flight under one identity, however many ensures arrive at once", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom("a", "b"), fc.subarray([0, 1, 2, 3, 4, 5], { minLength: 1 })), { minLength: 2, maxLength: 12 }), async (requests) => {
        const { clock, port } = setup();
        const executor = new FederatedCredentialExecutor(port, clock, { issuer: ISSUER });
        const runs = requests.map(([identity, subjects]) => executor.ensure(identity, identity === "a" ? ID_A : ID_B, subjects.map(sa)));
        const outcomes = await settle(clock, Promise.all(runs));
        expect(port.counts()).toMatchObject({ conflicts: 0, peakInFlightPerIdentity: 1 });
        // The last run per identity decides what is held: exactly its subjects, all trusted.
        for (const id of ["a", "b"]) {
          const last = requests.map((r, i) => [r, outcomes[i]] as const).filter(([[identity]]) => identity === id).at(-1);
          if (last === undefined) continue;
          const held = port.held(id === "a" ? ID_A : ID_B).map((c) => c.subject).sort();
          expect(held).toStrictEqual([...new Set(last[0][1].map(sa))].sort());
          expect(last[1]?.trusted).toStrictEqual(held);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("retries 409 and 429 with back-off, waiting at least Retry-After", async () => {
    const { clock, port } = setup(10);
    port.failNext(1, { kind: "conflict", message: "409" }, ["create"]);
    port.failNext(1, { kind: "throttled", retryAfterMs: 4_000, message: "429" }, ["create"]);
    const executor = new FederatedCredentialExecutor(port, clock, { issuer: ISSUER, initialBackoffMs: 500 });
    const outcome = await settle(clock, executor.ensure("a", ID_A, [sa(1)]));
    expect(outcome).toMatchObject({ trusted: [sa(1)], writes: 3 });
    const creates = port.calls.filter((c) => c.op === "create").map((c) => c.atMs);
    expect(creates).toHaveLength(3);
    expect(creates[1]! - creates[0]!).toBeGreaterThanOrEqual(500);
    expect(creates[2]! - creates[1]!).toBeGreaterThanOrEqual(4_000);
  });

  it("gives up after maxAttempts and reports the error; a non-retryable failure stops at once", async () => {
    const { clock, port } = setup(1);
    port.failNext(3, { kind: "conflict", message: "409" }, ["create"]);
    const executor = new FederatedCredentialExecutor(port, clock, { issuer: ISSUER, maxAttempts: 3, initialBackoffMs: 10 });
    const outcome = await settle(clock, executor.ensure("a", ID_A, [sa(1)]));
    expect(outcome.error?.kind).toBe("conflict");
    expect(outcome.trusted).toStrictEqual([]);
    port.failNext(1, { kind: "failed", status: 403, message: "AuthorizationFailed" }, ["create"]);
    const forbidden = await settle(clock, executor.ensure("a", ID_A, [sa(1)]));
    expect(forbidden).toMatchObject({ writes: 1, error: { kind: "failed", status: 403 } });
  });

  it("refuses the 21st subject and writes nothing for it", async () => {
    const { clock, port, seed } = setup(1);
    seed(ID_A, Array.from({ length: 20 }, (_, i) => ({ ...ours(sa(i)), name: `hand-made-${i}` })));
    const executor = new FederatedCredentialExecutor(port, clock, { issuer: ISSUER });
    const outcome = await settle(clock, executor.ensure("a", ID_A, [sa(3), sa(20)]));
    expect(outcome).toMatchObject({ trusted: [sa(3)], refused: [sa(20)], writes: 0 });
    expect(port.calls.filter((c) => c.op !== "list")).toStrictEqual([]);
  });

  it("treats a 400 limit on create (the identity filled up since the list) as a refusal of the rest", async () => {
    const { clock, port } = setup(1);
    port.failNext(1, { kind: "limit", message: "limit" }, ["create"]);
    const executor = new FederatedCredentialExecutor(port, clock, { issuer: ISSUER });
    const outcome = await settle(clock, executor.ensure("a", ID_A, [sa(1), sa(2)]));
    expect(outcome).toMatchObject({ trusted: [], refused: [sa(1), sa(2)] });
    expect(outcome.error).toBeUndefined();
  });

  it("deletes only its own unneeded credentials, before creating, and counts every write", async () => {
    const { clock, port, seed } = setup(1);
    const foreign = { ...ours(sa(7)), name: "someone-elses" };
    const otherCluster = { ...ours(sa(8)), issuer: "https://other", name: federatedCredentialName("https://other", sa(8)) };
    seed(ID_A, [ours(sa(5)), ours(sa(6)), foreign, otherCluster]);
    const writes: string[] = [];
    const executor = new FederatedCredentialExecutor(port, clock, { issuer: ISSUER, onWrite: (op, result) => writes.push(`${op}:${result}`) });
    const outcome = await settle(clock, executor.ensure("a", ID_A, [sa(6), sa(1)]));
    expect(outcome.deleted).toStrictEqual([ours(sa(5))]);
    expect(outcome.trusted).toStrictEqual([sa(1), sa(6)]);
    expect(port.calls.map((c) => c.op)).toStrictEqual(["list", "delete", "create"]);
    expect(port.held(ID_A).map((c) => c.name).sort()).toStrictEqual([ours(sa(6)).name, foreign.name, otherCluster.name, ours(sa(1)).name].sort());
    expect(writes).toStrictEqual(["delete:success", "create:success"]);
  });

  it("reuses a credential someone else made for the same issuer and subject", async () => {
    const { clock, port, seed } = setup(1);
    seed(ID_A, [{ ...ours(sa(1)), name: "made-by-hand" }]);
    const executor = new FederatedCredentialExecutor(port, clock, { issuer: ISSUER });
    const outcome = await settle(clock, executor.ensure("a", ID_A, [sa(1)]));
    expect(outcome).toMatchObject({ trusted: [sa(1)], writes: 0 });
  });
});
