import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { bindPod, makeAssigned, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

/**
 * The connection timeouts that protect NMI from slow clients (`headersTimeoutMs`, `requestTimeoutMs`) bound how
 * long a client may take to *send* its request; they must never cut the assignment wait that follows a complete
 * request (up to 100 s). Over a real socket, with timeouts far shorter than the wait.
 */
let h: NmiHarness | undefined;

afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { Metadata: "true" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("connection timeouts and the assignment wait", () => {
  it("a request that waits longer than the request timeout for its AAI still gets its token", async () => {
    h = createHarness({ config: { headersTimeoutMs: 200, requestTimeoutMs: 300, keepAliveTimeoutMs: 200 } });
    const { pod, identity, binding } = bindPod(h, { pod: "app", ip: "127.0.0.1", identity: "id-a", status: "Created" });
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const port = (h.app.server.address() as AddressInfo).port;
    const started = Date.now();
    const pending = get(port, tokenUrl());
    // Four request timeouts of real time pass while the request waits for its Created AAI to become Assigned.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    h.cluster.apply("azureassignedidentities", makeAssigned(pod, identity, binding, "Assigned"));
    const res = await pending;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)["client_id"]).toBe(identity.spec.clientID);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_200);
  });
});
