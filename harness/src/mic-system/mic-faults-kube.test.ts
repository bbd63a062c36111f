import { describe, expect, it } from "vitest";
import { prng, teams, throttled } from "./test-support/fault-helpers.js";
import { sleep, until, type TestMic } from "./test-support/system-world.js";
import { worldPerTest } from "./test-support/world-per-test.js";

/**
 * Faults while MIC works, in-process over real HTTP: dropped watches (abrupt and graceful) and expired watch
 * history (410), failing AzureAssignedIdentity writes and ARM 5xx/failed operations, and a seeded random mix
 * of user changes, faults and leader changes. Each test ends when the faults stop: the system must converge
 * with nothing lost (every desired pair Assigned and attached, nothing extra attached but the identities MIC
 * must leave alone).
 */

const worlds = worldPerTest();

describe("MIC under API server faults and leader changes", { timeout: 40_000 }, () => {
  it("dropped watches (abrupt and graceful) and expired history (410) while pods come and go lose nothing", async () => {
    const { w } = await worlds.startLed({ scaleSetNodes: 3, vmNodes: 1 });
    teams(w, 4);
    for (let round = 0; round < 12; round++) {
      w.pod(`churn-${round}`, `team-${round % 4}`, w.nodes[round % 4] ?? "");
      if (round % 3 === 2) w.deletePod(`churn-${round - 2}`);
      if (round === 6) w.pod("churn-1", "team-3", w.nodes[1] ?? "");
      if (round % 4 === 0) w.kube.dropWatches({ mode: "abrupt" });
      else if (round % 4 === 1) w.kube.expireHistory();
      else if (round % 4 === 2) w.kube.dropWatches({ mode: "graceful" });
      await sleep(120);
    }
    w.kube.expireHistory();
    w.kube.dropWatches();
    await w.converged(w.keepOnScaleSet(), 15_000);
    expect(w.kube.store.get("pods", "churn-0")).toBeUndefined();
  });

  it("failing AzureAssignedIdentity writes (500, 409, 429) and ARM 5xx are retried until everything converges", async () => {
    const { w, mic } = await worlds.startLed({ scaleSetNodes: 3, vmNodes: 1 });
    teams(w, 3);
    w.kube.failNextWrites(3, 500, { resource: "azureassignedidentities" });
    w.kube.failNextWrites(3, 409, { resource: "azureassignedidentities" });
    w.kube.failNextWrites(2, 429, { resource: "azureassignedidentities", retryAfterSeconds: 1 });
    w.arm.failNext("vmPatch", { status: 503, code: "ServiceUnavailable", message: "injected" }, 2);
    w.arm.failNextOperation(w.scaleSet, { code: "InternalExecutionError", message: "injected operation failure" });
    for (let i = 0; i < 9; i++) w.pod(`w-${i}`, `team-${i % 3}`, w.nodes[i % 4] ?? "");
    await w.converged(w.keepOnScaleSet(), 20_000);
    for (let i = 0; i < 9; i += 2) w.deletePod(`w-${i}`);
    await w.converged(w.keepOnScaleSet(), 20_000);
    // The failures are counted under the original's metric, by operation.
    const errors = await mic.runtime.registry.getSingleMetricAsString("aadpodidentity_kubernetes_api_operations_errors_count");
    expect(errors).toMatch(/operation_type="(assigned_identity_addition|update_azure_assigned_identity_status)"\} [1-9]/);
  });

  it("a seeded random mix of user changes, ARM and API faults and leader changes converges once the faults stop", async () => {
    const seed = Number(process.env["PODID_CHAOS_SEED"] ?? Date.now() % 100_000);
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const w = await worlds.start({ scaleSetNodes: 3, vmNodes: 1 });
    teams(w, 4);
    const mics: TestMic[] = [await w.startMic("mic-0"), await w.startMic("mic-1")];
    let nextMic = 2;
    let armFault: "none" | "throttle" | "error" = "none";
    const remove = w.arm.injectFault((request) => {
      if (armFault === "none" || request.target === undefined) return undefined;
      if (armFault === "throttle") return throttled("TooManyRequests", 1);
      return random() < 0.5 ? { status: 500, code: "InternalServerError", message: "chaos" } : undefined;
    });
    const log: string[] = [];
    try {
      for (let step = 0; step < 30; step++) {
        const action = pick(["pod", "pod", "pod", "delete", "relabel", "arm", "watch", "writes", "leader"] as const);
        const pods = w.kube.store.list("pods").map((p) => p.metadata["name"] as string);
        switch (action) {
          case "pod":
            w.pod(`chaos-${step}`, `team-${Math.floor(random() * 4)}`, pick(w.nodes), pick(["default", "apps"]));
            break;
          case "delete":
            if (pods.length > 0) {
              const name = pick(pods);
              w.deletePod(name, w.kube.store.list("pods").find((p) => p.metadata["name"] === name)?.metadata["namespace"] as string);
            }
            break;
          case "relabel": {
            const pod = w.kube.store.list("pods")[0];
            if (pod !== undefined) w.pod(pod.metadata["name"] as string, `team-${Math.floor(random() * 4)}`, pick(w.nodes), pod.metadata["namespace"] as string);
            break;
          }
          case "arm":
            armFault = pick(["none", "throttle", "error"] as const);
            break;
          case "watch":
            if (random() < 0.5) w.kube.dropWatches({ mode: pick(["abrupt", "graceful"] as const) });
            else w.kube.expireHistory();
            break;
          case "writes":
            w.kube.failNextWrites(1 + Math.floor(random() * 3), pick([409, 500, 429] as const), { resource: "azureassignedidentities" });
            break;
          case "leader": {
            const leader = mics.find((m) => m.runtime.isLeader());
            if (leader !== undefined) {
              await leader.runtime.stop("chaos: leader stops");
              mics.splice(mics.indexOf(leader), 1);
              mics.push(await w.startMic(`mic-${nextMic++}`));
            }
            break;
          }
        }
        log.push(`${step}:${action}`);
        await sleep(100);
      }
      armFault = "none";
      await w.converged(w.keepOnScaleSet(), 25_000);
    } catch (error) {
      if (process.env["PODID_TEST_LOGS"] !== undefined) {
        process.stderr.write(`LEASE ${JSON.stringify(w.kube.store.get("leases.coordination.k8s.io", "aad-pod-identity-mic", "default"))}\n`);
        for (const r of w.kube.requests.filter((q) => q.path.includes("azureassignedidentities") && q.method !== "GET")) process.stderr.write(`REQ ${r.method} ${r.path} ${r.status}\n`);
        for (const r of w.arm.requestLog.filter((q) => q.method !== "GET")) process.stderr.write(`ARM ${r.startedAtMs} ${r.method} ${r.path} ${r.status} ${r.code ?? ""}\n`);
        for (const c of w.compute.callLog) if (c.op === "patch") process.stderr.write(`PATCH ${c.startedAtMs}-${c.finishedAtMs} ${c.targetKey.slice(-30)} ${JSON.stringify(c.patch?.identity.userAssignedIdentities ?? {}).replace(/\/subscriptions[^"]*userassignedidentities\//gi, "")} ${c.outcome}\n`);
      }
      throw new Error(`seed ${seed} (replay with PODID_CHAOS_SEED=${seed}); steps ${log.join(" ")}: ${String(error)}`);
    } finally {
      remove();
    }
  });
});
