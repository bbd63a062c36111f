#!/usr/bin/env node
/**
 * `podid-sim`: entry point of the simulation CLI (see `program.ts`). Run it with
 * `npm run sim -- up --kubeconfig /tmp/k` from the repository root (builds first), or
 * `npx podid-sim up --kubeconfig /tmp/k` once the workspace bin is linked by `npm install`/`npm ci`.
 * @packageDocumentation
 */
import { runCli, untilProcessSignal } from "./program.js";

await runCli(process.argv, {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  untilSignal: untilProcessSignal,
});
