import { writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { FakeCompute, systemClock } from "@podid/testkit";
import { pino, type Logger } from "pino";
import { describe, expect, it } from "vitest";
import { composeMic, type MicRuntime } from "@podid/mic-runner";
import { httpGet, TENANT, until } from "./test-support/system-world.js";
import { worldPerTest } from "./test-support/world-per-test.js";

/**
 * How MIC starts: the cloud configuration from environment variables when `--cloudconfig` is empty (as the
 * original), a fatal start-up error for an invalid azure.json (with everything it started undone), and an
 * in-process MIC whose ARM port is injected (how the demo or a custom controller can embed it).
 */

const runtimes: MicRuntime[] = [];
const worlds = worldPerTest(() => Promise.all(runtimes.splice(0).map((r) => r.stop("test finished"))));

/** A pino logger whose JSON lines the test can read. */
function capturingPino(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: pino({ level: "info" }, destination), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("MIC start-up", { timeout: 30_000 }, () => {
  it("reads the cloud configuration from the original's environment variables when --cloudconfig is empty", async () => {
    const w = await worlds.start();
    const { logger, lines } = capturingPino();
    const config = w.micConfig("mic-env", ["--cloudconfig="]);
    const runtime = composeMic(config, {
      pino: logger,
      env: {
        CLOUD: "AzurePublicCloud",
        TENANT_ID: TENANT,
        CLIENT_ID: "mic-sp",
        CLIENT_SECRET: "s3cret",
        SUBSCRIPTION_ID: "5d2c6f7a-1b3e-4c8d-9a0f-2e4b6c8d0a1f",
        RESOURCE_GROUP: "rg",
        VM_TYPE: "vmss",
        USER_ASSIGNED_MSI_CLIENT_ID: "kubelet-client-id",
      },
    });
    runtimes.push(runtime);
    await runtime.start();
    await until("MIC leads", () => runtime.isActive(), 5_000);
    const loaded = lines().find((l) => l["msg"] === "cloud configuration loaded");
    expect(loaded).toMatchObject({ source: "environment", cloud: "AzurePublicCloud", arm: "https://management.azure.com", credential: "servicePrincipal", clusterIdentity: "kubelet-client-id" });
    // The secret never reaches the log.
    expect(JSON.stringify(lines())).not.toContain("s3cret");
  });

  it("fails to start on an invalid azure.json, naming the problem, and leaves nothing listening", async () => {
    const w = await worlds.start();
    writeFileSync(w.azureJsonPath, JSON.stringify({ cloud: "AzurePublicCloud", useManagedIdentityExtension: false }));
    const runtime = composeMic(w.micConfig("mic-bad"), { pino: capturingPino().logger });
    runtimes.push(runtime);
    await expect(runtime.start()).rejects.toThrow(/invalid Azure configuration .*subscriptionId: required/);
    expect(runtime.isLeader()).toBe(false);
    expect(runtime.isSynced()).toBe(false);
  });

  it("runs in-process with an injected ARM port (no ARM client, no cloud configuration)", async () => {
    const w = await worlds.start();
    // ARM state lives in this FakeCompute only; the world's HTTP ARM is not used.
    const compute = new FakeCompute({ clock: systemClock, patchLatencyMs: 50 });
    const scaleSet = compute.add(w.scaleSet, { systemAssigned: true });
    const runtime = composeMic(w.micConfig("mic-embedded", ["--cloudconfig=/nonexistent/azure.json"]), { pino: capturingPino().logger, compute });
    runtimes.push(runtime);
    const addresses = await runtime.start();
    await until("MIC leads", () => runtime.isActive(), 5_000);
    const id = w.identity("embedded");
    w.binding("embedded-binding", "embedded", "embedded");
    w.pod("embedded", "embedded", w.nodes[0] ?? "");
    await until("Assigned", () => w.statuses()["embedded-default-embedded"] === "Assigned", 10_000);
    expect(compute.identitiesOf(scaleSet)?.userAssignedKeys).toEqual([w.key(id)]);
    expect(w.arm.counts().requests).toBe(0);
    expect((await httpGet(`http://127.0.0.1:${addresses.probe.port}/healthz`)).body).toBe("Active");
  });
});
