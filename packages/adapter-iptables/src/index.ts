/**
 * @podid/adapter-iptables — the iptables implementation of @podid/core's `NetfilterPort`: the original's
 * `aad-metadata` nat chain plus a fail-closed filter guard, applied atomically with `iptables-restore
 * --noflush`, and the periodic drift repair.
 *
 * Everything exported is named here on purpose (no `export *`); modules not listed are internal.
 * `public-surface.test.ts` pins the list.
 * @packageDocumentation
 */

// --- NetfilterPort over iptables -----------------------------------------------------------------
// The aad-metadata nat chain plus the fail-closed filter guard, applied with `iptables-restore --noflush`.
export type { CommandOutcome, CommandRunner } from "./command-runner.js";
export type { ConntrackFlushOutcome } from "./conntrack.js";
export { IptablesNetfilter } from "./iptables-netfilter.js";
export type { IptablesBinaries, IptablesNetfilterOptions } from "./iptables-netfilter.js";
export type { SysctlAccess } from "./sysctl.js";

// --- Anti-spoofing (docs/adr/0010-anti-spoofing.md) ---------------------------------------------
// Pod IP → host interface / bridge port from the node, and podid's nftables tables applied with one `nft -f`.
export { NftAntiSpoofing, parseNodeNetworkFacts } from "./anti-spoofing.js";
export type { AntiSpoofingSync, NftAntiSpoofingOptions } from "./anti-spoofing.js";

// --- Drift repair --------------------------------------------------------------------------------
// Re-checks the rules every `--ipt-update-interval-sec` and repairs any drift (see README).
export { DriftRepairLoop } from "./drift-repair-loop.js";
export type { DriftRepairEvent, DriftRepairLoopOptions, DriftRepairStats } from "./drift-repair-loop.js";
