import { describe, expect, it } from "vitest";
import { freePort, httpGet, MIC_CLIENT_ID, TENANT, until } from "./test-support/system-world.js";
import { worldPerTest } from "./test-support/world-per-test.js";

/**
 * What an operator sees of a running MIC, over real HTTP: the original's `/healthz` contract, Kubernetes-style
 * `/readyz` and `/livez`, the original's Prometheus metric names on `/metrics` (own port, or shared with the
 * probes when both ports are equal), and `azure.json` reloaded without a restart.
 */

const worlds = worldPerTest();

describe("MIC probes, metrics and configuration reload", { timeout: 40_000 }, () => {
  it("serves /healthz, /readyz, /livez and the original's metric names on separate ports", async () => {
    const { w, mic } = await worlds.startLed();
    w.identity("metered");
    w.binding("metered-binding", "metered", "metered");
    w.pod("metered", "metered", w.nodes[0] ?? "");
    await w.converged();

    expect(await httpGet(`${mic.probeUrl}/healthz`)).toMatchObject({ status: 200, body: "Active" });
    expect(await httpGet(`${mic.probeUrl}/livez`)).toMatchObject({ status: 200, body: "ok" });
    const ready = await httpGet(`${mic.probeUrl}/readyz?verbose`);
    expect(ready.status).toBe(200);
    expect(ready.body).toContain("[+]informers-synced ok");
    expect(mic.probeUrl).not.toBe(mic.metricsUrl);
    expect((await httpGet(`${mic.probeUrl}/metrics`)).status).toBe(404);

    const metrics = await httpGet(`${mic.metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toContain("text/plain");
    for (const line of [
      /^aadpodidentity_mic_cycle_count \d+/m,
      /^aadpodidentity_mic_cycle_duration_seconds_count \d+/m,
      /^aadpodidentity_mic_new_leader_election_count 1$/m,
      /^aadpodidentity_assigned_identity_addition_count 1$/m,
      /^aadpodidentity_assigned_identity_addition_duration_seconds_count 1$/m,
      /^aadpodidentity_cloud_provider_operations_duration_seconds_count\{operation_type="vmss_update"\} 1$/m,
      /^aadpodidentity_cloud_provider_operations_duration_seconds_count\{operation_type="vmss_get"\} \d+$/m,
      /^podid_mic_leader 1$/m,
      /^podid_mic_quarantined_identities 0$/m,
    ]) {
      expect(metrics.body).toMatch(line);
    }
    expect(metrics.body).toMatch(/^# TYPE aadpodidentity_kubernetes_api_operations_errors_count counter$/m);
    // Every name the adapters and the controller recorded has a definition (nothing silently dropped).
    expect(mic.runtime.metrics.unknownNames()).toEqual([]);
    expect(metrics.body).toMatch(/^# TYPE aadpodidentity_cloud_provider_operations_errors_count counter$/m);
  });

  it("is not ready until its caches are synced, and counts ARM errors by operation type", async () => {
    const w = await worlds.start();
    w.kube.delay(1_500);
    const mic = await w.startMic("mic-0");
    const early = await httpGet(`${mic.probeUrl}/readyz`);
    expect(early.status).toBe(503);
    expect(early.body).toContain("[-]informers-synced failed");
    expect((await httpGet(`${mic.probeUrl}/healthz`)).body).toBe("Not Active");
    w.kube.delay(undefined);
    await until("ready", async () => (await httpGet(`${mic.probeUrl}/readyz`)).status === 200, 5_000);
    await until("MIC leads", () => mic.runtime.isActive(), 5_000);

    w.arm.failNext("vmssPatch", { status: 500, code: "InternalServerError", message: "injected" }, 4);
    w.identity("flaky");
    w.binding("flaky-binding", "flaky", "flaky");
    w.pod("flaky", "flaky", w.nodes[0] ?? "");
    await w.converged(w.keepOnScaleSet(), 15_000);
    const metrics = await httpGet(`${mic.metricsUrl}/metrics`);
    expect(metrics.body).toMatch(/^aadpodidentity_cloud_provider_operations_errors_count\{operation_type="vmss_update"\} [1-9]\d*$/m);
  });

  it("serves /metrics on the probe server when both ports are equal, and reloads a rotated azure.json secret", async () => {
    const w = await worlds.start();
    const port = await freePort();
    const mic = await w.startMic("mic-0", [`--http-probe-port=${port}`, `--prometheus-port=${port}`]);
    await until("MIC leads", () => mic.runtime.isActive(), 5_000);
    expect(mic.metricsUrl).toBe(mic.probeUrl);
    expect((await httpGet(`${mic.probeUrl}/metrics`)).body).toMatch(/^podid_mic_leader 1$/m);
    expect((await httpGet(`${mic.probeUrl}/healthz`)).body).toBe("Active");

    w.identity("before");
    w.binding("before-binding", "before", "before");
    w.pod("before", "before", w.nodes[0] ?? "");
    await w.converged();
    const compute = mic.runtime.compute();
    if (compute === undefined) throw new Error("MIC started without an ARM port");
    expect(compute.generation).toBe(0);

    w.aad.registerApplication({ tenantId: TENANT, clientId: MIC_CLIENT_ID, secret: "mic-secret-2" });
    w.writeAzureJson("mic-secret-2");
    await until("ARM client rebuilt", () => compute.generation === 1, 15_000);
    w.identity("after");
    w.binding("after-binding", "after", "after");
    w.pod("after", "after", w.nodes[1] ?? "");
    await w.converged();
  });
});
