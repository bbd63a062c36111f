/**
 * @podid/adapter-iptables — the iptables implementation of @podid/core's `NetfilterPort`: the original's
 * `aad-metadata` nat chain plus a fail-closed filter guard, applied atomically with `iptables-restore
 * --noflush`, and the periodic drift repair.
 * @packageDocumentation
 */
export * from "./command-runner.js";
export * from "./sysctl.js";
export * from "./netfilter-errors.js";
export * from "./conntrack.js";
export * from "./iptables-netfilter.js";
export * from "./drift-repair-loop.js";
