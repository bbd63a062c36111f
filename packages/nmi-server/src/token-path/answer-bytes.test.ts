import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { bindPod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";

/**
 * NMI's own answers leave as bytes encoded once per body (step 1, `writeAnswer`): a cached token is written from
 * the same UTF-8 buffer on every hit instead of a string Node would join with the head and encode again for each
 * response (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, sixth addendum). The wire stays what it was.
 */

let h: NmiHarness | undefined;

afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

/** What each response of the server was ended with, in order (recorded before NMI's own handler runs). */
function recordEnds(harness: NmiHarness): unknown[] {
  const ends: unknown[] = [];
  harness.app.server.prependListener("request", (_req: IncomingMessage, res: ServerResponse) => {
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      ends.push(args[0]);
      return end(...args);
    }) as ServerResponse["end"];
  });
  return ends;
}

/** One GET over a fresh connection from 127.0.0.1. */
function get(port: number, target: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: target, headers: { ...headers, connection: "close" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("NMI's own answers on the wire", () => {
  it("write a cached token from one buffer, encoded once, with the JSON and length a client reads", async () => {
    h = createHarness();
    bindPod(h, { pod: "app", ip: "127.0.0.1", identity: "id-a" });
    const ends = recordEnds(h);
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const port = (h.app.server.address() as AddressInfo).port;

    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await get(port, tokenUrl(), { metadata: "true" }));

    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(Number(answer.headers["content-length"])).toBe(answer.body.length);
      expect(JSON.parse(answer.body.toString("utf8"))).toMatchObject({ token_type: "Bearer" });
    }
    expect(answers[1]?.body.equals(answers[0]?.body ?? Buffer.alloc(0))).toBe(true);
    expect(ends).toHaveLength(3);
    expect(ends.every((chunk) => Buffer.isBuffer(chunk))).toBe(true);
    // The second and third answers came from the cache: the very bytes of the first.
    expect(ends[1]).toBe(ends[0]);
    expect(ends[2]).toBe(ends[0]);
  });

  it("write a refusal as the bytes of its IMDS-shaped JSON", async () => {
    h = createHarness();
    const ends = recordEnds(h);
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const port = (h.app.server.address() as AddressInfo).port;

    const refused = await get(port, tokenUrl(), {});
    expect(refused.status).toBe(400);
    expect(Number(refused.headers["content-length"])).toBe(refused.body.length);
    expect(JSON.parse(refused.body.toString("utf8"))).toMatchObject({ error: "invalid_request" });
    expect(ends).toHaveLength(1);
    expect(Buffer.isBuffer(ends[0])).toBe(true);
    expect((ends[0] as Buffer).equals(refused.body)).toBe(true);
  });
});
