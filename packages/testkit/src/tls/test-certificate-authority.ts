import { X509Certificate, createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";

/** Environment variable naming the run CA's directory (`ca.pem` + `ca-key.pem`), set by the vitest globalSetup. */
export const TEST_CA_DIR_ENV = "PODID_TEST_CA_DIR";

/** File names inside a CA directory. */
export const TEST_CA_FILES = { cert: "ca.pem", key: "ca-key.pem" } as const;

/** Hosts a leaf certificate names when the caller does not say: what loopback fakes are reached by. */
export const DEFAULT_LEAF_HOSTS: readonly string[] = ["127.0.0.1", "localhost", "::1"];

/** A certificate and its private key, both PEM. */
export interface PemKeyPair {
  readonly cert: string;
  readonly key: string;
}

/** A self-signed certificate for a client (e.g. a service principal's certificate) and its fingerprints. */
export interface ClientCertificate extends PemKeyPair {
  /** SHA-1 of the DER certificate, base64url: the `x5t` header MSAL puts into client assertions. */
  readonly x5t: string;
  /** SHA-256 of the DER certificate, base64url: the `x5t#S256` header. */
  readonly x5tS256: string;
  /** Certificate and key concatenated, the PEM form `ClientCertificateCredential` reads from a file. */
  readonly combinedPem: string;
}

/** Options of {@link TestCertificateAuthority.create}. */
export interface CreateCertificateAuthorityOptions {
  /** Directory to write into (created by the caller); default a fresh `mkdtemp` directory, removed by `dispose`. */
  readonly dir?: string;
  /** Subject common name (default `podid test CA <time>`). */
  readonly commonName?: string;
  /** Validity in days (default 2: a run never takes longer, and a leaked CA expires quickly). */
  readonly validityDays?: number;
}

/** Options of {@link TestCertificateAuthority.issueServerCertificate}. */
export interface LeafCertificateOptions {
  /** IP addresses and DNS names the certificate is valid for (default {@link DEFAULT_LEAF_HOSTS}). */
  readonly hosts?: readonly string[];
  /** Subject common name (default the first host). */
  readonly commonName?: string;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function isIp(host: string): boolean {
  return IPV4.test(host) || host.includes(":");
}

function base64Url(bytes: Buffer): string {
  return bytes.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function daysFromNow(days: number): Date {
  return new Date(Date.now() + days * 86_400_000);
}

/**
 * A certificate authority generated for one test run (or one demo), so that loopback fakes can speak real
 * HTTPS to clients that refuse anything else: the Azure SDK's bearer-token policy rejects `http` URLs and
 * `@azure/identity` rejects an `http` authority host
 * (docs/compatibility.md#azure-sdk-transport-requirements). Clients trust the CA through
 * `NODE_EXTRA_CA_CERTS`, which Node reads only at process start — hence the vitest globalSetup
 * (`tls/global-setup.ts`) that creates the CA before any worker is forked. Production code therefore needs no
 * test-only transport: it simply talks HTTPS to whatever endpoint it is configured with.
 *
 * Keys are EC P-256 (generation takes milliseconds); leaf certificates carry IP and DNS subject
 * alternative names, as Node checks the SAN, not the common name.
 */
export class TestCertificateAuthority {
  /** Directory holding `ca.pem` and `ca-key.pem`. */
  readonly dir: string;
  /** The CA certificate, PEM. */
  readonly certPem: string;
  /** The CA private key, PEM (PKCS#8). */
  readonly keyPem: string;
  readonly #ownsDir: boolean;
  readonly #leaves = new Map<string, Promise<PemKeyPair>>();

  private constructor(dir: string, certPem: string, keyPem: string, ownsDir: boolean) {
    this.dir = dir;
    this.certPem = certPem;
    this.keyPem = keyPem;
    this.#ownsDir = ownsDir;
  }

  /** Path of the CA certificate: the value for `NODE_EXTRA_CA_CERTS`. */
  get certPath(): string {
    return join(this.dir, TEST_CA_FILES.cert);
  }

  /** Path of the CA private key. */
  get keyPath(): string {
    return join(this.dir, TEST_CA_FILES.key);
  }

  /**
   * Generates a new CA and writes it to a directory. Use it in processes that start others (a demo passes
   * {@link childEnvironment} to its children); tests use {@link fromEnvironment} instead.
   */
  static async create(options: CreateCertificateAuthorityOptions = {}): Promise<TestCertificateAuthority> {
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? mkdtempSync(join(tmpdir(), "podid-ca-"));
    const generated = await generate([{ name: "commonName", value: options.commonName ?? `podid test CA ${new Date().toISOString()}` }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notBeforeDate: new Date(Date.now() - 60_000),
      notAfterDate: daysFromNow(options.validityDays ?? 2),
      extensions: [
        { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    });
    writeFileSync(join(dir, TEST_CA_FILES.cert), generated.cert, { mode: 0o644 });
    writeFileSync(join(dir, TEST_CA_FILES.key), generated.private, { mode: 0o600 });
    return new TestCertificateAuthority(dir, generated.cert, generated.private, ownsDir);
  }

  /** Loads a CA written by {@link create} from `dir`. Throws when the files are missing or not a CA. */
  static load(dir: string): TestCertificateAuthority {
    const certPath = join(dir, TEST_CA_FILES.cert);
    const keyPath = join(dir, TEST_CA_FILES.key);
    if (!existsSync(certPath) || !existsSync(keyPath)) {
      throw new Error(`TestCertificateAuthority.load: ${dir} does not hold ${TEST_CA_FILES.cert} and ${TEST_CA_FILES.key}`);
    }
    const certPem = readFileSync(certPath, "utf8");
    if (!new X509Certificate(certPem).ca) throw new Error(`TestCertificateAuthority.load: ${certPath} is not a CA certificate`);
    return new TestCertificateAuthority(dir, certPem, readFileSync(keyPath, "utf8"), false);
  }

  /**
   * The run's CA, as created by the vitest globalSetup: reads `PODID_TEST_CA_DIR` and checks that
   * `NODE_EXTRA_CA_CERTS` names the same certificate, because a server signed by a CA this process does
   * not trust would fail in confusing ways (`self-signed certificate in certificate chain`).
   */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): TestCertificateAuthority {
    const dir = env[TEST_CA_DIR_ENV];
    if (dir === undefined || dir === "") {
      throw new Error(
        `TestCertificateAuthority.fromEnvironment: ${TEST_CA_DIR_ENV} is not set. Run tests through the root vitest config ` +
          `(its globalSetup creates the run CA) or set ${TEST_CA_DIR_ENV} and NODE_EXTRA_CA_CERTS before starting Node.`,
      );
    }
    const ca = TestCertificateAuthority.load(dir);
    const extra = env["NODE_EXTRA_CA_CERTS"];
    const trusted = extra !== undefined && existsSync(extra) && readFileSync(extra, "utf8").includes(ca.certPem.trim());
    if (!trusted) {
      throw new Error(
        `TestCertificateAuthority.fromEnvironment: NODE_EXTRA_CA_CERTS (${extra ?? "unset"}) does not contain the CA in ${dir}; ` +
          "this process would not trust servers it signs.",
      );
    }
    return ca;
  }

  /** Environment variables that make a child process trust this CA and find it (`NODE_EXTRA_CA_CERTS`, `PODID_TEST_CA_DIR`). */
  childEnvironment(): Record<string, string> {
    return { NODE_EXTRA_CA_CERTS: this.certPath, [TEST_CA_DIR_ENV]: this.dir };
  }

  /**
   * A server certificate signed by this CA for `hosts` (IP and DNS SANs). Results are cached per host list,
   * so many servers in one worker share one key.
   */
  issueServerCertificate(options: LeafCertificateOptions = {}): Promise<PemKeyPair> {
    const hosts = options.hosts ?? DEFAULT_LEAF_HOSTS;
    if (hosts.length === 0) throw new Error("TestCertificateAuthority.issueServerCertificate: at least one host is needed");
    const cacheKey = `${options.commonName ?? ""}|${hosts.join(",")}`;
    const cached = this.#leaves.get(cacheKey);
    if (cached !== undefined) return cached;
    const caNotAfter = new Date(new X509Certificate(this.certPem).validTo);
    const leaf = generate([{ name: "commonName", value: options.commonName ?? hosts[0] ?? "localhost" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notBeforeDate: new Date(Date.now() - 60_000),
      notAfterDate: caNotAfter,
      ca: { key: this.keyPem, cert: this.certPem },
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: hosts.map((host) => (isIp(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host })),
        },
      ],
    }).then((g) => ({ cert: g.cert, key: g.private }));
    this.#leaves.set(cacheKey, leaf);
    return leaf;
  }

  /** Removes the directory when {@link create} made it (a no-op for loaded CAs and caller-owned directories). */
  dispose(): void {
    if (this.#ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A self-signed RSA certificate for a client, e.g. a service principal's certificate for
 * `ClientCertificateCredential` (MSAL signs client assertions with RSA, so EC keys would not do). The
 * fingerprints are those MSAL sends as `x5t` / `x5t#S256`, letting the fake AAD find the registered key.
 */
export async function createClientCertificate(commonName: string, validityDays = 2): Promise<ClientCertificate> {
  const generated = await generate([{ name: "commonName", value: commonName }], {
    keyType: "rsa",
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: daysFromNow(validityDays),
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", clientAuth: true },
    ],
  });
  const der = new X509Certificate(generated.cert).raw;
  return {
    cert: generated.cert,
    key: generated.private,
    x5t: base64Url(createHash("sha1").update(der).digest()),
    x5tS256: base64Url(createHash("sha256").update(der).digest()),
    combinedPem: `${generated.cert.trim()}\n${generated.private.trim()}\n`,
  };
}
