import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import type { ClockPort, LoggerPort, ObjectMeta, ResourceEvent, Result, TimerHandle, Unsubscribe, ValidationError } from "@podid/core";
import { describeError } from "../client/kube-api-error.js";
import { DEFAULT_INFORMER_BACKOFF, jitteredBackoffMs, type BackoffOptions } from "./backoff.js";
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
/** Reconnect delays after watches that closed without delivering anything: 1 s doubling to 30 s (client-node's ListWatch). */
const RECONNECT_BASE_MS = 1000;
const RECONNECT_MAX_MS = 30_000;
/** Server-side watch lifetime: 5 to 10 minutes, randomised like client-go's reflector so watches do not reconnect in step. */
const WATCH_TIMEOUT_MIN_S = 300;

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
  /**
   * Opens a watch of `path` with `query` (the client's rate limit and connect deadline apply) and resolves
   * with the newline-delimited event stream once the server answered 200; aborting `signal` closes it.
   */
  readonly openWatch: (path: string, query: Readonly<Record<string, string | number | boolean | undefined>>, signal: AbortSignal) => Promise<Readable>;
  readonly clock: ClockPort;
  readonly logger: LoggerPort;
  /** Receives each object that fails validation (deduplication is the receiver's job). */
  readonly onInvalid?: (invalid: InvalidObject) => void;
  /** Called when an object is no longer cached or no longer invalid, to reset invalid-report deduplication. */
  readonly onForget?: (namespace: string, name: string) => void;
  readonly backoff?: BackoffOptions;
  readonly watchdogMs?: number;
  /** Cap on the reconnect delay after a cleanly closed watch that delivered nothing (default 30 s, as client-node's). */
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

/** A BOOKMARK's resourceVersion (bookmarks carry an object with only `metadata.resourceVersion`). */
function bookmarkVersion(object: unknown): string | undefined {
  const metadata = typeof object === "object" && object !== null ? (object as { metadata?: { resourceVersion?: unknown } }).metadata : undefined;
  return typeof metadata?.resourceVersion === "string" ? metadata.resourceVersion : undefined;
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

/** Ends the work of a stopped or superseded generation; never reported. */
class StaleGenerationError extends Error {
  /** The error a superseded list or watch ends with. */
  constructor() {
    super("list/watch belongs to a stopped or superseded informer generation");
    this.name = "StaleGenerationError";
  }
}

/** Ends a watch whose resourceVersion the server no longer has (HTTP 410 or an ERROR event with code 410). */
class ExpiredError extends Error {
  /** A 410 seen on a watch. */
  constructor() {
    super("watch resourceVersion expired (410)");
    this.name = "ExpiredError";
  }
}

/** How one watch connection ended without an error. */
interface WatchOutcome {
  /** The resourceVersion to resume from. */
  readonly resourceVersion: string;
  /** Whether the watch delivered at least one event (resets the reconnect delay). */
  readonly delivered: boolean;
}

const isExpiredStatus = (error: unknown): boolean => typeof error === "object" && error !== null && (error as { statusCode?: unknown }).statusCode === 410;

/**
 * A self-healing informer for one resource, holding only objects parsed by core (raw API objects are
 * dropped as soon as they are parsed; there is no second cache of raw objects). It lists and watches
 * itself over the client's raw JSON requests (docs/adr/0011-lean-kube-access.md):
 * - **paged lists** (`limit`, `continue`) whose items go straight into core's parser;
 * - **list = replace**: every list (first, after 410, after a restart) reconciles the cache against the
 *   complete result, emitting `deleted` for what vanished, so no restart strategy can leave ghosts;
 * - **watch from the list's resourceVersion** with bookmarks and a randomised server-side timeout;
 *   a cleanly closed watch reconnects from the last resourceVersion seen (at once if it delivered
 *   events, else after 1 s doubling to 30 s, as client-node's ListWatch); a 410 relists;
 * - `modified` events carry `previous`, objects that fail validation are never visible — they are
 *   reported through `onInvalid` instead — and a valid object that turns invalid is seen as deleted;
 * - **idempotent handling**: a version already cached (same uid and resourceVersion) changes nothing,
 *   so relists and replays emit nothing for unchanged objects;
 * - **restart after any other error** with jittered exponential backoff, guarded by a generation
 *   counter so nothing a superseded list or watch still delivers is applied;
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
  /** Aborts the current generation's watch request. */
  #abort: AbortController | undefined;
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
  stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    this.#restartTimer?.cancel();
    this.#restartTimer = undefined;
    this.#watchdogTimer?.cancel();
    this.#watchdogTimer = undefined;
    this.#abort?.abort();
    this.#abort = undefined;
    return Promise.resolve();
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
    this.#abort?.abort();
    const generation = ++this.#generation;
    const abort = new AbortController();
    this.#abort = abort;
    const isCurrent = (): boolean => !this.#stopped && generation === this.#generation;
    this.#lastActivityMs = this.#options.clock.now();
    this.#run(isCurrent, abort.signal).catch((err: unknown) => {
      if (isCurrent()) this.#onError(err);
    });
  }

  /** One generation: list, then watch and reconnect until an error, a 410 (relist) or supersession. */
  async #run(isCurrent: () => boolean, signal: AbortSignal): Promise<void> {
    let resourceVersion = await this.#listAll(isCurrent);
    let reconnectDelayMs = 0;
    for (;;) {
      if (!isCurrent()) return;
      let outcome: WatchOutcome;
      try {
        outcome = await this.#watchOnce(resourceVersion, isCurrent, signal);
      } catch (error) {
        if (!(error instanceof ExpiredError) && !isExpiredStatus(error)) throw error;
        resourceVersion = await this.#listAll(isCurrent);
        reconnectDelayMs = 0;
        continue;
      }
      resourceVersion = outcome.resourceVersion;
      reconnectDelayMs = outcome.delivered ? 0 : Math.min(reconnectDelayMs === 0 ? RECONNECT_BASE_MS : reconnectDelayMs * 2, RECONNECT_MAX_MS);
      if (reconnectDelayMs > 0) await this.#options.clock.sleep(Math.min(reconnectDelayMs, this.#options.maxReconnectDelayMs ?? RECONNECT_MAX_MS));
    }
  }

  /** Lists every page, applying each page's objects at once; returns the list's resourceVersion. */
  async #listAll(isCurrent: () => boolean): Promise<string> {
    const { labelSelector, fieldSelector } = this.#options;
    const limit = this.#options.pageSize ?? DEFAULT_LIST_PAGE_SIZE;
    const seen = new Map<string, Set<string>>();
    let resourceVersion = "";
    let continueToken: string | undefined;
    do {
      const page = await this.#options.listPage({
        ...(labelSelector !== undefined ? { labelSelector } : {}),
        ...(fieldSelector !== undefined ? { fieldSelector } : {}),
        limit,
        ...(continueToken !== undefined ? { continueToken } : {}),
      });
      if (!isCurrent()) throw new StaleGenerationError();
      // Applied page by page, so at most one page of raw objects is alive at a time; the pages of one
      // list are one consistent snapshot, and what no page named is dropped below.
      for (const raw of page.items) {
        const meta = rawMeta(raw);
        if (meta === undefined) continue;
        let names = seen.get(meta.namespace);
        if (names === undefined) seen.set(meta.namespace, (names = new Set()));
        names.add(meta.name);
        this.#upsert(raw);
      }
      resourceVersion = page.resourceVersion;
      continueToken = page.continueToken === "" ? undefined : page.continueToken;
    } while (continueToken !== undefined);
    this.#dropUnseen(seen);
    this.#stats.lists++;
    this.#lastActivityMs = this.#options.clock.now();
    if (!this.#synced) {
      this.#synced = true;
      this.#resolveSynced();
    }
    return resourceVersion;
  }

  /**
   * One watch connection from `resourceVersion`: resolves when the server ends the stream cleanly,
   * rejects with {@link ExpiredError} on a 410 and with the transport error otherwise.
   */
  async #watchOnce(resourceVersion: string, isCurrent: () => boolean, signal: AbortSignal): Promise<WatchOutcome> {
    const { labelSelector, fieldSelector } = this.#options;
    const random = this.#options.random ?? Math.random;
    const stream = await this.#options.openWatch(
      this.#options.path,
      {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: Math.floor(WATCH_TIMEOUT_MIN_S * (1 + random())),
        labelSelector,
        fieldSelector,
      },
      signal,
    );
    if (!isCurrent()) {
      stream.destroy();
      throw new StaleGenerationError();
    }
    this.#failures = 0;
    let last = resourceVersion;
    let delivered = false;
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!isCurrent()) throw new StaleGenerationError();
        if (line.trim() === "") continue;
        let event: { type?: unknown; object?: unknown };
        try {
          event = JSON.parse(line) as { type?: unknown; object?: unknown };
        } catch {
          this.#options.logger.debug({ resource: this.#options.resource }, "ignoring a watch line that is not JSON");
          continue;
        }
        this.#stats.watchEvents++;
        this.#lastActivityMs = this.#options.clock.now();
        this.#failures = 0;
        delivered = true;
        if (event.type === "ERROR") {
          if ((event.object as { code?: unknown } | undefined)?.code === 410) throw new ExpiredError();
          // Other ERROR events carry no object; the server closes the stream next and we resume.
          continue;
        }
        const version = rawMeta(event.object)?.resourceVersion ?? bookmarkVersion(event.object);
        if (event.type === "ADDED" || event.type === "MODIFIED") this.#upsert(event.object);
        else if (event.type === "DELETED") this.#remove(event.object);
        if (version !== undefined && version !== "") last = version;
      }
    } finally {
      lines.close();
      stream.destroy();
    }
    if (!isCurrent()) throw new StaleGenerationError();
    return { resourceVersion: last, delivered };
  }

  #onError(err: unknown): void {
    if (err instanceof StaleGenerationError) return;
    this.#failures++;
    this.#stats.restarts++;
    const delayMs = jitteredBackoffMs(this.#failures, this.#options.backoff ?? DEFAULT_INFORMER_BACKOFF, this.#options.random);
    this.#options.logger.warn(
      { resource: this.#options.resource, error: describeError(err), failures: this.#failures, delayMs },
      "informer failed; restarting with backoff",
    );
    // Retire the failed generation now so nothing it still delivers is applied.
    this.#generation++;
    this.#abort?.abort();
    this.#abort = undefined;
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

  /** Drops every cached object a complete list did not name (list = replace). */
  #dropUnseen(seen: ReadonlyMap<string, ReadonlySet<string>>): void {
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
   * as unusable (`error: undefined`, nothing reported) rather than letting the exception end the watch
   * or restart-loop the list.
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
