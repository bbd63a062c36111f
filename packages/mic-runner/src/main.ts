#!/usr/bin/env node
/**
 * `podid-mic`: the MIC process. daemon-shell's `runDaemon` parses the original's flags, composes MIC from
 * the production adapters, starts it and stops it gracefully on SIGTERM/SIGINT (controller stopped, Lease
 * released so the standby takes over at once, servers closed last). Exit codes: 0 after a graceful stop
 * or `--version`/`--help`, 2 for invalid flags, 1 when start-up fails, the shutdown hangs or a second
 * signal arrives.
 * @packageDocumentation
 */
import { hostname } from "node:os";
import { runDaemon } from "@podid/daemon-shell";
import { composeMic } from "./composition/compose-mic.js";
import { parseMicFlags } from "./config/parse-mic-flags.js";

process.exitCode = await runDaemon({
  program: "podid-mic",
  argv: process.argv.slice(2),
  env: process.env,
  parse: (argv, env) => parseMicFlags(argv, env, { hostname: env["HOSTNAME"] ?? hostname() }),
  compose: (config) => composeMic(config),
});
// Timers of the adapters are unref'd, but open sockets (keep-alive, watches being torn down) must not keep a
// stopped MIC alive.
process.exit();
