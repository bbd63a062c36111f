import { afterEach, describe, expect, it } from "vitest";
import { bindPod, makeAssigned, makePod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

/**
 * Issue #12 item 7: a pod no live binding can select is answered 404 at once (the original made it wait
 * the full 80 s); a pod a binding selects still waits for MIC, and for its Created AAI. The virtual clock
 * never moves here: an answer that needed the 80 s budget would never come.
 */

const META = { Metadata: "true" };
let h: NmiHarness;

afterEach(async () => {
  await h?.app.close();
});

async function untilWaiting(n: number): Promise<void> {
  for (let i = 0; i < 1000 && h.engine.waiting !== n; i++) await new Promise((r) => setImmediate(r));
  expect(h.engine.waiting).toBe(n);
}

/** The answer, or `undefined` when it has not come within `ms` real milliseconds. */
async function within<T>(pending: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([pending, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms))]);
}

describe("unbound pods are answered at once", () => {
  it("no aadpodidbinding label, or a label no binding has (in scope): 404 in < 1 s, no wait", async () => {
    h = createHarness({ config: { forceNamespaced: true } });
    bindPod(h, { pod: "bound", ip: "10.0.0.9", identity: "id-a", namespace: "team-b" });
    h.cluster.apply("pods", makePod({ name: "loner", ip: "10.0.0.5" }));
    h.cluster.apply("pods", makePod({ name: "typo", ip: "10.0.0.6", selector: "id-b-selector" }));
    // The binding of id-a is in team-b: with --forceNamespaced it cannot select a pod in default.
    h.cluster.apply("pods", makePod({ name: "elsewhere", ip: "10.0.0.7", selector: "id-a-selector" }));
    for (const ip of ["10.0.0.5", "10.0.0.6", "10.0.0.7"]) {
      const started = Date.now();
      const res = await within(h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: ip }), 1_000);
      expect(res?.statusCode, ip).toBe(404);
      expect(Date.now() - started, ip).toBeLessThan(1_000);
      expect(JSON.parse(res?.body ?? "{}"), ip).toMatchObject({ error: "not_found", error_description: expect.stringMatching(/no AzureIdentityBinding\/AzureIdentity found/) });
    }
    expect(h.engine.waiting).toBe(0);
  });

  it("a pod a binding selects still waits for its first AAI and for its Created AAI, then gets its token", async () => {
    h = createHarness();
    const { pod, identity, binding } = bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a", status: "none" });
    const pending = h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" });
    await untilWaiting(1);
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding, "Created"));
    await untilWaiting(1);
    expect(await within(pending, 200)).toBeUndefined();
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding, "Assigned"));
    expect((await pending).statusCode).toBe(200);
  });
});
