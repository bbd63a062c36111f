import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server } from "node:https";
import { fileURLToPath } from "node:url";
import type { ClockPort } from "@podid/core";
import { TestCertificateAuthority } from "../../tls/test-certificate-authority.js";
import { closeServer, createTlsServer, header, listen, pathSegments, readBody, sendJson } from "../http-kit.js";
import { systemClock } from "../system-clock.js";
import { challengeHeader, KEY_VAULT_RESOURCE, verifyBearer } from "./key-vault-auth.js";
import { answerDataPlane, MAX_PAGE, type DataPlaneContext, type KeyVaultAnswer } from "./key-vault-data-plane.js";
import {
  addVersion,
  newVault,
  OBJECT_NAME,
  VAULT_NAME,
  type CertificateContentType,
  type FakeVault,
  type KeyVaultPermissions,
  type KeyVaultPrincipal,
  type SecretVersion,
} from "./key-vault-model.js";
import { newRsaKey, newSelfSignedCertificate, rsaJwk } from "./key-vault-objects.js";
import { keyVaultError, objectId } from "./key-vault-wire.js";
import { LoopbackHostsAgent } from "./loopback-agent.js";
import { formatLoopbackHosts, LOOPBACK_HOSTS_ENV, type LoopbackHostMapping } from "./loopback-hosts.js";

/** The vault host suffix without leading or trailing dots, lower case (default the public cloud's). */
function vaultDnsSuffix(configured: string | undefined): string {
  let suffix = (configured ?? "vault.azure.net").toLowerCase();
  while (suffix.startsWith(".")) suffix = suffix.slice(1);
  while (suffix.endsWith(".")) suffix = suffix.slice(0, -1);
  return suffix;
}

/** Options of {@link FakeKeyVault.start}. */
export interface FakeKeyVaultOptions {
  /** Signs the server certificate for `*.<dnsSuffix>` (default `TestCertificateAuthority.fromEnvironment()`, the run CA). */
  readonly ca?: TestCertificateAuthority;
  /** The tenant the vaults belong to: named in the challenge, and tokens must come from it. */
  readonly tenantId: string;
  /** Time for token expiry and object timestamps (default real time). */
  readonly clock?: ClockPort;
  /** Vault host suffix (default `vault.azure.net`; `vault.azure.cn`, … for other clouds). */
  readonly dnsSuffix?: string;
  /** The audience tokens must carry and the challenge names (default `https://vault.azure.net`). */
  readonly resource?: string;
  /** The challenge's authority (default `https://login.microsoftonline.com`). */
  readonly authorityHost?: string;
  /** Loopback bind address (default `127.0.0.1`) and port (default 0, ephemeral). */
  readonly host?: string;
  readonly port?: number;
  /** Default page size of list answers (Key Vault's is 25). */
  readonly pageSize?: number;
}

/** Options of {@link FakeKeyVault.setSecret}. */
export interface FakeSecretOptions {
  readonly contentType?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** Options of {@link FakeKeyVault.createCertificate}. */
export interface FakeCertificateOptions {
  /** Format of the backing secret (default `application/x-pkcs12`, Key Vault's default policy). */
  readonly contentType?: CertificateContentType;
  /** Subject common name (default the certificate's name). */
  readonly commonName?: string;
}

/** One answered request, in {@link FakeKeyVault.requestLog}. */
export interface FakeKeyVaultRequestLogEntry {
  readonly seq: number;
  readonly method: string;
  /** The path as sent (percent-encoded), without the query. */
  readonly path: string;
  /** The query string as sent (with its `?`), e.g. `?api-version=7.6`. */
  readonly query: string;
  /** The vault the Host header named (lower case), when it is one of this fake's. */
  readonly vault?: string;
  readonly status: number;
  /** Error code of an error answer (`Unauthorized`, `Forbidden`, `SecretNotFound`, …). */
  readonly code?: string;
  /** `appid` of the bearer token, when the request carried a readable one. */
  readonly clientId?: string;
  /** `oid` of an accepted bearer token. */
  readonly objectId?: string;
}

function newVersionId(): string {
  return randomBytes(16).toString("hex");
}

/**
 * A loopback Azure Key Vault data plane for tests, reached under the REAL vault host names
 * (`https://demo-kv.vault.azure.net`): HTTPS with a certificate for `*.vault.azure.net` from the test CA,
 * several vaults told apart by the Host header, Key Vault's challenge authentication (401 +
 * `WWW-Authenticate` naming the tenant and `resource="https://vault.azure.net"`) and bearer tokens of the
 * testkit fakes (audience, issuer host, tenant, expiry), an access policy per vault (by client id and/or
 * object id, permissions per object kind; 403 `Forbidden` otherwise), and the operations the Key Vault
 * SDKs and volume drivers use: get secret (latest — path with a trailing slash — or a version), list
 * secrets and secret versions (paged with absolute `nextLink`s), set secret, get key (RSA JWK `n`/`e`),
 * get certificate (`cer`), with certificate-backed secrets (`kid`, PKCS#12 or PEM) like the real service.
 * `api-version` is required but any value is accepted; query keys are percent-decoded (`api%2Dversion`).
 *
 * Clients reach it through {@link agent} (in-process: the SDK's `agent` option) or
 * {@link childEnvironment} (child processes: a preload maps the host names to loopback), so application
 * code keeps Key Vault's default options, challenge-resource verification included. Details and what is
 * not modelled: packages/testkit/src/azure/README.md ("Key Vault").
 */
export class FakeKeyVault {
  readonly #server: Server;
  readonly #ca: TestCertificateAuthority;
  readonly #options: FakeKeyVaultOptions;
  readonly #clock: ClockPort;
  readonly #suffix: string;
  readonly #resource: string;
  readonly #vaults = new Map<string, FakeVault>();
  readonly #log: FakeKeyVaultRequestLogEntry[] = [];
  #port = 0;
  #agent: LoopbackHostsAgent | undefined;

  private constructor(server: Server, ca: TestCertificateAuthority, options: FakeKeyVaultOptions, suffix: string) {
    this.#server = server;
    this.#ca = ca;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#suffix = suffix;
    this.#resource = (options.resource ?? KEY_VAULT_RESOURCE).replace(/\/$/, "");
  }

  /** Starts the server (HTTPS on loopback) and resolves once it listens. */
  static async start(options: FakeKeyVaultOptions): Promise<FakeKeyVault> {
    const suffix = vaultDnsSuffix(options.dnsSuffix);
    const host = options.host ?? "127.0.0.1";
    const ca = options.ca ?? TestCertificateAuthority.fromEnvironment();
    let instance: FakeKeyVault | undefined;
    const server = await createTlsServer(`*.${suffix}`, ca, (req, res) => {
      if (instance !== undefined) void instance.#handle(req, res);
    });
    instance = new FakeKeyVault(server, ca, options, suffix);
    instance.#port = await listen(server, host, options.port ?? 0);
    return instance;
  }

  /** The loopback port the server listens on. */
  get port(): number {
    return this.#port;
  }

  /** The loopback address and port, e.g. `127.0.0.1:40123` (where {@link agent} and the preload send vault traffic). */
  get endpoint(): string {
    return `${this.#options.host ?? "127.0.0.1"}:${this.#port}`;
  }

  /** Every answered request, in completion order. */
  get requestLog(): readonly FakeKeyVaultRequestLogEntry[] {
    return this.#log;
  }

  /** Clears the request log. */
  clearRequestLog(): void {
    this.#log.length = 0;
  }

  /** Stops listening, drops every connection and the agent's sockets. */
  async close(): Promise<void> {
    this.#agent?.destroy();
    await closeServer(this.#server);
  }

  // ── Set-up ────────────────────────────────────────────────────────────────────────────────────

  /** Creates an empty vault reachable at `https://<name>.<dnsSuffix>`; returns that URL. */
  createVault(name: string): string {
    if (!VAULT_NAME.test(name)) throw new Error(`FakeKeyVault.createVault: "${name}" is not a vault name (3-24 letters, digits and single hyphens, starting with a letter)`);
    if (this.#vaults.has(name.toLowerCase())) throw new Error(`FakeKeyVault.createVault: vault "${name}" exists already`);
    this.#vaults.set(name.toLowerCase(), newVault(name.toLowerCase()));
    return this.vaultUrl(name);
  }

  /** `https://<name>.<dnsSuffix>` — the real name, no port (clients reach the fake through {@link agent} or {@link childEnvironment}). */
  vaultUrl(vault: string): string {
    return `https://${vault.toLowerCase()}.${this.#suffix}`;
  }

  /** Adds a new version of a secret (creating it); returns the version id (32 hex digits). */
  setSecret(vault: string, name: string, value: string, options: FakeSecretOptions = {}): string {
    const v = this.#vault(vault, "setSecret");
    this.#checkName(name, "setSecret");
    return this.#putSecret(v, name, value, options);
  }

  /** Creates a new version of an RSA-2048 key; returns the version id. */
  createKey(vault: string, name: string): string {
    const v = this.#vault(vault, "createKey");
    this.#checkName(name, "createKey");
    const version = newVersionId();
    const { privateKey, jwk } = newRsaKey();
    const now = this.#nowSec();
    addVersion(v.keys, name, { version, ...jwk, keyOps: ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"], privateKey, createdSec: now, updatedSec: now });
    return version;
  }

  /**
   * Creates a new version of a self-signed certificate, as Key Vault does: the certificate (`cer`), a key and
   * a managed secret of the same name and version holding the private part (PKCS#12 base64 with an empty
   * password, or PEM). Resolves to the version id.
   */
  async createCertificate(vault: string, name: string, options: FakeCertificateOptions = {}): Promise<string> {
    const v = this.#vault(vault, "createCertificate");
    this.#checkName(name, "createCertificate");
    const contentType = options.contentType ?? "application/x-pkcs12";
    const generated = await newSelfSignedCertificate(options.commonName ?? name, contentType, this.#clock.now());
    const version = newVersionId();
    const now = this.#nowSec();
    const url = this.vaultUrl(v.name);
    addVersion(v.certificates, name, { version, der: generated.der, subject: generated.subject, contentType, notBeforeSec: generated.notBeforeSec, expiresSec: generated.expiresSec, createdSec: now, updatedSec: now });
    addVersion(v.keys, name, { version, ...rsaJwk(generated.privateKey), keyOps: ["sign", "verify", "wrapKey", "unwrapKey", "encrypt", "decrypt"], privateKey: generated.privateKey, managed: true, createdSec: now, updatedSec: now });
    addVersion(v.secrets, name, { version, value: generated.secretValue, contentType, kid: objectId(url, "keys", name, version), managed: true, enabled: true, createdSec: now, updatedSec: now });
    return version;
  }

  /** Adds an access policy entry: `principal` (client id and/or object id) may do `permissions` in the vault. */
  grant(vault: string, principal: KeyVaultPrincipal, permissions: KeyVaultPermissions): void {
    const v = this.#vault(vault, "grant");
    if ((principal.clientId ?? "") === "" && (principal.objectId ?? "") === "") throw new Error("FakeKeyVault.grant: name a clientId and/or an objectId");
    v.policies.push({ principal: { ...principal }, permissions: { ...permissions } });
  }

  /** Removes every access policy entry naming this client id or object id. */
  revoke(vault: string, principal: KeyVaultPrincipal): void {
    const v = this.#vault(vault, "revoke");
    const matches = (p: KeyVaultPrincipal): boolean =>
      (principal.clientId !== undefined && p.clientId?.toLowerCase() === principal.clientId.toLowerCase()) ||
      (principal.objectId !== undefined && p.objectId?.toLowerCase() === principal.objectId.toLowerCase());
    v.policies.splice(0, v.policies.length, ...v.policies.filter((p) => !matches(p.principal)));
  }

  // ── How clients reach it ──────────────────────────────────────────────────────────────────────

  /** The host map: every `*.<dnsSuffix>:443` connection goes to this server. */
  get hostMappings(): readonly LoopbackHostMapping[] {
    return [{ pattern: `*.${this.#suffix}`, port: 443, targetHost: this.#options.host ?? "127.0.0.1", targetPort: this.#port }];
  }

  /**
   * An `https.Agent` for in-process clients: connections to `*.<dnsSuffix>:443` go to this server, trusting
   * the CA, with SNI and the certificate check on the real vault name; other hosts connect normally. Pass
   * it as the `agent` option of `SecretClient` / `KeyClient` / `CertificateClient`. One agent per fake,
   * destroyed by {@link close}.
   */
  agent(): LoopbackHostsAgent {
    this.#agent ??= new LoopbackHostsAgent({ mappings: this.hostMappings, mappedCa: this.#ca.certPem, keepAlive: true });
    return this.#agent;
  }

  /**
   * Environment for a CHILD Node.js process so that an unmodified program reaching
   * `https://<vault>.<dnsSuffix>` lands here: `NODE_OPTIONS=--import=<loopback-hosts preload>` (appended to
   * `baseNodeOptions`), `PODID_TESTKIT_HOSTS` (the host map) and `NODE_EXTRA_CA_CERTS` (the CA). The preload
   * is the built `dist/azure/key-vault/loopback-hosts-preload.js` of this package.
   */
  childEnvironment(baseNodeOptions = ""): Record<string, string> {
    const preload = loopbackHostsPreloadPath();
    const quoted = /\s|"/.test(preload) ? `"${preload.replace(/(["\\])/g, "\\$1")}"` : preload;
    return {
      NODE_OPTIONS: [baseNodeOptions.trim(), `--import=${quoted}`].filter((s) => s !== "").join(" "),
      [LOOPBACK_HOSTS_ENV]: formatLoopbackHosts(this.hostMappings),
      NODE_EXTRA_CA_CERTS: this.#ca.certPath,
    };
  }

  // ── Internals ─────────────────────────────────────────────────────────────────────────────────

  #vault(name: string, what: string): FakeVault {
    const v = this.#vaults.get(name.toLowerCase());
    if (v === undefined) throw new Error(`FakeKeyVault.${what}: no vault "${name}" (createVault first)`);
    return v;
  }

  #checkName(name: string, what: string): void {
    if (!OBJECT_NAME.test(name)) throw new Error(`FakeKeyVault.${what}: "${name}" is not an object name (1-127 letters, digits and hyphens)`);
  }

  #nowSec(): number {
    return Math.floor(this.#clock.now() / 1000);
  }

  #putSecret(v: FakeVault, name: string, value: string, options: FakeSecretOptions): string {
    const version = newVersionId();
    const now = this.#nowSec();
    const entry: SecretVersion = {
      version,
      value,
      ...(options.contentType !== undefined ? { contentType: options.contentType } : {}),
      ...(options.tags !== undefined ? { tags: { ...options.tags } } : {}),
      enabled: true,
      createdSec: now,
      updatedSec: now,
    };
    addVersion(v.secrets, name, entry);
    return version;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const raw = req.url ?? "/";
    const queryAt = raw.indexOf("?");
    const path = queryAt < 0 ? raw : raw.slice(0, queryAt);
    const query = queryAt < 0 ? "" : raw.slice(queryAt);
    let entry: Omit<FakeKeyVaultRequestLogEntry, "seq" | "method" | "path" | "query"> = { status: 500 };
    try {
      const hostName = (header(req, "host") ?? "").replace(/:\d+$/, "").toLowerCase();
      const vault = hostName.endsWith(`.${this.#suffix}`) ? this.#vaults.get(hostName.slice(0, -this.#suffix.length - 1)) : undefined;
      const answer = await this.#answer(req, method, path, query, vault, (seen) => (entry = { ...entry, ...seen }));
      const code = (answer.body as { error?: { code?: unknown } } | undefined)?.error?.code;
      entry = { ...entry, ...(vault !== undefined ? { vault: vault.name } : {}), status: answer.status, ...(typeof code === "string" ? { code } : {}) };
      sendJson(res, answer.status, answer.body, answer.headers);
    } catch (error) {
      entry = { ...entry, status: 500, code: "InternalServerError" };
      sendJson(res, 500, keyVaultError("InternalServerError", `fake Key Vault failure: ${error instanceof Error ? error.message : String(error)}`));
    } finally {
      this.#log.push({ seq: this.#log.length + 1, method, path, query, ...entry });
    }
  }

  async #answer(
    req: IncomingMessage,
    method: string,
    path: string,
    query: string,
    vault: FakeVault | undefined,
    note: (seen: { clientId?: string; objectId?: string }) => void,
  ): Promise<KeyVaultAnswer> {
    if (vault === undefined) {
      // The real service has no such answer (the name would not resolve); the fake's own, to say what is wrong.
      return { status: 404, body: keyVaultError("VaultNotFound", `fake Key Vault: the Host header "${header(req, "host") ?? ""}" names no vault created with createVault`) };
    }
    const params = new URLSearchParams(query); // decodes keys too: the SDKs send `api%2Dversion`
    const apiVersion = params.get("api-version");
    if (apiVersion === null || apiVersion === "") {
      return { status: 400, body: keyVaultError("BadParameter", "The request URI contains an invalid or missing api-version parameter.") };
    }
    const verified = verifyBearer(header(req, "authorization"), { resource: this.#resource, tenantId: this.#options.tenantId, nowSec: this.#nowSec() });
    if (!verified.ok) {
      if (verified.rejection.appid !== undefined) note({ clientId: verified.rejection.appid });
      const challenge = challengeHeader(this.#options.authorityHost ?? "https://login.microsoftonline.com", this.#options.tenantId, this.#resource);
      return { status: 401, body: keyVaultError("Unauthorized", verified.rejection.message), headers: { "www-authenticate": challenge } };
    }
    note({ clientId: verified.caller.appid, objectId: verified.caller.oid });
    const segments = pathSegments(path);
    if (segments === undefined) return { status: 400, body: keyVaultError("BadParameter", "The request path is not valid.") };
    const context: DataPlaneContext = {
      vault,
      vaultUrl: this.vaultUrl(vault.name),
      tenantId: this.#options.tenantId,
      pageSize: this.#options.pageSize ?? MAX_PAGE,
      readBody: () => readBody(req),
      putSecret: (name, value, options) => this.#putSecret(vault, name, value, options),
    };
    return answerDataPlane(context, method, segments, params, apiVersion, verified.caller);
  }
}

/**
 * Absolute path of the built loopback-hosts preload (`dist/azure/key-vault/loopback-hosts-preload.js`).
 * Under the source condition (tests run from `src/`) it is the `dist/` twin; throws with the build command
 * when that file is missing.
 */
export function loopbackHostsPreloadPath(): string {
  const here = fileURLToPath(new URL("./loopback-hosts-preload.js", import.meta.url));
  const candidates = [here, here.replace(/([\\/])src([\\/])(?!.*[\\/]src[\\/])/, "$1dist$2")];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`FakeKeyVault.childEnvironment: ${candidates.at(-1) ?? here} is missing; build @podid/testkit first (npx tsc -b packages/testkit)`);
  return found;
}
