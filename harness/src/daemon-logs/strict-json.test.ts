import { describe, expect, it } from "vitest";
import { parseStrictJsonLine } from "./strict-json.js";

describe("parseStrictJsonLine", () => {
  it("accepts one object per line, with the same key in different objects", () => {
    expect(parseStrictJsonLine('{"level":"info","node":"n1","req":{"node":"n1","a":[{"x":1},{"x":2}]},"msg":"a \\"node\\": b"}')).toEqual({
      ok: true,
      value: { level: "info", node: "n1", req: { node: "n1", a: [{ x: 1 }, { x: 2 }] }, msg: 'a "node": b' },
    });
  });

  it("rejects a key repeated in one object, at any depth and however it is escaped", () => {
    expect(parseStrictJsonLine('{"node":"a","level":"info","node":"a"}')).toEqual({ ok: false, error: 'duplicate key "node" at offset 27' });
    expect(parseStrictJsonLine('{"x":{"k":1, "k" : 2}}')).toMatchObject({ ok: false, error: expect.stringContaining('"k"') });
    expect(parseStrictJsonLine('{"a":1,"\\u0061":2}')).toMatchObject({ ok: false, error: expect.stringContaining('"a"') });
    expect(parseStrictJsonLine('{"a\\"":1,"a\\"":2}')).toMatchObject({ ok: false, error: expect.stringContaining("duplicate") });
    expect(parseStrictJsonLine('{"l":[{"k":1},{"k":2,"k":3}]}')).toMatchObject({ ok: false });
  });

  it("rejects what is not one JSON object", () => {
    expect(parseStrictJsonLine("podid-nmi listening")).toMatchObject({ ok: false, error: expect.stringContaining("not JSON") });
    expect(parseStrictJsonLine('{"a":1} {"b":2}')).toMatchObject({ ok: false });
    expect(parseStrictJsonLine("[1,2]")).toEqual({ ok: false, error: "not a JSON object" });
    expect(parseStrictJsonLine("")).toMatchObject({ ok: false });
  });
});
