#!/usr/bin/env node
// The one test command (`npm test`): type-check every package with `tsc -b`, run every vitest project,
// and print the plain `N passed, N failed` line that CI reads. Exits non-zero on any type error or failure.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bin = (name) => join(root, "node_modules", ".bin", name);
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: "inherit" }).status ?? 1;

console.log(`podid tests on node ${process.version}`);
const typecheck = run(bin("tsc"), ["-b"]);
if (typecheck !== 0) console.error("tsc -b reported type errors");

const resultsDir = join(root, ".test-results");
const resultsFile = join(resultsDir, "vitest.json");
mkdirSync(resultsDir, { recursive: true });
rmSync(resultsFile, { force: true });
const vitest = run(bin("vitest"), [
  "run",
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${resultsFile}`,
  ...process.argv.slice(2),
]);

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(resultsFile)) {
  const report = JSON.parse(readFileSync(resultsFile, "utf8"));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A file that fails to load has no failed test of its own: count each such file once.
  if (failed === 0) failed = report.numFailedTestSuites ?? 0;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
} else {
  failed = 1;
}
// A type error counts as one failure so that the summary line never claims a clean run.
if (typecheck !== 0) failed += 1;
if (vitest !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || typecheck !== 0 || vitest !== 0 ? 1 : 0);
