/**
 * The federated demo's manifests have one source, `examples/demo-federated/*.yaml`; `@podid/testkit` ships a
 * copy in `packages/testkit/examples/demo-federated/` (`podid-sim demo --federated` applies it, also when
 * installed outside the repository). The copy must hold the same files, byte for byte.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SOURCE = join(ROOT, "examples", "demo-federated");
const COPY = join(ROOT, "packages", "testkit", "examples", "demo-federated");

describe("shipped federated demo manifests", () => {
  it("packages/testkit/examples/demo-federated is examples/demo-federated (after editing: cp examples/demo-federated/*.yaml packages/testkit/examples/demo-federated/)", () => {
    expect(readdirSync(COPY).sort()).toEqual(readdirSync(SOURCE).sort());
    for (const name of readdirSync(SOURCE)) {
      expect(readFileSync(join(COPY, name)).equals(readFileSync(join(SOURCE, name))), name).toBe(true);
    }
  });
});
