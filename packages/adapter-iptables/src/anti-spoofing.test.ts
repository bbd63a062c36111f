import { describe, expect, it } from "vitest";
import type { CommandOutcome, CommandRunner } from "./command-runner.js";
import { NftAntiSpoofing, parseNodeNetworkFacts } from "./anti-spoofing.js";

// Shapes as printed by iproute2 6.x / nftables 1.0.x on Debian bookworm.
const ROUTES = JSON.stringify([
  { dst: "10.9.0.0/24", dev: "br0", protocol: "kernel", scope: "link", prefsrc: "10.9.0.1", flags: [] },
  { dst: "10.9.1.5", dev: "cali1", scope: "link", flags: [] },
]);
const NEIGH = JSON.stringify([
  { dst: "10.9.0.10", dev: "br0", lladdr: "32:d5:6e:3f:71:d7", state: ["REACHABLE"] },
  { dst: "10.9.0.11", dev: "br0", state: ["FAILED"] },
]);
const FDB = JSON.stringify([
  { mac: "33:33:00:00:00:01", ifname: "br0", flags: ["self"], state: "permanent" },
  { mac: "32:d5:6e:3f:71:d7", ifname: "vp0", flags: [], master: "br0", state: "" },
  { mac: "6a:b2:e8:d2:89:bb", ifname: "vp0", flags: [], master: "br0", state: "permanent" },
]);
const LINKS = JSON.stringify([{ ifindex: 3, link: "br0", ifname: "vp0", master: "br0", state: "forwarding" }]);

/** Answers the listing commands; `nft list` returns what the last `nft -f` installed (unless `tamper`). */
class FakeNode implements CommandRunner {
  readonly scripts: string[] = [];
  installed = "";
  async run(argv: readonly [string, ...string[]], options: { readonly input?: string }): Promise<CommandOutcome> {
    const line = argv.join(" ");
    const out = (stdout: string): CommandOutcome => ({ kind: "exited", exitCode: 0, stdout, stderr: "" });
    if (line.startsWith("ip -4 -j route")) return out(ROUTES);
    if (line.startsWith("ip -4 -j neigh")) return out(NEIGH);
    if (line.startsWith("bridge -j fdb")) return out(FDB);
    if (line.startsWith("bridge -j link")) return out(LINKS);
    if (line === "nft -f -") {
      this.scripts.push(options.input ?? "");
      this.installed = options.input ?? "";
      return out("");
    }
    if (line.startsWith("nft list table")) return this.installed === "" ? { kind: "exited", exitCode: 1, stdout: "", stderr: "No such file or directory" } : out(`${argv[3] ?? ""}:${this.installed}`);
    return { kind: "notFound", command: line, message: "unexpected" };
  }
}

describe("parseNodeNetworkFacts", () => {
  it("keeps /32 routes, neighbours with a MAC, learned fdb entries and bridge ports", () => {
    expect(parseNodeNetworkFacts({ routes: ROUTES, neighbours: NEIGH, fdb: FDB, links: LINKS })).toEqual({
      routes: [{ dst: "10.9.0.0/24", dev: "br0" }, { dst: "10.9.1.5", dev: "cali1" }],
      neighbours: [{ ip: "10.9.0.10", dev: "br0", mac: "32:d5:6e:3f:71:d7" }],
      fdb: [{ mac: "32:d5:6e:3f:71:d7", port: "vp0", bridge: "br0" }],
      bridgePorts: [{ port: "vp0", bridge: "br0" }],
    });
  });
});

describe("NftAntiSpoofing", () => {
  it("applies one nft transaction, skips unchanged syncs, and re-applies when the tables drifted or a pod went", async () => {
    const node = new FakeNode();
    const nft = new NftAntiSpoofing({ metadataAddress: "169.254.169.254", runner: node });
    const first = await nft.sync(["10.9.0.10", "10.9.1.5", "10.9.0.99"]);
    expect(first.ok && first.value.applied).toBe(true);
    expect(first.ok && Object.fromEntries(first.value.resolution.bound)).toEqual({
      "10.9.0.10": { kind: "bridged", bridge: "br0", port: "vp0", mac: "32:d5:6e:3f:71:d7" },
      "10.9.1.5": { kind: "routed", interface: "cali1" },
    });
    expect(first.ok && [...first.value.resolution.unresolved.keys()]).toEqual(["10.9.0.99"]);
    expect(node.scripts).toHaveLength(1);
    expect(node.scripts[0]).toContain('"cali1" . 10.9.1.5');
    expect(node.scripts[0]).toContain('"vp0" . 10.9.0.10');

    const again = await nft.sync(["10.9.0.10", "10.9.1.5", "10.9.0.99"]);
    expect(again.ok && again.value.applied).toBe(false);
    expect(node.scripts).toHaveLength(1);

    node.installed = "flushed by someone";
    const repaired = await nft.sync(["10.9.0.10", "10.9.1.5"]);
    expect(repaired.ok && repaired.value.applied).toBe(true);
    expect(repaired.ok && repaired.value.drift).toEqual(["nft tables podid-antispoof differ from what podid installed"]);

    const gone = await nft.sync(["10.9.0.10"]);
    expect(gone.ok && gone.value.diff).toEqual({ added: [], removed: ["10.9.1.5"], changed: [] });
    expect(node.scripts.at(-1)).not.toContain("10.9.1.5");
  });

  it("reports a missing nft as unavailable and keeps its previous bindings", async () => {
    const node = new FakeNode();
    const nft = new NftAntiSpoofing({ metadataAddress: "169.254.169.254", runner: node, binaries: { nft: "/nonexistent/nft" } });
    const result = await nft.sync(["10.9.1.5"]);
    expect(result.ok).toBe(false);
    expect(nft.bound.size).toBe(0);
  });
});
