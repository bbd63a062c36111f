import { afterEach, describe, expect, it } from "vitest";
import { bindPod, makeAssigned, makeBinding, makeException, makeIdentity, makePod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

/**
 * `ClusterView` keeps the lists a decision reads until an event of their resource arrives (listing copies
 * every cached object). These tests change each kind of object between two requests — with the decision
 * memo off, so every request is decided from the kept lists — and expect the second answer to follow the change.
 */

const META = { Metadata: "true" };
let h: NmiHarness | undefined;

afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

const ask = (ip: string, query = "") => h!.app.inject({ url: tokenUrl(undefined, query), headers: META, remoteAddress: ip });

describe.each([false, true])("decisions read the objects as changed (memoiseDecisions: %s)", (memoiseDecisions) => {
  it("an exception created, then deleted, in an exception namespace", async () => {
    h = createHarness({ config: { memoiseDecisions } });
    h.tokens.allowSystemAssigned();
    h.cluster.apply("pods", makePod({ name: "agent", namespace: "kube-system", ip: "10.0.0.5", labels: { app: "agent" } }));
    expect((await ask("10.0.0.5")).statusCode).toBe(404);
    h.cluster.apply("azurepodidentityexceptions", makeException("agents", "kube-system", { app: "agent" }));
    expect((await ask("10.0.0.5")).statusCode).toBe(200);
    h.cluster.remove("azurepodidentityexceptions", "kube-system", "agents");
    expect((await ask("10.0.0.5")).statusCode).toBe(404);
  });

  it("a binding deleted, then an AAI deleted, then an identity deleted", async () => {
    h = createHarness({ config: { memoiseDecisions, setRetryAfterHeader: true } });
    const { pod, identity, binding } = bindPod(h, { pod: "app", ip: "10.0.0.6", identity: "id-app" });
    expect((await ask("10.0.0.6")).statusCode).toBe(200);
    h.cluster.remove("azureidentitybindings", binding.metadata.namespace, binding.metadata.name);
    expect((await ask("10.0.0.6")).statusCode).not.toBe(200);
    h.cluster.apply("azureidentitybindings", makeBinding(identity, "id-app-selector"));
    expect((await ask("10.0.0.6")).statusCode).toBe(200);
    h.cluster.remove("azureassignedidentities", "default", makeAssigned(pod, identity, binding).metadata.name);
    expect((await ask("10.0.0.6")).statusCode).not.toBe(200);
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding, "Assigned"));
    expect((await ask("10.0.0.6")).statusCode).toBe(200);
    h.cluster.remove("azureidentities", identity.metadata.namespace, identity.metadata.name);
    expect((await ask("10.0.0.6")).statusCode).not.toBe(200);
    h.cluster.apply("azureidentities", makeIdentity({ name: "id-app" }));
    expect((await ask("10.0.0.6")).statusCode).toBe(200);
  });
});
