import { FEDERATED_TOKEN_AUDIENCE, serviceAccountSubject } from "@podid/core";
import { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import { FakeKubeApiServer } from "../kube-apiserver/fake-kube-apiserver.js";
import { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import { FakeAadServer } from "./fake-aad-server.js";

/** Options of {@link FederatedTestbed.start}. */
export interface FederatedTestbedOptions {
  /** Tenant of the identities registered in {@link FederatedTestbed.catalog} that name none. */
  readonly tenantId?: string;
  /** Further tenants the fake AAD knows (a request to any other is refused as unknown). */
  readonly tenants?: readonly string[];
  /** Bearer token the kube-apiserver demands; the testbed's own requests send it (default: none demanded). */
  readonly bearerToken?: string;
}

/** A pod the kube-apiserver created (name and uid, what a TokenRequest binds to). */
export interface TestbedPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/**
 * The three parties of a federated token exchange on loopback, for tests of it: the fake kube-apiserver over
 * https with the run's CA as the service-account issuer (its TokenRequest signs the tokens, its OIDC discovery
 * and JWKS verify them), a {@link FakeIdentityCatalog} holding the identities and their federated identity
 * credentials, and the fake AAD exchanging a service-account token for an identity's token against both. Tokens
 * and pods are asked for over HTTP, as kubelet and users do.
 */
export class FederatedTestbed {
  readonly ca: TestCertificateAuthority;
  readonly kube: FakeKubeApiServer;
  readonly catalog: FakeIdentityCatalog;
  readonly aad: FakeAadServer;
  readonly #bearerToken: string | undefined;

  private constructor(ca: TestCertificateAuthority, kube: FakeKubeApiServer, catalog: FakeIdentityCatalog, aad: FakeAadServer, bearerToken: string | undefined) {
    this.ca = ca;
    this.kube = kube;
    this.catalog = catalog;
    this.aad = aad;
    this.#bearerToken = bearerToken;
  }

  /** Starts the kube-apiserver and the fake AAD (the run's CA signs both); stops what it started when one fails. */
  static async start(options: FederatedTestbedOptions = {}): Promise<FederatedTestbed> {
    const ca = TestCertificateAuthority.fromEnvironment();
    const kube = await FakeKubeApiServer.start({
      ...(options.bearerToken === undefined ? {} : { token: options.bearerToken }),
      tls: { ...(await ca.issueServerCertificate()), ca: ca.certPem },
    });
    try {
      const catalog = new FakeIdentityCatalog(options.tenantId === undefined ? {} : { tenantId: options.tenantId });
      const aad = await FakeAadServer.start({ ca, catalog, ...(options.tenants === undefined ? {} : { tenants: options.tenants }) });
      return new FederatedTestbed(ca, kube, catalog, aad, options.bearerToken);
    } catch (error) {
      await kube.close();
      throw error;
    }
  }

  /** Creates namespace `namespace` and its service accounts `names` through the API. */
  async createServiceAccounts(namespace: string, names: readonly string[]): Promise<void> {
    await this.#post("/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    for (const name of names) {
      await this.#post(`/api/v1/namespaces/${namespace}/serviceaccounts`, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } });
    }
  }

  /** Creates a pod running as `serviceAccount` (named `name`, else generated from the account's name). */
  async createPod(namespace: string, serviceAccount: string, name?: string): Promise<TestbedPod> {
    const created = await this.#post(`/api/v1/namespaces/${namespace}/pods`, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: name === undefined ? { generateName: `${serviceAccount}-` } : { name },
      spec: { serviceAccountName: serviceAccount, nodeName: "node-a", containers: [{ name: "app", image: "x" }] },
    });
    const metadata = created["metadata"] as { name: string; uid: string };
    return { namespace, name: metadata.name, uid: metadata.uid };
  }

  /**
   * A TokenRequest token of `serviceAccount` with Entra ID's audience, valid for an hour: bound to `boundTo` (a pod
   * of that account, as kubelet projects it), or unbound when `boundTo` is undefined.
   */
  async serviceAccountToken(namespace: string, serviceAccount: string, boundTo: TestbedPod | undefined): Promise<string> {
    const boundObjectRef = boundTo === undefined ? {} : { boundObjectRef: { apiVersion: "v1", kind: "Pod", name: boundTo.name, uid: boundTo.uid } };
    const created = await this.#post(`/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { audiences: [FEDERATED_TOKEN_AUDIENCE], expirationSeconds: 3600, ...boundObjectRef },
    });
    const token = (created["status"] as Record<string, unknown> | undefined)?.["token"];
    if (typeof token !== "string") throw new Error(`TokenRequest for ${namespace}/${serviceAccount} answered no token: ${JSON.stringify(created)}`);
    return token;
  }

  /** A token of a new pod of `serviceAccount`, bound to that pod (what kubelet projects into it). */
  async podToken(namespace: string, serviceAccount: string): Promise<string> {
    return this.serviceAccountToken(namespace, serviceAccount, await this.createPod(namespace, serviceAccount));
  }

  /**
   * Adds federated identity credential `podid-<namespace>-<serviceAccount>` to identity `identityId`, trusting the
   * account's tokens from this kube-apiserver; `propagated: false` makes AAD answer AADSTS70021 for it a while.
   */
  trust(identityId: string, namespace: string, serviceAccount: string, options: { readonly propagated?: boolean } = {}): void {
    this.catalog.federatedCredentials.add(
      identityId,
      `podid-${namespace}-${serviceAccount}`,
      { issuer: this.kube.serviceAccountIssuer, subject: serviceAccountSubject(namespace, serviceAccount), audiences: [FEDERATED_TOKEN_AUDIENCE] },
      options,
    );
  }

  /** Stops the fake AAD and the kube-apiserver. */
  async close(): Promise<void> {
    await Promise.all([this.aad.close(), this.kube.close()]);
  }

  async #post(path: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.kube.url}${path}`, {
      method: "POST",
      headers: { ...(this.#bearerToken === undefined ? {} : { authorization: `Bearer ${this.#bearerToken}` }), "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  }
}
