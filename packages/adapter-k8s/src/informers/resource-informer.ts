import { ListWatch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from "@kubernetes/client-node";
import type { ClockPort, LoggerPort, ObjectMeta, ResourceEvent, Result, TimerHandle, Unsubscribe, ValidationError } from "@podid/core";
import { describeError } from "../client/kube-api-error.js";
import { DEFAULT_INFORMER_BACKOFF, jitteredBackoffMs, type BackoffOptions } from "./backoff.js";
import { InformerWatch, StaleWatchError } from "./informer-watch.js";
import type { InvalidObject } from "./invalid-object-reporter.js";

/** One page of a list call, as plain wire JSON. */
export interface RawListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** Continue token of the next page; `undefined` or `""` on the last page. */
  readonly continueToken?: string;
}

/** Arguments of a list call. */
export interface ListQuery {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continueToken?: string;
}

/** Without a watch event or bookmark for this long, the informer relists (5 minutes). */
export const DEFAULT_WATCHDOG_MS = 5 * 60_000;
/** List page size, as client-go's reflector uses (keeps a 10,000-pod list from being one huge response). */
export const DEFAULT_LIST_PAGE_SIZE = 500;

/** Settings of a {@link ResourceInformer}. */
export interface ResourceInformerOptions<T> {
  /** Resource name for logs (`pods`, `azureidentities`). */
  readonly resource: string;
  /** Kind and apiVersion of the objects, for Events about invalid ones. */
  readonly kind: string;
  readonly apiVersion: string;
  /** Collection path watched, e.g. `/api/v1/pods` or `/apis/aadpodidentity.k8s.io/v1/azureidentities`. */
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Fetches one page of the collection (same selectors as the watch). */
  readonly listPage: (query: ListQuery) => Promise<RawListPage>;
  /** core's parser for the kind; rejected objects are skipped and reported. */
  readonly parse: (raw: unknown) => Result<T, ValidationError>;
  readonly kubeConfig: KubeConfig;
  /** Called before each watch request (the client's rate limiter). */
  readonly beforeWatch: () => Promise<void>;
  readonly clock: ClockPort;
  readonly logger: LoggerPort;
  /** Receives each object that fails validation (deduplication is the receiver's job). */
  readonly onInvalid?: (invalid: InvalidObject) => void;
  /** Called when an object is no longer cached or no longer invalid, to reset invalid-report deduplication. */
  readonly onForget?: (namespace: string, name: string) => void;
  readonly backoff?: BackoffOptions;
  readonly watchdogMs?: number;
  /** Cap on client-node's own reconnect delay after a cleanly closed watch (default: its 30 s cap). */
  readonly maxReconnectDelayMs?: number;
  readonly pageSize?: number;
  readonly random?: () => number;
}

/** Counters of one informer, for metrics and tests. */
export interface InformerStats {
  /** Completed lists (initial, after 410, after restarts and watchdog relists). */
  readonly lists: number;
  /** Restarts after an informer error. */
  readonly restarts: number;
  /** Relists forced by the watchdog or {@link ResourceInformer.relist}. */
  readonly forcedRelists: number;
  /** Watch events seen, bookmarks included. */
  readonly watchEvents: number;
}

interface Entry<T> {
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
  /** The parsed object; `undefined` while the stored version is invalid. */
  readonly value: T | undefined;
}

interface RawMeta {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly resourceVersion: string | undefined;
}

function rawMeta(raw: unknown): RawMeta | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const metadata = (raw as { metadata?: unknown }).metadata;
  if (typeof metadata !== "object" || metadata === null) return undefined;
  const m = metadata as Record<string, unknown>;
  if (typeof m["name"] !== "string" || m["name"] === "") return undefined;
  return {
    namespace: typeof m["namespace"] === "string" ? m["namespace"] : "",
    name: m["name"],
    uid: typeof m["uid"] === "string" ? m["uid"] : undefined,
    resourceVersion: typeof m["resourceVersion"] === "string" ? m["resourceVersion"] : undefined,
  };
}

class StaleListError extends Error {
  /** The error a superseded list ends with. */
  constructor() {
    super("list belongs to a stopped or superseded informer generation");
    this.name = "StaleListError";
  }
}

/**
 * A self-healing informer for one resource, built on client-node's `ListWatch`, holding objects parsed
 * by core. What it adds to the library (docs/compatibility.md#kubernetes-client-behaviour):
 * - **its own cache of parsed objects**, so `modified` events carry `previous` (client-node passes only
 *   the new object) and objects that fail validation are never visible — they are reported through
 *   `onInvalid` instead, and a valid object that turns invalid is seen as deleted;
 * - **list = replace**: every list (first, after 410, after a restart) reconciles the cache against the
 *   complete result, emitting `deleted` for what vanished, so no restart strategy can leave ghosts;
 * - **idempotent handling**: a version already cached (same uid and resourceVersion) changes nothing,
 *   so relists and replays emit nothing for unchanged objects;
 * - **restart after any error** with jittered exponential backoff (the library stops for good after
 *   non-410 errors), guarded by a generation counter because `stop()` cannot abort a watch that is
 *   still connecting and its late failure would otherwise restart a stopped informer;
 * - **a watchdog** that relists when neither an event nor a bookmark nor a list was seen for
 *   `watchdogMs` (watches that stall silently: client-node #364, #958, #596).
 */
export class ResourceInformer<T extends { readonly metadata: ObjectMeta }> {
  readonly #options: ResourceInformerOptions<T>;
  /** namespace → name → entry */
  readonly #cache = new Map<string, Map<string, Entry<T>>>();
  readonly #handlers = new Set<(event: ResourceEvent<T>) => void>();
  #generation = 0;
  #stopped = true;
  #listWatch: ListWatch<KubernetesObject> | undefined;
  #restartTimer: TimerHandle | undefined;
  #watchdogTimer: TimerHandle | undefined;
  #failures = 0;
  #lastActivityMs = 0;
  #synced = false;
  readonly #syncedPromise: Promise<void>;
  #resolveSynced: () => void = () => undefined;
  #stats = { lists: 0, restarts: 0, forcedRelists: 0, watchEvents: 0 };

  /** Creates a stopped informer; call {@link start}. */
  constructor(options: ResourceInformerOptions<T>) {
    this.#options = options;
    this.#syncedPromise = new Promise<void>((resolve) => {
      this.#resolveSynced = resolve;
    });
  }

  /** The resource name this informer watches. */
  get resource(): string {
    return this.#options.resource;
  }

  /** True once the first list has completed (and forever after, as client-go's `HasSynced`). */
  get synced(): boolean {
    return this.#synced;
  }

  /** Resolves when the first list has completed. */
  whenSynced(): Promise<void> {
    return this.#syncedPromise;
  }

  /** Counters so far. */
  get stats(): InformerStats {
    return { ...this.#stats };
  }

  /** Starts listing and watching; does nothing when already running. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#failures = 0;
    this.#launch();
    this.#armWatchdog();
  }

  /** Stops for good (until started again); late results of in-flight requests are ignored. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    this.#restartTimer?.cancel();
    this.#restartTimer = undefined;
    this.#watchdogTimer?.cancel();
    this.#watchdogTimer = undefined;
    const listWatch = this.#listWatch;
    this.#listWatch = undefined;
    await listWatch?.stop();
  }

  /** Throws away the current list/watch and lists again now (the cache stays and is reconciled). */
  relist(reason: string): void {
    if (this.#stopped) return;
    this.#stats.forcedRelists++;
    this.#options.logger.info({ resource: this.#options.resource, reason }, "relisting");
    this.#restartTimer?.cancel();
    this.#restartTimer = undefined;
    this.#launch();
  }

  /** Calls `handler` for every later change until unsubscribed; handler exceptions are logged, never propagated. */
  subscribe(handler: (event: ResourceEvent<T>) => void): Unsubscribe {
    const wrapped = (event: ResourceEvent<T>): void => handler(event);
    this.#handlers.add(wrapped);
    return () => {
      this.#handlers.delete(wrapped);
    };
  }

  /** The cached object, if present and valid. */
  get(namespace: string, name: string): T | undefined {
    return this.#cache.get(namespace)?.get(name)?.value;
  }

  /** Every cached valid object, optionally of one namespace. */
  list(namespace?: string): readonly T[] {
    const out: T[] = [];
    const collect = (bucket: Map<string, Entry<T>> | undefined): void => {
      if (bucket === undefined) return;
      for (const entry of bucket.values()) if (entry.value !== undefined) out.push(entry.value);
    };
    if (namespace === undefined) for (const bucket of this.#cache.values()) collect(bucket);
    else collect(this.#cache.get(namespace));
    return out;
  }

  #launch(): void {
    if (this.#stopped) return;
    const previous = this.#listWatch;
    const generation = ++this.#generation;
    const isCurrent = (): boolean => !this.#stopped && generation === this.#generation;
    void previous?.stop();
    this.#lastActivityMs = this.#options.clock.now();
    const watch = new InformerWatch(this.#options.kubeConfig, {
      beforeRequest: this.#options.beforeWatch,
      isCurrent,
      onEvent: () => {
        this.#stats.watchEvents++;
        this.#lastActivityMs = this.#options.clock.now();
        this.#failures = 0;
      },
      onConnected: () => {
        this.#failures = 0;
      },
    });
    const maxReconnect = this.#options.maxReconnectDelayMs;
    const listWatch = new ListWatch<KubernetesObject>(
      this.#options.path,
      watch,
      () => this.#listAll(isCurrent),
      false,
      this.#options.labelSelector,
      this.#options.fieldSelector,
      { delayFn: (ms: number) => this.#options.clock.sleep(maxReconnect === undefined ? ms : Math.min(ms, maxReconnect)) },
    );
    listWatch.on("add", (raw) => {
      if (isCurrent()) this.#upsert(raw);
    });
    listWatch.on("update", (raw) => {
      if (isCurrent()) this.#upsert(raw);
    });
    listWatch.on("delete", (raw) => {
      if (isCurrent()) this.#remove(raw);
    });
    listWatch.on("error", (err?: unknown) => {
      if (isCurrent()) this.#onError(err);
    });
    this.#listWatch = listWatch;
    listWatch.start().catch((err: unknown) => {
      if (isCurrent()) this.#onError(err);
    });
  }

  async #listAll(isCurrent: () => boolean): Promise<KubernetesListObject<KubernetesObject>> {
    const { labelSelector, fieldSelector } = this.#options;
    const limit = this.#options.pageSize ?? DEFAULT_LIST_PAGE_SIZE;
    const items: unknown[] = [];
    let resourceVersion = "";
    let continueToken: string | undefined;
    do {
      const page = await this.#options.listPage({
        ...(labelSelector !== undefined ? { labelSelector } : {}),
        ...(fieldSelector !== undefined ? { fieldSelector } : {}),
        limit,
        ...(continueToken !== undefined ? { continueToken } : {}),
      });
      if (!isCurrent()) throw new StaleListError();
      items.push(...page.items);
      resourceVersion = page.resourceVersion;
      continueToken = page.continueToken === "" ? undefined : page.continueToken;
    } while (continueToken !== undefined);
    this.#replace(items);
    this.#stats.lists++;
    this.#lastActivityMs = this.#options.clock.now();
    if (!this.#synced) {
      this.#synced = true;
      this.#resolveSynced();
    }
    // ListWatch diffs its own (fresh) cache against these and calls back; those calls find the same
    // versions already cached here and change nothing.
    return { metadata: { resourceVersion }, items: items.filter((i): i is KubernetesObject => rawMeta(i) !== undefined) };
  }

  #onError(err: unknown): void {
    if (err instanceof StaleWatchError || err instanceof StaleListError) return;
    this.#failures++;
    this.#stats.restarts++;
    const delayMs = jitteredBackoffMs(this.#failures, this.#options.backoff ?? DEFAULT_INFORMER_BACKOFF, this.#options.random);
    this.#options.logger.warn(
      { resource: this.#options.resource, error: describeError(err), failures: this.#failures, delayMs },
      "informer failed; restarting with backoff",
    );
    // Retire the failed generation now so nothing it still delivers is applied.
    this.#generation++;
    const failed = this.#listWatch;
    this.#listWatch = undefined;
    void failed?.stop();
    this.#restartTimer?.cancel();
    this.#restartTimer = this.#options.clock.setTimer(delayMs, () => {
      this.#restartTimer = undefined;
      this.#launch();
    });
  }

  #armWatchdog(): void {
    const limit = this.#options.watchdogMs ?? DEFAULT_WATCHDOG_MS;
    const interval = Math.max(10, Math.floor(limit / 4));
    const tick = (): void => {
      if (this.#stopped) return;
      const quietMs = this.#options.clock.now() - this.#lastActivityMs;
      if (quietMs >= limit && this.#restartTimer === undefined) this.relist(`watchdog: no event or bookmark for ${quietMs} ms`);
      this.#watchdogTimer = this.#options.clock.setTimer(interval, tick);
    };
    this.#watchdogTimer = this.#options.clock.setTimer(interval, tick);
  }

  /** Makes the cache hold exactly `items`. */
  #replace(items: readonly unknown[]): void {
    const seen = new Map<string, Set<string>>();
    for (const raw of items) {
      const meta = rawMeta(raw);
      if (meta === undefined) continue;
      let names = seen.get(meta.namespace);
      if (names === undefined) seen.set(meta.namespace, (names = new Set()));
      names.add(meta.name);
      this.#upsert(raw);
    }
    for (const [namespace, bucket] of [...this.#cache]) {
      const names = seen.get(namespace);
      for (const [name, entry] of [...bucket]) {
        if (names?.has(name) !== true) this.#drop(namespace, name, entry, undefined);
      }
    }
  }

  #upsert(raw: unknown): void {
    const meta = rawMeta(raw);
    if (meta === undefined) {
      this.#options.logger.debug({ resource: this.#options.resource }, "ignoring an object without metadata.name");
      return;
    }
    let bucket = this.#cache.get(meta.namespace);
    const existing = bucket?.get(meta.name);
    if (existing !== undefined && meta.resourceVersion !== undefined && existing.resourceVersion === meta.resourceVersion && existing.uid === meta.uid) {
      return;
    }
    const parsed = this.#parse(raw);
    if (bucket === undefined) this.#cache.set(meta.namespace, (bucket = new Map()));
    if (parsed.ok) {
      bucket.set(meta.name, { uid: meta.uid, resourceVersion: meta.resourceVersion, value: parsed.value });
      if (existing !== undefined && existing.value === undefined) this.#options.onForget?.(meta.namespace, meta.name);
      // Same name, new uid: the object was deleted and re-created while the watch was down (a StatefulSet
      // pod, say). Report it as what it is rather than as a modification of a different object.
      const replaced = existing?.value !== undefined && existing.uid !== undefined && meta.uid !== undefined && existing.uid !== meta.uid;
      if (replaced && existing?.value !== undefined) this.#emit({ type: "deleted", object: existing.value });
      this.#emit(
        existing?.value === undefined || replaced
          ? { type: "added", object: parsed.value }
          : { type: "modified", object: parsed.value, previous: existing.value },
      );
      return;
    }
    bucket.set(meta.name, { uid: meta.uid, resourceVersion: meta.resourceVersion, value: undefined });
    if (parsed.error !== undefined) {
      this.#options.onInvalid?.({
        kind: this.#options.kind,
        apiVersion: this.#options.apiVersion,
        namespace: meta.namespace,
        name: meta.name,
        ...(meta.uid !== undefined ? { uid: meta.uid } : {}),
        ...(meta.resourceVersion !== undefined ? { resourceVersion: meta.resourceVersion } : {}),
        error: parsed.error,
      });
    }
    // A valid object that became invalid disappears from the cache's point of view.
    if (existing?.value !== undefined) this.#emit({ type: "deleted", object: existing.value });
  }

  #remove(raw: unknown): void {
    const meta = rawMeta(raw);
    if (meta === undefined) return;
    const entry = this.#cache.get(meta.namespace)?.get(meta.name);
    if (entry === undefined) return;
    const finalState = this.#parse(raw);
    this.#drop(meta.namespace, meta.name, entry, finalState.ok ? finalState.value : undefined);
  }

  #drop(namespace: string, name: string, entry: Entry<T>, finalState: T | undefined): void {
    const bucket = this.#cache.get(namespace);
    bucket?.delete(name);
    if (bucket?.size === 0) this.#cache.delete(namespace);
    this.#options.onForget?.(namespace, name);
    if (entry.value !== undefined) this.#emit({ type: "deleted", object: finalState ?? entry.value });
  }

  /**
   * core's parsers return errors and never throw; should one throw anyway (a bug), the object is treated
   * as unusable (`error: undefined`, nothing reported) rather than letting the exception escape into
   * client-node, which swallows callback errors on watches and would restart-loop on lists.
   */
  #parse(raw: unknown): { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ValidationError | undefined } {
    try {
      return this.#options.parse(raw);
    } catch (error) {
      this.#options.logger.error({ resource: this.#options.resource, error: describeError(error) }, "parser threw; object ignored");
      return { ok: false, error: undefined };
    }
  }

  #emit(event: ResourceEvent<T>): void {
    for (const handler of this.#handlers) {
      try {
        handler(event);
      } catch (err) {
        this.#options.logger.error(
          { resource: this.#options.resource, event: event.type, name: event.object.metadata.name, error: describeError(err) },
          "informer event handler threw",
        );
      }
    }
  }
}
