import { runCommand } from "./run-command.js";
import { deleteNetns, newNetnsRunId } from "./netns-names.js";

/** Whether this machine can run the network-namespace tests, and why not. */
export type NetnsSupport = { readonly supported: true } | { readonly supported: false; readonly reason: string };

let cached: Promise<NetnsSupport> | undefined;

async function probe(): Promise<NetnsSupport> {
  if (process.platform !== "linux") return { supported: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { supported: false, reason: "network namespace tests need root (ip netns add)" };
  const version = await runCommand(["ip", "-V"], { timeoutMs: 5_000 });
  if (version.exitCode !== 0) return { supported: false, reason: `iproute2 'ip' is not usable: ${version.spawnError ?? version.stderr.trim()}` };
  const name = `${newNetnsRunId()}-probe`;
  const add = await runCommand(["ip", "netns", "add", name], { timeoutMs: 5_000 });
  if (add.exitCode !== 0) return { supported: false, reason: `'ip netns add' failed: ${add.stderr.trim()}` };
  const bridge = await runCommand(["ip", "-n", name, "link", "add", "br0", "type", "bridge"], { timeoutMs: 5_000 });
  const veth = await runCommand(["ip", "-n", name, "link", "add", "va", "type", "veth", "peer", "name", "vb"], { timeoutMs: 5_000 });
  await deleteNetns(name);
  if (bridge.exitCode !== 0) return { supported: false, reason: `bridges are not available: ${bridge.stderr.trim()}` };
  if (veth.exitCode !== 0) return { supported: false, reason: `veth pairs are not available: ${veth.stderr.trim()}` };
  return { supported: true };
}

/**
 * Probes once per process (root, `ip`, `ip netns add`, bridge and veth links) and explains a "no", so
 * tests can `describe.skipIf(!support.supported)` and print the reason.
 */
export function netnsSupport(): Promise<NetnsSupport> {
  cached ??= probe();
  return cached;
}

/**
 * Whether the `iptables` tools exist and work (an empty namespace is probed, so the host's rules are never
 * read or touched). `CI` installs them where missing; elsewhere tests skip with this reason.
 */
export async function iptablesSupport(): Promise<NetnsSupport> {
  const netns = await netnsSupport();
  if (!netns.supported) return netns;
  const name = `${newNetnsRunId()}-ipt`;
  const add = await runCommand(["ip", "netns", "add", name], { timeoutMs: 5_000 });
  if (add.exitCode !== 0) return { supported: false, reason: `'ip netns add' failed: ${add.stderr.trim()}` };
  try {
    for (const argv of [["iptables", "-w", "5", "-t", "nat", "-S"], ["iptables-save", "-t", "filter"], ["iptables-restore", "--version"]]) {
      const result = await runCommand(["ip", "netns", "exec", name, ...argv], { timeoutMs: 10_000 });
      if (result.exitCode !== 0) return { supported: false, reason: `${argv.join(" ")} failed: ${result.spawnError ?? result.stderr.trim()}` };
    }
    return { supported: true };
  } finally {
    await deleteNetns(name);
  }
}
