import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PODID_KV_VERSION } from "./version.js";

describe("version", () => {
  it("is the package's version", () => {
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    expect(PODID_KV_VERSION).toBe(manifest.version);
  });
});
