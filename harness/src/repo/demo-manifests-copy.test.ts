/**
 * The demo's manifests have one source, `examples/demo/*.yaml`; `@podid/testkit` ships a copy in
 * `packages/testkit/examples/demo/` (`podid-sim demo` applies it, also when installed outside the repository).
 * The copy must hold the same files, byte for byte.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SOURCE = join(ROOT, "examples", "demo");
const COPY = join(ROOT, "packages", "testkit", "examples", "demo");

describe("shipped demo manifests", () => {
  it("packages/testkit/examples/demo is examples/demo (after editing: cp examples/demo/*.yaml packages/testkit/examples/demo/)", () => {
    expect(readdirSync(COPY).sort()).toEqual(readdirSync(SOURCE).sort());
    for (const name of readdirSync(SOURCE)) {
      expect(readFileSync(join(COPY, name)).equals(readFileSync(join(SOURCE, name))), name).toBe(true);
    }
  });
});
