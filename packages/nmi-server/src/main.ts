#!/usr/bin/env node
/**
 * `podid-nmi`: the process entry point (what the image runs): NMI on the production adapters (adapter-k8s,
 * adapter-azure, adapter-iptables) until it is stopped; the exit code is `runNmi`'s.
 * @packageDocumentation
 */
import { productionAdapters } from "./production-adapters.js";
import { runNmi } from "./run-nmi.js";

process.exit(await runNmi(process.argv.slice(2), process.env, productionAdapters()));
