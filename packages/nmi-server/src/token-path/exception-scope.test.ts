import { afterEach, describe, expect, it } from "vitest";
import { bindPod, makeException, makePod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

/**
 * Issue #12 item 3: exceptions stay node agents. An AzurePodIdentityException counts only in the
 * `--exception-namespaces` (default podid-system, kube-system), and an excepted pod never obtains an identity
 * an AzureIdentity names — unless `--exception-passthrough`.
 */

const META = { Metadata: "true" };
let h: NmiHarness;

afterEach(async () => {
  await h?.app.close();
});

/** A user's identity bound to its own pod, and a pod carrying an exception label in `namespace`. */
function scene(namespace: string, config: Parameters<typeof createHarness>[0] = {}) {
  h = createHarness(config);
  const { identity } = bindPod(h, { pod: "payments", ip: "10.0.0.9", identity: "id-payments", namespace: "team-b" });
  h.cluster.apply("azurepodidentityexceptions", makeException("agents", namespace, { app: "agent" }));
  h.cluster.apply("pods", makePod({ name: "agent", namespace, ip: "10.0.0.5", labels: { app: "agent" } }));
  h.tokens.allowSystemAssigned();
  return identity;
}

describe("exceptions stay node agents", () => {
  it("an exception a user makes in their own namespace does nothing: no user identity, no node identity", async () => {
    const identity = scene("team-a");
    for (const url of [tokenUrl(undefined, `&client_id=${identity.spec.clientID}`), tokenUrl()]) {
      const res = await h.app.inject({ url, headers: META, remoteAddress: "10.0.0.5" });
      expect(res.statusCode, url).toBe(404);
    }
    expect(h.tokens.calls.length).toBe(0);
  });

  it("in kube-system: the node identity, but 403 (IMDS-shaped) for an identity an AzureIdentity names, by client_id or msi_res_id", async () => {
    const identity = scene("kube-system");
    expect((await h.app.inject({ url: tokenUrl(), headers: META, remoteAddress: "10.0.0.5" })).statusCode).toBe(200);
    const before = h.tokens.calls.length;
    for (const query of [`&client_id=${identity.spec.clientID.toUpperCase()}`, `&msi_res_id=${encodeURIComponent(identity.spec.resourceID)}`]) {
      const res = await h.app.inject({ url: tokenUrl(undefined, query), headers: META, remoteAddress: "10.0.0.5" });
      expect(res.statusCode, query).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ error: "forbidden", error_description: expect.stringContaining("team-b/id-payments") });
    }
    expect(h.tokens.calls.length).toBe(before);
  });

  it("--exception-passthrough=true restores the original's pass-through", async () => {
    const identity = scene("kube-system", { config: { exceptionPassthrough: true } });
    const res = await h.app.inject({ url: tokenUrl(undefined, `&client_id=${identity.spec.clientID}`), headers: META, remoteAddress: "10.0.0.5" });
    expect(res.statusCode, res.body).toBe(200);
  });
});
