import {
  err,
  ok,
  SECRET_PROVIDER_CLASS_GROUP,
  SECRET_PROVIDER_CLASS_RESOURCE,
  SECRET_PROVIDER_CLASS_VERSION,
  type ClockPort,
  type KubeError,
  type LoggerPort,
  type Result,
  type SecretProviderClassReaderPort,
  type SecretProviderClassView,
} from "@podid/core";
import type { KubeClient } from "../client/kube-client.js";
import { toKubeError } from "../client/kube-api-error.js";
import { silentLogger } from "../support/silent-logger.js";

/** Settings of a {@link KubeSecretProviderClassReader}. */
export interface KubeSecretProviderClassReaderOptions {
  readonly client: KubeClient;
  /** How long an answer (found or not found) is reused (default 30 s). Failures are never cached. */
  readonly ttlMs?: number;
  /** Cap on cached answers; the cache is emptied when full (default 1024). */
  readonly maxEntries?: number;
  readonly logger?: LoggerPort;
}

type Answer = Result<SecretProviderClassView | undefined, KubeError>;

interface Entry {
  readonly answer: Answer;
  readonly expiresAtMs: number;
}

/** The default reuse time of an answer. */
export const SECRET_PROVIDER_CLASS_TTL_MS = 30_000;

/**
 * core's `SecretProviderClassReaderPort` by an on-demand GET of one SecretProviderClass
 * (`secrets-store.csi.x-k8s.io/v1`) through the lean client. NMI does not watch SecretProviderClasses: a watch
 * would need cluster-wide `list`/`watch` and put every class of the cluster into the memory of every node's
 * NMI, while only the few classes named by this node's Key Vault volumes matter, and only when a driver asks
 * for a token (docs/adr/0019-scoped-host-token.md). Answers — found and not found (404, which is also what a
 * cluster without the CRD answers) — are reused for {@link SECRET_PROVIDER_CLASS_TTL_MS}, so a rotation that
 * re-mounts every pod every 2 minutes costs one GET per class per TTL; concurrent reads of one class share
 * one request. Other failures are returned and not cached.
 */
export class KubeSecretProviderClassReader implements SecretProviderClassReaderPort {
  readonly #client: KubeClient;
  readonly #clock: ClockPort;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #logger: LoggerPort;
  readonly #cache = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<Answer>>();
  #requests = 0;

  constructor(options: KubeSecretProviderClassReaderOptions) {
    this.#client = options.client;
    this.#clock = options.client.clock;
    this.#ttlMs = options.ttlMs ?? SECRET_PROVIDER_CLASS_TTL_MS;
    this.#maxEntries = options.maxEntries ?? 1024;
    this.#logger = options.logger ?? silentLogger;
  }

  /** GETs sent to the API server so far (for tests and the footprint bench). */
  get requests(): number {
    return this.#requests;
  }

  /** The class `namespace/name`, from the cache while fresh, else from the API server. */
  read(namespace: string, name: string): Promise<Answer> {
    const key = `${namespace}/${name}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && cached.expiresAtMs > this.#clock.now()) return Promise.resolve(cached.answer);
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const fetching = this.#fetch(namespace, name).then((answer) => {
      this.#inFlight.delete(key);
      if (answer.ok) this.#remember(key, answer);
      else this.#cache.delete(key);
      return answer;
    });
    this.#inFlight.set(key, fetching);
    return fetching;
  }

  #remember(key: string, answer: Answer): void {
    if (this.#cache.size >= this.#maxEntries) this.#cache.clear();
    this.#cache.set(key, { answer, expiresAtMs: this.#clock.now() + this.#ttlMs });
  }

  async #fetch(namespace: string, name: string): Promise<Answer> {
    this.#requests += 1;
    const path = `/apis/${SECRET_PROVIDER_CLASS_GROUP}/${SECRET_PROVIDER_CLASS_VERSION}/namespaces/${encodeURIComponent(namespace)}/${SECRET_PROVIDER_CLASS_RESOURCE}/${encodeURIComponent(name)}`;
    try {
      return ok(secretProviderClassView(namespace, name, await this.#client.request({ method: "GET", path })));
    } catch (error) {
      const kubeError = toKubeError(error, this.#clock.now());
      if (kubeError.kind === "notFound") return ok(undefined);
      this.#logger.warn({ namespace, name, error: kubeError.kind }, "reading SecretProviderClass failed");
      return err(kubeError);
    }
  }
}

/** The fields of a SecretProviderClass the scoped `/host/token` reads; anything unreadable is left out. */
export function secretProviderClassView(namespace: string, name: string, raw: unknown): SecretProviderClassView {
  const spec = objectAt(raw, "spec");
  const provider = spec?.["provider"];
  const usePodIdentity = objectAt(spec, "parameters")?.["usePodIdentity"];
  return {
    namespace,
    name,
    provider: typeof provider === "string" ? provider : "",
    ...(typeof usePodIdentity === "string" ? { usePodIdentity } : {}),
  };
}

function objectAt(value: unknown, key: string): Readonly<Record<string, unknown>> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const inner = (value as Readonly<Record<string, unknown>>)[key];
  return typeof inner === "object" && inner !== null && !Array.isArray(inner) ? (inner as Readonly<Record<string, unknown>>) : undefined;
}
