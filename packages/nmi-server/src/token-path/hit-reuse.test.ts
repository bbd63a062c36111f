import { afterEach, describe, expect, it } from "vitest";
import { bindPod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";
import type { NmiRequest } from "./2-routes.js";
import type { ServedRequest } from "./7-response-audit.js";

/**
 * A token answered from the cache is answered with the reply rendered the first time for that token, whether
 * the decision was memoised or taken again (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, last addendum):
 * the rendering depends on the token alone, and rebuilding it cost objects on every request.
 */

let h: NmiHarness | undefined;

afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

/** A token request from `remoteAddress` as the HTTP entry hands it to the engine. */
function tokenRequest(requestId: string, remoteAddress: string): NmiRequest {
  return { requestId, method: "GET", rawTarget: tokenUrl(), headers: { metadata: "true" }, remoteAddress, onClientGone: () => () => undefined };
}

/** Serves a request whose token is in memory: synchronously, or the test fails. */
function servedAtOnce(harness: NmiHarness, request: NmiRequest): ServedRequest {
  const served = harness.engine.serve(request);
  if (served instanceof Promise) throw new Error("a cached token was not answered in the same turn");
  return served;
}

describe.each([true, false])("cached-token replies (decision memo %s)", (memoiseDecisions) => {
  it("are one reply object per token, with each request's own audit record", async () => {
    h = createHarness({ config: { memoiseDecisions } });
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    bindPod(h, { pod: "other", ip: "10.0.0.6", identity: "id-a" });
    const first = await h.engine.serve(tokenRequest("r1", "10.0.0.5"));
    expect(first.reply.kind === "imds" && first.reply.response.status).toBe(200);
    const second = servedAtOnce(h, tokenRequest("r2", "10.0.0.5"));
    const third = servedAtOnce(h, tokenRequest("r3", "10.0.0.5"));
    // Another pod granted the same identity shares its token, and so the reply.
    const fromOther = servedAtOnce(h, tokenRequest("r4", "10.0.0.6"));
    expect(second.reply).toBe(third.reply);
    expect(fromOther.reply).toBe(second.reply);
    expect(second.reply).toMatchObject({ kind: "imds", closeConnection: false, response: { status: 200 } });
    expect([second.audit.requestId, third.audit.requestId, fromOther.audit.requestId]).toEqual(["r2", "r3", "r4"]);
    expect(fromOther.audit.subject?.podName ?? fromOther.audit.pod?.name).toBe("other");
    expect(third.audit.cache).toBe("hit");
  });
});
