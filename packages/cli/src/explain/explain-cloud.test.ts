/**
 * `--cloudconfig` end to end with the production wiring: `azure.json` → adapter-azure's credential (service
 * principal against the fake AAD) → `ArmComputeAdapter` (real `@azure/arm-compute` over HTTPS against the
 * fake ARM, bearer token checked for ARM's audience). The identity block read there decides "assigned" vs
 * "not attached".
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseProviderId } from "@podid/core";
import { ARM_AUDIENCES, FakeAadServer, FakeArmServer, FakeCompute, FakeIdentityCatalog, systemClock } from "@podid/testkit";
import { ExplainWorld, identityId, NODE_RESOURCE_GROUP, scaleSetProviderId, SUBSCRIPTION } from "../test-support/explain-world.js";
import type { PodExplanation } from "./explanation-types.js";

const TENANT = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const CLIENT_ID = "3f9e8d7c-6b5a-4f3e-9d2c-1b0a9f8e7d6c";
const SECRET = "cli-reader-secret";

let world: ExplainWorld;
let arm: FakeArmServer;
let aad: FakeAadServer;
let compute: FakeCompute;
let azureJson = "";

beforeAll(async () => {
  compute = new FakeCompute({ clock: systemClock });
  const catalog = new FakeIdentityCatalog();
  catalog.register(identityId("reader"));
  const parsed = parseProviderId(scaleSetProviderId(0));
  if (!parsed.ok) throw new Error("bad providerID");
  compute.add(parsed.value.target, { systemAssigned: true, userAssigned: [identityId("reader")] });
  aad = await FakeAadServer.start();
  aad.registerApplication({ tenantId: TENANT, clientId: CLIENT_ID, secret: SECRET });
  arm = await FakeArmServer.start({ compute, catalog, auth: { audiences: ARM_AUDIENCES } });
  world = await ExplainWorld.start();
  world.identity("default", "reader");
  world.binding("default", "reader-binding", "reader", "reader");
  world.pod("default", "app", { aadpodidbinding: "reader" }, world.node(0));
  world.assigned("default", "app", "default", "reader", "Assigned");
  azureJson = join(world.dir, "azure.json");
  writeFileSync(
    azureJson,
    JSON.stringify({
      cloud: "AzurePublicCloud",
      tenantId: TENANT,
      aadClientId: CLIENT_ID,
      aadClientSecret: SECRET,
      subscriptionId: SUBSCRIPTION,
      resourceGroup: NODE_RESOURCE_GROUP,
      vmType: "vmss",
      useManagedIdentityExtension: false,
      resourceManagerEndpoint: arm.url,
      activeDirectoryEndpoint: aad.url,
    }),
  );
}, 30_000);

afterAll(async () => {
  await world.close();
  await arm.close();
  await aad.close();
});

describe("podid explain --cloudconfig with the real ARM client", () => {
  it("reads the scale set through ARM: attached, then not attached once removed out of band", async () => {
    const attached = await world.run(["explain", "pod", "app", "--cloudconfig", azureJson, "-o", "json"], { env: process.env });
    expect(attached.stderr).toBe("");
    const before = JSON.parse(attached.stdout) as PodExplanation;
    expect(before.node?.cloud?.attached).toEqual([identityId("reader").toLowerCase()]);
    expect(before.verdicts.map((v) => v.kind)).toEqual(["assigned"]);

    const parsed = parseProviderId(scaleSetProviderId(0));
    if (parsed.ok) compute.detachOutOfBand(parsed.value.target, identityId("reader"));
    const detached = JSON.parse((await world.run(["explain", "pod", "app", "--cloudconfig", azureJson, "-o", "json"], { env: process.env })).stdout) as PodExplanation;
    expect(detached.verdicts.map((v) => v.kind)).toEqual(["not attached"]);
    expect(compute.counts().patches).toBe(0); // explain only reads
  }, 30_000);

  it("a cloud config that cannot be used is an error naming the file", async () => {
    const bad = join(world.dir, "bad-azure.json");
    writeFileSync(bad, "{ not json");
    const run = await world.run(["explain", "pod", "app", "--cloudconfig", bad]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`podid: cannot use --cloudconfig ${bad}: `);
  });
});
