/**
 * TokenRequest and the service-account issuer's OIDC discovery, as a federated-credential consumer meets them:
 * the fake runs HTTPS with a certificate from the run CA, @kubernetes/client-node asks for a pod-bound token,
 * and the token's signature is checked against the JWKS found through the discovery document — fetched
 * over HTTPS without credentials, once by hand with node:crypto and once with a JOSE library
 * (`jose`'s remote JWKS and `jwtVerify`). Then the real server's refusals.
 */
import { createPublicKey, verify, type JsonWebKey } from "node:crypto";
import { CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { FakeKubeApiServer } from "./fake-kube-apiserver.js";
import { apiError } from "./test-support/api-error.js";

const AUDIENCE = "api://AzureADTokenExchange";
const BEARER = "admin-token";

let server: FakeKubeApiServer;
let core: CoreV1Api;
let pod: V1Pod;

function decodePart(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

function requestToken(body: Record<string, unknown>, name = "workload", namespace = "apps"): Promise<Response> {
  return fetch(`${server.url}/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
    method: "POST",
    headers: { authorization: `Bearer ${BEARER}`, "content-type": "application/json" },
    body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", ...body }),
  });
}

beforeAll(async () => {
  const ca = TestCertificateAuthority.fromEnvironment();
  server = await FakeKubeApiServer.start({ token: BEARER, tls: { ...(await ca.issueServerCertificate()), ca: ca.certPem } });
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "apps" } } });
  await core.createNamespacedServiceAccount({ namespace: "apps", body: { metadata: { name: "workload" } } });
  pod = await core.createNamespacedPod({
    namespace: "apps",
    body: { metadata: { name: "web" }, spec: { serviceAccountName: "workload", nodeName: "node-a", containers: [{ name: "app", image: "x" }] } },
  });
}, 30_000);

afterAll(async () => {
  await server.close();
});

describe("TokenRequest (serviceaccounts/token) with @kubernetes/client-node", () => {
  it("issues a pod-bound RS256 token that verifies against the JWKS found through HTTPS discovery, without credentials", async () => {
    const before = Math.floor(Date.now() / 1000);
    const created = await core.createNamespacedServiceAccountToken({
      name: "workload",
      namespace: "apps",
      body: { spec: { audiences: [AUDIENCE], expirationSeconds: 3600, boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web", uid: pod.metadata?.uid ?? "" } } },
    });
    const token = created.status?.token ?? "";
    expect(server.serviceAccountIssuer).toBe(server.url);
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    // Discovery, the way Entra ID does it: <issuer>/.well-known/openid-configuration → jwks_uri, no credentials.
    const discoveryResponse = await fetch(`${server.serviceAccountIssuer}/.well-known/openid-configuration`);
    expect(discoveryResponse.status).toBe(200);
    const discovery = (await discoveryResponse.json()) as Record<string, unknown>;
    expect(discovery).toEqual({
      issuer: server.serviceAccountIssuer,
      jwks_uri: `${server.url}/openid/v1/jwks`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
    });
    const jwksResponse = await fetch(String(discovery["jwks_uri"]));
    expect(jwksResponse.headers.get("content-type")).toBe("application/jwk-set+json");
    const jwks = (await jwksResponse.json()) as { keys: Array<Record<string, string>> };
    expect(jwks.keys).toHaveLength(1);
    const key = jwks.keys[0] ?? {};
    expect(key).toMatchObject({ kty: "RSA", use: "sig", alg: "RS256" });
    expect(Object.keys(key).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);

    const [header, payload, signature] = token.split(".");
    expect(decodePart(header)).toEqual({ alg: "RS256", kid: key["kid"] });
    const publicKey = createPublicKey({ key: key as JsonWebKey, format: "jwk" });
    expect(verify("sha256", Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature ?? "", "base64url"))).toBe(true);
    expect(verify("sha256", Buffer.from(`${header}.${payload}x`), publicKey, Buffer.from(signature ?? "", "base64url"))).toBe(false);

    const claims = decodePart(payload);
    expect(Object.keys(claims)).toEqual(["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"]);
    const sa = await core.readNamespacedServiceAccount({ name: "workload", namespace: "apps" });
    expect(claims).toMatchObject({
      iss: server.serviceAccountIssuer,
      sub: "system:serviceaccount:apps:workload",
      aud: [AUDIENCE],
      "kubernetes.io": {
        namespace: "apps",
        pod: { name: "web", uid: pod.metadata?.uid },
        serviceaccount: { name: "workload", uid: sa.metadata?.uid },
      },
    });
    const iat = claims["iat"] as number;
    expect(iat).toBeGreaterThanOrEqual(before);
    expect(claims["nbf"]).toBe(iat);
    expect(claims["exp"]).toBe(iat + 3600);
    expect(claims["jti"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.status?.expirationTimestamp?.getTime()).toBe((iat + 3600) * 1000);
    expect(created.spec?.audiences).toEqual([AUDIENCE]);

    // A real JOSE implementation agrees, from the discovery document on.
    const verified = await jwtVerify(token, createRemoteJWKSet(new URL(String(discovery["jwks_uri"]))), {
      issuer: String(discovery["issuer"]),
      audience: AUDIENCE,
      algorithms: ["RS256"],
    });
    expect(verified.payload.sub).toBe("system:serviceaccount:apps:workload");
  });

  it("defaults audiences to the issuer and the lifetime to one hour; the `default` account exists in every namespace", async () => {
    await core.createNamespace({ body: { metadata: { name: "fresh" } } });
    const created = await core.createNamespacedServiceAccountToken({ name: "default", namespace: "fresh", body: { spec: { audiences: [] } } });
    const claims = decodePart(created.status?.token?.split(".")[1]);
    expect(claims["aud"]).toEqual([server.serviceAccountIssuer]);
    expect((claims["exp"] as number) - (claims["iat"] as number)).toBe(3600);
    expect(claims["kubernetes.io"]).not.toHaveProperty("pod");

    // Deleting `default` gets it back (the ServiceAccount controller re-creates it), with a new uid.
    const old = await core.readNamespacedServiceAccount({ name: "default", namespace: "fresh" });
    await core.deleteNamespacedServiceAccount({ name: "default", namespace: "fresh" });
    const again = await core.readNamespacedServiceAccount({ name: "default", namespace: "fresh" });
    expect(again.metadata?.uid).not.toBe(old.metadata?.uid);
  });

  it("binds to a Secret, and answers what the real server answers for missing accounts and bad bound objects", async () => {
    const secret = await core.createNamespacedSecret({ namespace: "apps", body: { metadata: { name: "anchor" } } });
    const bound = await core.createNamespacedServiceAccountToken({
      name: "workload",
      namespace: "apps",
      body: { spec: { audiences: [AUDIENCE], boundObjectRef: { apiVersion: "v1", kind: "Secret", name: "anchor" } } },
    });
    expect(decodePart(bound.status?.token?.split(".")[1])["kubernetes.io"]).toMatchObject({ secret: { name: "anchor", uid: secret.metadata?.uid } });

    const token = (spec: Record<string, unknown>, name = "workload") =>
      apiError(core.createNamespacedServiceAccountToken({ name, namespace: "apps", body: { spec: { audiences: [AUDIENCE], ...spec } } }));

    expect(await token({}, "ghost")).toMatchObject({ code: 404, body: { reason: "NotFound", message: 'serviceaccounts "ghost" not found' } });
    expect(await token({ boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "gone" } })).toMatchObject({ code: 404, body: { message: 'pods "gone" not found' } });
    expect(await token({ boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web", uid: "00000000-0000-0000-0000-000000000000" } })).toMatchObject({
      code: 409,
      body: {
        reason: "Conflict",
        message:
          'Operation cannot be fulfilled on Pod "web": the UID in the bound object reference (00000000-0000-0000-0000-000000000000) does not match the UID in record. The object might have been deleted and then recreated',
      },
    });
    expect(await token({ boundObjectRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" } })).toMatchObject({
      code: 400,
      body: { reason: "BadRequest", message: "cannot bind token to object of type apps/v1, Kind=Deployment" },
    });
    expect(await token({ boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "web" } }, "default")).toMatchObject({
      code: 400,
      body: { message: 'cannot bind token for serviceaccount "default" to pod running with different serviceaccount name.' },
    });
    expect(await token({ expirationSeconds: 599 })).toMatchObject({
      code: 422,
      body: { reason: "Invalid", message: 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes' },
    });
    expect(await token({ expirationSeconds: 2 ** 32 + 1 })).toMatchObject({ code: 422, body: { reason: "Invalid" } });
    const minimal = await core.createNamespacedServiceAccountToken({ name: "workload", namespace: "apps", body: { spec: { expirationSeconds: 600 } } });
    expect(minimal.spec?.expirationSeconds).toBe(600);
  });

  it("refuses other methods on the subresource and mismatched names in the body", async () => {
    const get = await fetch(`${server.url}/api/v1/namespaces/apps/serviceaccounts/workload/token`, { headers: { authorization: `Bearer ${BEARER}` } });
    expect(get.status).toBe(405);
    const wrongName = await requestToken({ metadata: { name: "other" }, spec: {} });
    expect(wrongName.status).toBe(422);
    expect(((await wrongName.json()) as Record<string, unknown>)["message"]).toContain("metadata.name: Invalid value: \"other\": must match the service account name if specified");
    const noCredentials = await fetch(`${server.url}/api/v1/namespaces/apps/serviceaccounts/workload/token`, { method: "POST", body: "{}" });
    expect(noCredentials.status).toBe(401);
    const resources = (await (await fetch(`${server.url}/api/v1`, { headers: { authorization: `Bearer ${BEARER}` } })).json()) as { resources: Array<Record<string, unknown>> };
    expect(resources.resources.find((r) => r["name"] === "serviceaccounts/token")).toEqual({
      name: "serviceaccounts/token",
      singularName: "",
      namespaced: true,
      group: "authentication.k8s.io",
      version: "v1",
      kind: "TokenRequest",
      verbs: ["create"],
    });
  });
});

describe("service-account issuer options", () => {
  it("caps the lifetime with a Warning, uses an injected key and issuer path, and serves discovery under that path", async () => {
    const signer = await FakeKubeApiServer.start();
    const jwks = await signer.serviceAccountJwks();
    await signer.close();
    // A fixed key gives a fixed kid: generate one PEM and start two servers with it.
    const { generateKeyPairSync } = await import("node:crypto");
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const first = await FakeKubeApiServer.start({ serviceAccountSigningKey: pem });
    const second = await FakeKubeApiServer.start({
      serviceAccountSigningKey: pem,
      serviceAccountIssuer: "https://oidc.example.test/tenant/cluster/",
      serviceAccountMaxTokenExpirationSeconds: 1200,
    });
    try {
      const kidOf = async (s: FakeKubeApiServer) => (await s.serviceAccountJwks()).keys[0]?.kid;
      expect(await kidOf(first)).toBe(await kidOf(second));
      expect(await kidOf(first)).not.toBe(jwks.keys[0]?.kid);

      const response = await fetch(`${second.url}/api/v1/namespaces/default/serviceaccounts/default/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 86_400 } }),
      });
      expect(response.status).toBe(201);
      expect(response.headers.get("warning")).toBe('299 - "requested expiration of 86400 seconds shortened to 1200 seconds"');
      const created = (await response.json()) as { spec: { expirationSeconds: number; audiences: string[] }; status: { token: string } };
      expect(created.spec).toEqual({ audiences: ["https://oidc.example.test/tenant/cluster/"], expirationSeconds: 1200 });
      const claims = decodePart(created.status.token.split(".")[1]);
      expect(claims["iss"]).toBe("https://oidc.example.test/tenant/cluster/");
      expect((claims["exp"] as number) - (claims["iat"] as number)).toBe(1200);

      expect(second.openIdConfigurationUrl).toBe("https://oidc.example.test/tenant/cluster/.well-known/openid-configuration");
      for (const path of ["/.well-known/openid-configuration", "/tenant/cluster/.well-known/openid-configuration"]) {
        const doc = (await (await fetch(`${second.url}${path}`)).json()) as Record<string, unknown>;
        expect(doc["issuer"]).toBe("https://oidc.example.test/tenant/cluster/");
      }
      expect((await fetch(`${second.url}/other/.well-known/openid-configuration`)).status).toBe(404);
    } finally {
      await first.close();
      await second.close();
    }
  }, 30_000);
});
