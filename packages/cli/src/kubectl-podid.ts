#!/usr/bin/env node
/**
 * `kubectl-podid` (bin): the same program as `podid`, found by kubectl as a plugin when this executable is
 * on PATH, so `kubectl podid explain pod app -n team-a` works. kubectl passes the arguments after `podid`.
 * @packageDocumentation
 */
import { processDeps } from "./process-deps.js";
import { runPodid } from "./program.js";

process.exitCode = await runPodid(process.argv.slice(2), processDeps(), "kubectl podid");
