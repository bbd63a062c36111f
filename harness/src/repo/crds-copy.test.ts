/**
 * The CRDs have one source, `deploy/crds.yaml`; `@podid/testkit` ships a copy (`podid-sim up` applies it by
 * default, also when installed outside the repository). The copy must equal the source byte for byte.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

describe("shipped CRDs", () => {
  it("packages/testkit/crds.yaml is deploy/crds.yaml (after editing the CRDs: cp deploy/crds.yaml packages/testkit/crds.yaml)", () => {
    const source = readFileSync(join(ROOT, "deploy", "crds.yaml"));
    const copy = readFileSync(join(ROOT, "packages", "testkit", "crds.yaml"));
    expect(copy.equals(source)).toBe(true);
  });
});
