#!/usr/bin/env node
// Runs after `npm ci` / `npm install` in the repository: builds every package (`tsc -b`) so that the
// workspace bins (`npx podid`, `npx podid-mic`, …) work at once. Skipped, with one line, where there is
// nothing to build with or from: a production install without TypeScript, or a partial copy of the
// repository such as an image build stage (which builds its one package itself).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const tsc = join(root, "node_modules", ".bin", "tsc");
const references = JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8")).references ?? [];
const missing = references.map((r) => r.path).filter((path) => !existsSync(join(root, path)));
if (!existsSync(tsc) || missing.length > 0) {
  console.log(`podid prepare: not building (${!existsSync(tsc) ? "TypeScript is not installed" : `not the whole repository: ${missing.join(", ")} missing`})`);
  process.exit(0);
}
process.exit(spawnSync(tsc, ["-b"], { cwd: root, stdio: "inherit" }).status ?? 1);
