/**
 * The federated exchange end to end with the embedded kube-apiserver as the issuer: a pod-bound token from
 * its TokenRequest, presented by `ClientAssertionCredential`, is verified by the fake AAD against the
 * apiserver's own HTTPS discovery document and JWKS.
 */
import { ClientAssertionCredential } from "@azure/identity";
import { formatUserAssignedIdentityId } from "@podid/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeFakeJwt } from "../fakes/fake-jwt.js";
import { FederatedTestbed } from "./federated-testbed.js";

const TENANT = "eeeeeeee-5555-4555-8555-eeeeeeeeeeee";
const BEARER = "admin-token";
const IDENTITY_ID = formatUserAssignedIdentityId({ subscriptionId: "s1", resourceGroup: "identities", name: "kube-web" });

let bed: FederatedTestbed;

beforeAll(async () => {
  bed = await FederatedTestbed.start({ tenantId: TENANT, bearerToken: BEARER });
  bed.catalog.register(IDENTITY_ID);
  await bed.createServiceAccounts("apps", ["workload"]);
}, 30_000);

afterAll(async () => {
  await bed.close();
});

describe("fake AAD federated exchange with the embedded kube-apiserver as issuer", () => {
  it("accepts a TokenRequest token of the trusted service account and refuses one of another", async () => {
    const { aad, catalog } = bed;
    const pod = await bed.createPod("apps", "workload", "web");
    // A pod-bound token for the pod's own service account; an unbound one for another (the apiserver refuses
    // to bind a token to a pod of a different service account).
    const tokenFor = (serviceAccount: string, bound: boolean): Promise<string> => bed.serviceAccountToken("apps", serviceAccount, bound ? pod : undefined);
    bed.trust(IDENTITY_ID, "apps", "workload");
    const identity = catalog.lookup(IDENTITY_ID);
    const credential = (token: string) =>
      new ClientAssertionCredential(TENANT, identity?.clientId ?? "", async () => token, { authorityHost: aad.url, disableInstanceDiscovery: true });

    const accepted = await credential(await tokenFor("workload", true)).getToken("https://vault.azure.net/.default");
    expect(decodeFakeJwt(accepted.token)).toMatchObject({ appid: identity?.clientId, xms_mirid: IDENTITY_ID, tid: TENANT });

    await expect(credential(await tokenFor("default", false)).getToken("https://vault.azure.net/.default")).rejects.toThrow(/AADSTS70021: .*Assertion Subject: 'system:serviceaccount:apps:default'/);
    expect(aad.federatedExchanges.map((e) => e.reason ?? e.outcome)).toEqual(["accepted", "noMatchingCredential"]);
  });
});
