import { afterEach, describe, expect, it } from "vitest";
import { FakeKubeApiServer } from "@podid/testkit";
import { KubeClient } from "../client/kube-client.js";
import { loadKubeConfig } from "../client/kube-config.js";
import { readServiceAccountIssuer } from "./service-account-issuer.js";

let server: FakeKubeApiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const clientOf = (s: FakeKubeApiServer) => new KubeClient({ kubeConfig: loadKubeConfig({ kind: "yaml", yaml: s.kubeconfig() }), qps: Number.POSITIVE_INFINITY });

describe("readServiceAccountIssuer (over HTTP, against the embedded API server)", () => {
  it("reads the issuer the API server signs service-account tokens with, exactly as configured", async () => {
    server = await FakeKubeApiServer.start({ serviceAccountIssuer: "https://oidc.example.test/tenant/cluster-1/" });
    expect(await readServiceAccountIssuer(clientOf(server))).toBe("https://oidc.example.test/tenant/cluster-1/");
  });

  it("defaults to the server's own URL when no issuer is configured", async () => {
    server = await FakeKubeApiServer.start();
    expect(await readServiceAccountIssuer(clientOf(server))).toBe(server.serviceAccountIssuer);
  });
});
