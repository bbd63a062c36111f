import { afterEach, describe, expect, it } from "vitest";
import { tokenUrl } from "@podid/testkit";
import { ensureBuilt } from "../nmi-e2e/e2e-node.js";
import { distScript, startChild, timedGet, type LoadChild } from "./load-processes.js";

/**
 * Issue #12 item 4, part 1: one pod cannot take NMI's descriptors. A real NMI process (the whole
 * composition, on in-memory fakes, with a 4,096-descriptor limit) serves pods at 127.0.0.2 (the
 * flooder) and 127.0.0.3 (the victim) on loopback. The flooder — two processes of its own at that address —
 * opens 20,000 connections with half-sent requests and holds them. The
 * victim's first token must still arrive within 1 s, and the probe server must answer.
 */

const FLOOD_CONNECTIONS = 20_000;
const NMI_NOFILE = 4_096;
const children: LoadChild[] = [];

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
});

describe("connection flood from one pod", () => {
  it("another pod still gets its token within 1 s and the probes answer while one pod holds 20,000 half-sent requests", { timeout: 120_000 }, async () => {
    ensureBuilt();
    // NMI runs with a 4,096-descriptor limit (lowered by `prlimit` on this child only), so that the flood
    // crosses it within the test's time bound; NMI's connection cap adapts to whatever limit it finds.
    const target = startChild("prlimit", [`--nofile=${String(NMI_NOFILE)}:${String(NMI_NOFILE)}`, process.execPath, distScript("flood-target-main.ts"), "{}"]);
    children.push(target);
    const { nmiPort, probePort } = await target.line<{ nmiPort: number; probePort: number }>((l) => l["ready"] === true, 20_000);

    // The hard descriptor limit here is 20,000 and cannot be raised, so the pod floods from two processes.
    const flooders = [0, 1].map(() =>
      startChild(process.execPath, [
        distScript("flooder-main.ts"),
        JSON.stringify({ port: nmiPort, localAddress: "127.0.0.2", count: FLOOD_CONNECTIONS / 2, parallel: 1_000, openMs: 40_000, holdMs: 70_000 }),
      ]),
    );
    children.push(...flooders);
    const flood = await Promise.all(
      flooders.map((f) => f.line<{ opened: number; held: number; closedByPeer: number; errors: Record<string, number>; ms: number }>((l) => "opened" in l, 50_000)),
    );
    const token = await timedGet(nmiPort, tokenUrl("https://storage.azure.com/"), { localAddress: "127.0.0.3", headers: { Metadata: "true" }, timeoutMs: 5_000 });
    const probe = await timedGet(probePort, "/healthz", { timeoutMs: 3_000 });
    const nmiAlive = target.child.exitCode === null && target.child.signalCode === null;
    console.log(JSON.stringify({ flood, token, probe, nmiAlive, nmiStderr: target.stderr().slice(0, 400) }));

    expect(nmiAlive).toBe(true);
    expect(token.status).toBe(200);
    expect(token.ms).toBeLessThan(1_000);
    expect(probe.status).toBe(200);
  });
});
