/**
 * {@link FakeKubeApiServer}: an in-process kube-apiserver over plain HTTP on loopback that unmodified kubectl
 * and @kubernetes/client-node accept — discovery, OpenAPI, CRUD, patch, list and watch with resourceVersion
 * semantics, CRDs that register resources dynamically — plus fault hooks for controller tests.
 *
 * Differences from a real API server (on purpose, or out of scope):
 * - plain HTTP unless `tls` is given; no authorization; authentication is one optional bearer token (kubectl
 *   sends tokens only over https, so use `tls` when kubectl must authenticate);
 * - no admission, defaulting or schema validation beyond object identity and names; CRD schemas are stored,
 *   not enforced (so unknown and legacy PascalCase fields are always kept, never pruned);
 * - no controllers: no garbage collector (propagation policies are accepted and ignored), pods are deleted at
 *   once (no graceful termination), a deleted namespace removes its objects at once (objects with finalizers
 *   are marked for deletion) instead of going through `Terminating`, a deleted CRD removes its objects at once;
 * - namespaces need not exist for namespaced objects (`default`, `kube-system`, `kube-public`,
 *   `kube-node-lease` are created at start so `kubectl get ns` looks normal);
 * - JSON only (no protobuf, no CBOR), no server-side apply (415), no aggregated discovery (clients fall back
 *   to the legacy documents), no `events.k8s.io` group (kubectl uses core/v1 events);
 * - field selectors accept any simple dotted path on any kind;
 * - service accounts: TokenRequest (`serviceaccounts/<name>/token`) signs RS256 JWTs with a per-server key
 *   (see `token-request.ts` for what is not reproduced), the issuer's OIDC discovery documents are public,
 *   and every namespace gets a `default` ServiceAccount (the ServiceAccount controller's job); no legacy
 *   token Secrets and no TokenReview.
 * @packageDocumentation
 */
import type { KeyObject } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { parseAllDocuments } from "yaml";
import { BUILTIN_RESOURCES, INITIAL_NAMESPACES } from "./builtin-resources.js";
import { startDefaultServiceAccounts } from "./default-service-accounts.js";
import { FakeKubeStore } from "./fake-kube-store.js";
import { FaultInjector, type FailWritesOptions, type InjectedWriteStatus } from "./faults.js";
import { isJsonObject, stringAt, type KubeObject } from "./json.js";
import { buildKubeconfig, type KubeconfigOptions } from "./kubeconfig.js";
import { ObjectStore } from "./object-store.js";
import { createRequestHandler, type RequestRecord } from "./request-handler.js";
import { ResourceApi } from "./resource-api.js";
import { apiVersionOf } from "./resource-definition.js";
import { ResourceRegistry } from "./resource-registry.js";
import type { ServerTls } from "./self-signed-tls.js";
import { JWKS_PATH, OPENID_CONFIGURATION_PATH, ServiceAccountTokenSigner } from "./service-account-issuer.js";
import { ApiError } from "./status.js";
import { WatchHub, type DropMode } from "./watch-hub.js";

/** Options of {@link FakeKubeApiServer.start}. */
export interface FakeKubeApiServerOptions {
  /**
   * Require `Authorization: Bearer <token>` (401 `Status` otherwise). Default: no authentication. kubectl
   * sends it only over https (see `tls`); @kubernetes/client-node sends it over http too.
   */
  readonly token?: string;
  /** Serve HTTPS with this certificate (e.g. from `generateSelfSignedTls()`); default plain HTTP. */
  readonly tls?: ServerTls;
  /** TCP port (default 0: an ephemeral port). */
  readonly port?: number;
  /** Address to bind (default `127.0.0.1`; keep it on loopback). */
  readonly host?: string;
  /** Changes kept for resumed watches before older revisions expire (default 10 000). */
  readonly watchHistory?: number;
  /** Interval of watch `BOOKMARK` events (default 1000 ms). */
  readonly bookmarkIntervalMs?: number;
  /** Clock for timestamps and ages (default: system time). */
  readonly now?: () => Date;
  /** Enforce DNS-1123 object names like the real server (default true). */
  readonly validateNames?: boolean;
  /** Namespaces created at start (default `default`, `kube-node-lease`, `kube-public`, `kube-system`). */
  readonly namespaces?: readonly string[];
  /**
   * The service-account issuer (`--service-account-issuer`): the `iss` of every token and the `issuer` of the
   * discovery document. Default: this server's own {@link FakeKubeApiServer.url} — `https://127.0.0.1:<port>`
   * when `tls` is given (Entra ID, and the fake AAD, accept only https issuers), `http://…` otherwise. An
   * issuer under a path of this server (`https://127.0.0.1:<port>/tenant/cluster/`) also gets its discovery
   * document at `<issuer>/.well-known/openid-configuration`.
   */
  readonly serviceAccountIssuer?: string;
  /** `jwks_uri` of the discovery document (`--service-account-jwks-uri`); default `<url>/openid/v1/jwks`. */
  readonly serviceAccountJwksUri?: string;
  /**
   * RSA private key (PEM or KeyObject) that signs service-account tokens (`--service-account-signing-key-file`),
   * for stable key ids across runs. Default: a 2048-bit key generated for this server on first use.
   */
  readonly serviceAccountSigningKey?: string | KeyObject;
  /**
   * `--service-account-max-token-expiration` in seconds: longer TokenRequests are shortened to it (with a
   * `Warning` header). Default: no cap beyond the API's 2^32 s.
   */
  readonly serviceAccountMaxTokenExpirationSeconds?: number;
  /** Audiences of TokenRequests that name none (`--api-audiences`); default the issuer. */
  readonly apiAudiences?: readonly string[];
  /** Create a `default` ServiceAccount in every namespace, as the ServiceAccount controller does (default true). */
  readonly defaultServiceAccounts?: boolean;
}

/** Options of {@link FakeKubeApiServer.dropWatches}. */
export interface DropWatchesOptions {
  /**
   * `abrupt` (default) destroys the connections mid-stream, as a crashed apiserver or a broken network does
   * (@kubernetes/client-node's informer then emits `error` and stops); `graceful` ends each stream cleanly,
   * as an apiserver does when a watch times out (the informer reconnects by itself).
   */
  readonly mode?: DropMode;
}

/** Options of {@link FakeKubeApiServer.expireHistory}. */
export interface ExpireHistoryOptions {
  /**
   * Also send every open watch an `ERROR` event with a 410 `Expired` Status and end it, so informers relist
   * at once (default true). With `false`, open watches continue and only the next resume from an old
   * revision fails.
   */
  readonly notifyWatches?: boolean;
}

/** Outcome of one document of {@link FakeKubeApiServer.applyManifests}. */
export interface AppliedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly action: "created" | "configured" | "unchanged";
}

const MAX_REQUEST_LOG = 10_000;

/** A fake kube-apiserver on loopback. Start with {@link FakeKubeApiServer.start}; always {@link close} it. */
export class FakeKubeApiServer {
  /** Direct access to stored objects (seed and inspect state without HTTP). */
  readonly store: FakeKubeStore;
  readonly #server: HttpServer | HttpsServer;
  readonly #tls: ServerTls | undefined;
  readonly #api: ResourceApi;
  readonly #objects: ObjectStore;
  readonly #watches: WatchHub;
  readonly #faults = new FaultInjector();
  readonly #token: string | undefined;
  readonly #requests: RequestRecord[] = [];
  readonly #options: FakeKubeApiServerOptions;
  readonly #signer: ServiceAccountTokenSigner;
  #closed = false;

  private constructor(server: HttpServer | HttpsServer, options: FakeKubeApiServerOptions) {
    this.#server = server;
    this.#tls = options.tls;
    this.#token = options.token;
    this.#options = options;
    this.#signer = new ServiceAccountTokenSigner(options.serviceAccountSigningKey);
    const now = options.now ?? (() => new Date());
    const registry = new ResourceRegistry(BUILTIN_RESOURCES);
    this.#objects = new ObjectStore({ ...(options.watchHistory !== undefined ? { historySize: options.watchHistory } : {}) });
    this.#api = new ResourceApi(registry, this.#objects, { now, ...(options.validateNames !== undefined ? { validateNames: options.validateNames } : {}) });
    this.#watches = new WatchHub(this.#objects, registry, {
      ...(options.bookmarkIntervalMs !== undefined ? { bookmarkIntervalMs: options.bookmarkIntervalMs } : {}),
    });
    this.store = new FakeKubeStore(this.#objects, registry, now);
    if (options.defaultServiceAccounts ?? true) startDefaultServiceAccounts(this.#api);
    const namespaces = registry.resolve("namespaces");
    for (const name of options.namespaces ?? INITIAL_NAMESPACES) {
      if (namespaces !== undefined) this.#api.create(namespaces, undefined, { metadata: { name } });
    }
    server.on(
      "request",
      createRequestHandler({
        api: this.#api,
        watches: this.#watches,
        faults: this.#faults,
        token: this.#token,
        serverAddress: () => `${this.host}:${this.port}`,
        tokenRequests: () => ({
          api: this.#api,
          signer: this.#signer,
          issuer: this.serviceAccountIssuer,
          apiAudiences: this.#options.apiAudiences ?? [this.serviceAccountIssuer],
          maxExpirationSeconds: this.#options.serviceAccountMaxTokenExpirationSeconds,
        }),
        jwksUri: () => this.serviceAccountJwksUri,
        record: (entry) => {
          this.#requests.push(entry);
          if (this.#requests.length > MAX_REQUEST_LOG) this.#requests.splice(0, this.#requests.length - MAX_REQUEST_LOG);
        },
      }),
    );
  }

  /** Starts a server and resolves once it listens. */
  static async start(options: FakeKubeApiServerOptions = {}): Promise<FakeKubeApiServer> {
    const server = options.tls === undefined ? createServer() : createHttpsServer({ cert: options.tls.cert, key: options.tls.key });
    const fake = new FakeKubeApiServer(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    return fake;
  }

  /** The bound address. */
  get host(): string {
    return (this.#server.address() as AddressInfo).address;
  }

  /** The bound port. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  get url(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `${this.#tls === undefined ? "http" : "https"}://${host}:${this.port}`;
  }

  /**
   * The service-account issuer URL: the `iss` claim of the tokens this server signs, and what a federated
   * identity credential names. Discovery is at `<issuer>/.well-known/openid-configuration`.
   */
  get serviceAccountIssuer(): string {
    return this.#options.serviceAccountIssuer ?? this.url;
  }

  /** Where this server's discovery document says the signing keys are (`jwks_uri`). */
  get serviceAccountJwksUri(): string {
    return this.#options.serviceAccountJwksUri ?? `${this.url}${JWKS_PATH}`;
  }

  /** `<issuer>/.well-known/openid-configuration` (the issuer's trailing slash dropped first). */
  get openIdConfigurationUrl(): string {
    return `${this.serviceAccountIssuer.replace(/\/+$/, "")}${OPENID_CONFIGURATION_PATH}`;
  }

  /** The public signing keys as served at `/openid/v1/jwks` (generates the key when none exists yet). */
  serviceAccountJwks(): ReturnType<ServiceAccountTokenSigner["jwks"]> {
    return this.#signer.jwks();
  }

  /** The latest resourceVersion (same as `store.revision`). */
  get revision(): number {
    return this.#objects.revision;
  }

  /** Number of watch streams currently open. */
  get openWatches(): number {
    return this.#watches.size;
  }

  /** Requests handled so far (the newest 10 000), for assertions about client behaviour. */
  get requests(): readonly RequestRecord[] {
    return this.#requests;
  }

  /** Forgets the recorded requests. */
  clearRequests(): void {
    this.#requests.length = 0;
  }

  /** A kubeconfig (YAML) for this server, with its token when one is required and its CA when it serves https. */
  kubeconfig(options: KubeconfigOptions = {}): string {
    return buildKubeconfig(this.url, this.#token, options, this.#tls === undefined ? undefined : (this.#tls.ca ?? this.#tls.cert));
  }

  /** Writes {@link kubeconfig} to `path` (mode 0600, as kubectl expects for credentials). */
  async writeKubeconfig(path: string, options: KubeconfigOptions = {}): Promise<void> {
    await writeFile(path, this.kubeconfig(options), { mode: 0o600 });
  }

  /** Ends every open watch stream; returns how many were open. */
  dropWatches(options: DropWatchesOptions = {}): number {
    return this.#watches.dropAll(options.mode ?? "abrupt");
  }

  /**
   * Makes every resourceVersion issued so far too old (an etcd compaction): lists and watches from them get
   * 410 Gone — HTTP 410 for a list, an `ERROR` event with a 410 Status for a watch. A fresh list returns a
   * new, valid revision.
   */
  expireHistory(options: ExpireHistoryOptions = {}): void {
    this.#objects.compact();
    if (options.notifyWatches ?? true) this.#watches.expireAll();
  }

  /** Adds `ms` of latency before every request is handled (`undefined` or 0 removes it). */
  delay(ms: number | undefined): void {
    this.#faults.delay(ms);
  }

  /**
   * Fails the next `count` writes (POST/PUT/PATCH/DELETE) — optionally only those to one resource — with 409
   * Conflict, 500 InternalError or 429 TooManyRequests (with `Retry-After`). Nothing is stored for them.
   */
  failNextWrites(count: number, status: InjectedWriteStatus, options: FailWritesOptions = {}): void {
    this.#faults.failNextWrites(count, status, options);
  }

  /** Injected write failures not yet consumed. */
  get pendingWriteFailures(): number {
    return this.#faults.pendingWriteFailures;
  }

  /**
   * Applies a multi-document YAML (or JSON) manifest through the API semantics, in order: creates what is
   * missing, replaces what exists (like `kubectl apply` without the three-way merge). CRDs register their
   * resources immediately, so later documents may use them. Throws the first failure as an `ApiError`.
   */
  applyManifests(text: string): AppliedObject[] {
    const out: AppliedObject[] = [];
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message ?? ""}`);
      const value: unknown = doc.toJSON();
      if (value === null || value === undefined) continue;
      if (!isJsonObject(value) || !isJsonObject(value["metadata"])) throw new Error("every manifest document must be an object with metadata");
      const obj = value as KubeObject;
      const apiVersion = stringAt(obj, "apiVersion") ?? "";
      const kind = stringAt(obj, "kind") ?? "";
      const def = this.#api.registry.findByKind(apiVersion, kind);
      if (def === undefined) throw new ApiError(404, "NotFound", `no matches for kind "${kind}" in version "${apiVersion}"`);
      const name = stringAt(obj.metadata, "name") ?? "";
      const namespace = def.namespaced ? (stringAt(obj.metadata, "namespace") ?? "default") : undefined;
      let action: AppliedObject["action"] = "created";
      try {
        const existing = this.#api.get(def, namespace, name);
        const { resourceVersion: _rv, ...meta } = obj.metadata;
        const updated = this.#api.update(def, namespace, name, { ...obj, metadata: meta });
        action = updated.metadata["resourceVersion"] === existing.metadata["resourceVersion"] ? "unchanged" : "configured";
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 404) throw error;
        this.#api.create(def, namespace, obj);
      }
      out.push({ apiVersion: apiVersionOf(def), kind: def.kind, name, ...(namespace !== undefined ? { namespace } : {}), action });
    }
    return out;
  }

  /** Stops listening, ends every watch and closes every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watches.dropAll("graceful");
    this.#faults.reset();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
