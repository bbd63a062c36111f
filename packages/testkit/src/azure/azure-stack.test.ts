import { ComputeManagementClient } from "@azure/arm-compute";
import { ClientSecretCredential } from "@azure/identity";
import { formatUserAssignedIdentityId } from "@podid/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeCompute } from "../fakes/fake-compute.js";
import { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import { decodeFakeJwt } from "../fakes/fake-jwt.js";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { FakeAadServer, fakeClientId } from "./fake-aad-server.js";
import { ARM_AUDIENCES, FakeArmServer } from "./fake-arm-server.js";
import { FakeImdsServer } from "./fake-imds-server.js";
import { systemClock } from "./system-clock.js";

const SUB = "0b1c2d3e-4f50-4617-8899-aabbccddeeff";
const TENANT = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa";
const RG = "MC_rg_cluster_westeurope";
const MIC_APP = fakeClientId("mic");
const podIdentity = formatUserAssignedIdentityId({ subscriptionId: SUB, resourceGroup: "identities", name: "pod-identity" });

let aad: FakeAadServer;
let arm: FakeArmServer;
let imds: FakeImdsServer;
let compute: FakeCompute;
let catalog: FakeIdentityCatalog;

beforeAll(async () => {
  const ca = TestCertificateAuthority.fromEnvironment();
  compute = new FakeCompute({ clock: systemClock, patchLatencyMs: 20 });
  catalog = new FakeIdentityCatalog();
  catalog.register(podIdentity);
  const vmss = compute.addVmss({ subscriptionId: SUB, resourceGroup: RG, name: "aks-pool-vmss" });
  [aad, arm, imds] = await Promise.all([
    FakeAadServer.start({ ca }),
    FakeArmServer.start({ ca, compute, catalog, auth: { audiences: ARM_AUDIENCES } }),
    FakeImdsServer.start({ compute, catalog, target: vmss, throttle: false }),
  ]);
  aad.registerApplication({ tenantId: TENANT, clientId: MIC_APP, secret: "mic-secret" });
});

afterAll(async () => {
  await Promise.all([aad.close(), arm.close(), imds.close()]);
});

describe("fake AAD + ARM + IMDS sharing one FakeCompute", () => {
  it("MIC-style: an AAD token authorises an ARM PATCH, after which IMDS serves the newly attached identity", async () => {
    const clientId = catalog.lookup(podIdentity)?.clientId ?? "";
    const tokenUrl = `${imds.url}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/&client_id=${clientId}`;
    const before = await fetch(tokenUrl, { headers: { Metadata: "true" } });
    expect(before.status).toBe(400);

    const credential = new ClientSecretCredential(TENANT, MIC_APP, "mic-secret", { authorityHost: aad.url, disableInstanceDiscovery: true });
    const client = new ComputeManagementClient(credential, SUB, { endpoint: arm.url });
    const updated = await client.virtualMachineScaleSets.update(
      RG,
      "aks-pool-vmss",
      { identity: { type: "UserAssigned", userAssignedIdentities: { [podIdentity]: {} } } },
      { updateIntervalInMs: 5 },
    );
    expect(Object.keys(updated.identity?.userAssignedIdentities ?? {})).toEqual([podIdentity]);
    expect(arm.counts().unauthorized).toBe(0);
    expect(aad.counts().issued).toBe(1); // MSAL cached the token for the polls and the final GET

    const after = await fetch(tokenUrl, { headers: { Metadata: "true" } });
    expect(after.status).toBe(200);
    const body = (await after.json()) as Record<string, string>;
    expect(decodeFakeJwt(body["access_token"] ?? "")).toMatchObject({ appid: clientId, xms_mirid: podIdentity });

    // The IMDS token is an ARM token: ARM accepts it, and refuses one minted for another resource.
    const vmssUrl = `${arm.url}/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachineScaleSets/aks-pool-vmss?api-version=2024-07-01`;
    expect((await fetch(vmssUrl, { headers: { authorization: `Bearer ${body["access_token"]}` } })).status).toBe(200);
    const vault = (await (await fetch(tokenUrl.replace("management.azure.com", "vault.azure.net"), { headers: { Metadata: "true" } })).json()) as Record<string, string>;
    const refused = await fetch(vmssUrl, { headers: { authorization: `Bearer ${vault["access_token"]}` } });
    expect(refused.status).toBe(401);
  });
});
