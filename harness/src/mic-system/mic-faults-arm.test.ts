import type { FakeArmRequestInfo } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import { teams, throttled } from "./test-support/fault-helpers.js";
import { sleep, until } from "./test-support/system-world.js";
import { worldPerTest } from "./test-support/world-per-test.js";

/**
 * ARM throttling while MIC works, in-process over real HTTP: 429 storms on one scale set and on the whole
 * subscription. MIC must honour Retry-After per VM/VMSS and per subscription (a handful of requests, not a
 * storm of its own), keep unthrottled VMs moving, and converge with nothing lost once the storm ends.
 */

const worlds = worldPerTest();

describe("MIC under ARM throttling", { timeout: 40_000 }, () => {
  it("an ARM 429 storm on the scale set: Retry-After is honoured (no hammering) and everything lands after it", async () => {
    const { w } = await worlds.startLed({ scaleSetNodes: 3, vmNodes: 1 });
    teams(w, 3);
    let storm = true;
    let answered429 = 0;
    const remove = w.arm.injectFault((request: FakeArmRequestInfo) => {
      if (!storm || request.target?.kind !== "vmss") return undefined;
      answered429++;
      return throttled("TooManyRequests", 1);
    });
    try {
      for (let i = 0; i < 9; i++) w.pod(`storm-${i}`, `team-${i % 3}`, w.nodes[i % 4] ?? "");
      await sleep(2_500);
      // The VM is not throttled: its pods land during the storm.
      await until("the VM's pods Assigned", () => w.assigned().filter((a) => a.spec.nodeName === w.nodes[3] && a.status === "Assigned").length === 2, 5_000);
      storm = false;
      // 2.5 s of storm with Retry-After: 1 allows about three attempts per operation class, not hundreds.
      expect(answered429).toBeGreaterThan(0);
      expect(answered429).toBeLessThanOrEqual(8);
      await w.converged(w.keepOnScaleSet(), 15_000);
    } finally {
      remove();
    }
  });

  it("a subscription-wide 429 storm stops calls to every VM/VMSS of the subscription until Retry-After passes", async () => {
    const { w } = await worlds.startLed({ scaleSetNodes: 3, vmNodes: 1 });
    teams(w, 2);
    let storm = true;
    let answered429 = 0;
    const remove = w.arm.injectFault((request) => {
      if (!storm || request.target === undefined) return undefined;
      answered429++;
      return throttled("SubscriptionRequestsThrottled", 2);
    });
    try {
      for (let i = 0; i < 8; i++) w.pod(`sub-${i}`, `team-${i % 2}`, w.nodes[i % 4] ?? "");
      await sleep(2_500);
      expect(w.assigned().filter((a) => a.status === "Assigned")).toEqual([]);
      storm = false;
      expect(answered429).toBeLessThanOrEqual(6);
      await w.converged(w.keepOnScaleSet(), 15_000);
    } finally {
      remove();
    }
  });
});
