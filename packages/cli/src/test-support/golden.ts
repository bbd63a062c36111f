/**
 * Golden files for the CLI's text output, committed under `src/__golden__/`. A test compares the output
 * with the file; `PODID_UPDATE_GOLDEN=1 npx vitest run packages/cli` rewrites them (review
 * the diff before committing).
 * @packageDocumentation
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const GOLDEN_DIR = fileURLToPath(new URL("../__golden__/", import.meta.url));

/** Asserts that `actual` equals the golden file `name` (or writes it when updating). */
export function expectGolden(name: string, actual: string): void {
  const path = join(GOLDEN_DIR, name);
  if (process.env["PODID_UPDATE_GOLDEN"] === "1") {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing; run with PODID_UPDATE_GOLDEN=1 to create it`);
  expect(actual).toBe(readFileSync(path, "utf8"));
}
