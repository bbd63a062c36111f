#!/usr/bin/env node
/**
 * `podid` (bin, also `npx podid`): `podid explain pod|identity …` against a cluster, `podid plan -f …`
 * offline. See the package README.
 * @packageDocumentation
 */
import { processDeps } from "./process-deps.js";
import { runPodid } from "./program.js";

process.exitCode = await runPodid(process.argv.slice(2), processDeps(), "podid");
