/**
 * Model-based properties of the fake through its HTTP API: random create/update/delete/patch sequences leave
 * `list` equal to a plain map model (with 409/404 exactly where the model predicts them), and a watch started
 * at any revision r replays exactly the changes after r, in order, with their resourceVersions.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeKubeApiServer } from "./fake-kube-apiserver.js";

type Op =
  | { readonly kind: "create"; readonly name: string; readonly value: string }
  | { readonly kind: "update"; readonly name: string; readonly value: string; readonly stale: boolean }
  | { readonly kind: "patch"; readonly name: string; readonly label: string; readonly value: string | null }
  | { readonly kind: "delete"; readonly name: string };

interface ModelObject {
  data: string;
  labels: Record<string, string>;
  rv: string;
}

interface ExpectedEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED";
  readonly name: string;
  readonly rv: string;
}

const names = fc.constantFrom("a", "b", "c");
const values = fc.constantFrom("x", "y");
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("create" as const), name: names, value: values }),
  fc.record({ kind: fc.constant("update" as const), name: names, value: values, stale: fc.boolean() }),
  fc.record({ kind: fc.constant("patch" as const), name: names, label: fc.constantFrom("l1", "l2"), value: fc.option(values, { nil: null }) }),
  fc.record({ kind: fc.constant("delete" as const), name: names }),
);

let server: FakeKubeApiServer;
let run = 0;

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
});

afterAll(async () => {
  await server.close();
});

async function call(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { "Content-Type": contentType, Accept: "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function rvOf(json: Record<string, unknown>): string {
  return String((json["metadata"] as Record<string, unknown>)["resourceVersion"]);
}

/** Reads a watch from `rv` until the sentinel object appears; returns the events before it. */
async function watchUntilSentinel(ns: string, rv: string, sentinel: string): Promise<ExpectedEvent[]> {
  const controller = new AbortController();
  const response = await fetch(`${server.url}/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${rv}`, { signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: ExpectedEvent[] = [];
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("watch ended before the sentinel");
      buffer += decoder.decode(value, { stream: true });
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const event = JSON.parse(buffer.slice(0, newline)) as { type: ExpectedEvent["type"]; object: { metadata: { name: string; resourceVersion: string } } };
        buffer = buffer.slice(newline + 1);
        if (event.object.metadata.name === sentinel) return events;
        events.push({ type: event.type, name: event.object.metadata.name, rv: event.object.metadata.resourceVersion });
        newline = buffer.indexOf("\n");
      }
    }
  } finally {
    controller.abort();
  }
}

describe("HTTP API against a model", () => {
  it("list equals the model and a watch from any revision sees exactly the later changes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 18 }), fc.nat(), async (ops, pick) => {
        run += 1;
        const ns = `m${run}`;
        const base = `/api/v1/namespaces/${ns}/configmaps`;
        const model = new Map<string, ModelObject>();
        const events: ExpectedEvent[] = [];
        const revisions: string[] = [String(server.revision)];
        for (const op of ops) {
          const current = model.get(op.name);
          switch (op.kind) {
            case "create": {
              const res = await call("POST", base, { metadata: { name: op.name }, data: { v: op.value } });
              if (current !== undefined) {
                expect(res.status).toBe(409);
                expect(res.json["reason"]).toBe("AlreadyExists");
                break;
              }
              expect(res.status).toBe(201);
              model.set(op.name, { data: op.value, labels: {}, rv: rvOf(res.json) });
              events.push({ type: "ADDED", name: op.name, rv: rvOf(res.json) });
              break;
            }
            case "update": {
              const rv = current === undefined ? "1" : op.stale ? String(Number(current.rv) - 1) : current.rv;
              const res = await call("PUT", `${base}/${op.name}`, { metadata: { name: op.name, resourceVersion: rv, labels: current?.labels ?? {} }, data: { v: op.value } });
              if (current === undefined) {
                expect(res.status).toBe(404);
                break;
              }
              if (op.stale) {
                expect(res.status).toBe(409);
                expect(res.json["reason"]).toBe("Conflict");
                break;
              }
              expect(res.status).toBe(200);
              if (current.data !== op.value) {
                current.data = op.value;
                current.rv = rvOf(res.json);
                events.push({ type: "MODIFIED", name: op.name, rv: current.rv });
              } else {
                expect(rvOf(res.json)).toBe(current.rv);
              }
              break;
            }
            case "patch": {
              const res = await call("PATCH", `${base}/${op.name}`, { metadata: { labels: { [op.label]: op.value } } }, "application/merge-patch+json");
              if (current === undefined) {
                expect(res.status).toBe(404);
                break;
              }
              expect(res.status).toBe(200);
              const before = current.labels[op.label];
              if (op.value === null) delete current.labels[op.label];
              else current.labels[op.label] = op.value;
              if (before !== (op.value ?? undefined)) {
                current.rv = rvOf(res.json);
                events.push({ type: "MODIFIED", name: op.name, rv: current.rv });
              }
              break;
            }
            case "delete": {
              const res = await call("DELETE", `${base}/${op.name}`);
              if (current === undefined) {
                expect(res.status).toBe(404);
                expect(res.json["reason"]).toBe("NotFound");
                break;
              }
              expect(res.status).toBe(200);
              model.delete(op.name);
              events.push({ type: "DELETED", name: op.name, rv: rvOf(res.json) });
              break;
            }
          }
          revisions.push(String(server.revision));
        }
        const list = await call("GET", base);
        const items = (list.json["items"] as { metadata: { name: string; labels?: Record<string, string>; resourceVersion: string }; data: { v: string } }[]).map((i) => ({
          name: i.metadata.name,
          data: i.data.v,
          labels: i.metadata.labels ?? {},
          rv: i.metadata.resourceVersion,
        }));
        expect(items).toEqual([...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, o]) => ({ name, ...o })));
        expect(rvOf(list.json)).toBe(String(server.revision));
        // RVs strictly increase in commit order.
        expect(events.map((e) => Number(e.rv))).toEqual([...events.map((e) => Number(e.rv))].sort((x, y) => x - y));

        const from = revisions[pick % revisions.length] ?? "0";
        const sentinel = "zz-sentinel";
        await call("POST", base, { metadata: { name: sentinel } });
        const seen = await watchUntilSentinel(ns, from, sentinel);
        expect(seen).toEqual(events.filter((e) => Number(e.rv) > Number(from)));
      }),
      { numRuns: 50 },
    );
  }, 20_000);
});
