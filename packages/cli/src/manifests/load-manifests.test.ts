import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseManifestText, splitFieldPath } from "./load-manifests.js";

describe("parseManifestText", () => {
  it("gives each document and each List item its starting line, and skips empty documents", () => {
    const text = [
      "# comment",
      "apiVersion: v1",
      "kind: Pod",
      "metadata:",
      "  name: a",
      "---",
      "---",
      "apiVersion: v1",
      "kind: List",
      "items:",
      "  - apiVersion: v1",
      "    kind: Node",
      "    metadata: {name: n1}",
      "  - apiVersion: v1",
      "    kind: Node",
      "    metadata:",
      "      name: n2",
      "",
    ].join("\n");
    const entries = parseManifestText(text, "f.yaml");
    expect(entries.map((e) => e.at)).toEqual([
      { file: "f.yaml", line: 2 },
      { file: "f.yaml", line: 11 },
      { file: "f.yaml", line: 14 },
    ]);
    expect(entries[2]?.value).toEqual({ apiVersion: "v1", kind: "Node", metadata: { name: "n2" } });
    expect(entries[2]?.locate("metadata.name")).toEqual({ file: "f.yaml", line: 17 });
  });

  it("locates fields exactly, then ignoring case, then at the deepest existing parent", () => {
    const text = ["kind: Pod", "spec:", "  ResourceID: x", "status:", "  podIPs:", "    - ip: 10.0.0.1", "    - ip: 10.0.0.2", ""].join("\n");
    const [entry] = parseManifestText(text, "p.yaml");
    expect(entry?.locate("spec.resourceID").line).toBe(3);
    expect(entry?.locate("status.podIPs[1].ip").line).toBe(7);
    expect(entry?.locate("spec.missing.deeper").line).toBe(2);
    expect(entry?.locate("").line).toBe(1);
  });

  it("rejects malformed YAML and duplicate keys with FILE:LINE:COLUMN", () => {
    expect(() => parseManifestText("a: [1, 2\n", "bad.yaml")).toThrow(/^bad\.yaml:\d+:\d+: malformed YAML: /);
    expect(() => parseManifestText("a: 1\na: 2\n", "dup.yaml")).toThrow(/^dup\.yaml:2:1: malformed YAML: /);
  });

  it("parses JSON documents too", () => {
    const [entry] = parseManifestText('{\n  "kind": "Node",\n  "metadata": {"name": "n"}\n}\n', "n.json");
    expect(entry?.value).toEqual({ kind: "Node", metadata: { name: "n" } });
    expect(entry?.locate("metadata.name").line).toBe(3);
  });
});

describe("splitFieldPath", () => {
  it("splits dotted paths with array indexes and round-trips them", () => {
    expect(splitFieldPath("status.podIPs[0].ip")).toEqual(["status", "podIPs", 0, "ip"]);
    expect(splitFieldPath("")).toEqual([]);
    const segment = fc.oneof(fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,6}$/), fc.nat(9));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), (parts) => {
        const keys = parts.filter((p, i) => typeof p === "string" || i > 0);
        const text = keys.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
        expect(splitFieldPath(text)).toEqual(keys);
      }),
      { numRuns: 200 },
    );
  });
});
