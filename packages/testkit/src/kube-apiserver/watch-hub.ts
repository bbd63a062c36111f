/**
 * Watches: replay from a resourceVersion out of the store's history, then live events, with the real
 * server's semantics —
 * - no resourceVersion (or `0`): synthetic `ADDED` events for the current state first;
 * - resourceVersion `r`: every matching change after `r`; `r` older than the compaction point → a single
 *   `ERROR` event carrying a 410 `Expired` Status, then the stream ends (what kube-apiserver sends, and what
 *   @kubernetes/client-node and client-go reflectors turn into a relist);
 * - selectors see transitions: an object that starts matching arrives as `ADDED`, one that stops matching
 *   as `DELETED`;
 * - `allowWatchBookmarks=true`: periodic `BOOKMARK` events carrying the current revision;
 *   `sendInitialEvents=true` also ends the initial `ADDED` burst with a bookmark annotated
 *   `k8s.io/initial-events-end: "true"` (the watch-list protocol);
 * - `timeoutSeconds`: the stream ends cleanly after that long.
 * Fault hooks end streams abruptly (socket destroyed) or cleanly, or send 410 to every open watch.
 * @packageDocumentation
 */
import type { JsonObject, KubeObject } from "./json.js";
import type { ObjectStore, StoreEvent } from "./object-store.js";
import { matchesSelection, presentObject, type Selection } from "./resource-api.js";
import { apiVersionOf, storageKeyOf, type ResourceDefinition } from "./resource-definition.js";
import type { ResourceRegistry } from "./resource-registry.js";
import { tooLargeResourceVersion, statusBody, badRequest } from "./status.js";

/** The event types a watch stream carries. */
export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** Where a watch writes: the HTTP layer renders each event (plain JSON or a Table row) and owns the socket. */
export interface WatchSink {
  /** Writes one event. */
  send(type: WatchEventType, object: JsonObject): void;
  /** Ends the stream cleanly (final chunk). */
  end(): void;
  /** Ends the stream abruptly (connection reset, no final chunk). */
  destroy(): void;
}

/** Parameters of one watch. */
export interface WatchRequest extends Selection {
  readonly def: ResourceDefinition;
  readonly resourceVersion?: string;
  readonly allowWatchBookmarks?: boolean;
  readonly sendInitialEvents?: boolean;
  readonly timeoutSeconds?: number;
}

/** Options of {@link WatchHub}. */
export interface WatchHubOptions {
  /** Interval of `BOOKMARK` events for watches that allow them (default 1000 ms; real servers use about a minute). */
  readonly bookmarkIntervalMs?: number;
}

interface ActiveWatch {
  readonly request: WatchRequest;
  readonly sink: WatchSink;
  readonly timers: ReturnType<typeof setTimeout>[];
  closed: boolean;
}

/** How {@link WatchHub.dropAll} ends streams. */
export type DropMode = "abrupt" | "graceful";

/** All open watches of one server. */
export class WatchHub {
  readonly #store: ObjectStore;
  readonly #registry: ResourceRegistry;
  readonly #bookmarkIntervalMs: number;
  readonly #watches = new Set<ActiveWatch>();

  constructor(store: ObjectStore, registry: ResourceRegistry, options: WatchHubOptions = {}) {
    this.#store = store;
    this.#registry = registry;
    this.#bookmarkIntervalMs = Math.max(10, options.bookmarkIntervalMs ?? 1000);
    store.subscribe((event) => {
      for (const watch of [...this.#watches]) this.#deliver(watch, event);
    });
    registry.onChange(() => {
      for (const watch of [...this.#watches]) {
        const def = watch.request.def;
        if (this.#registry.lookup(def.group, def.version, def.plural) === undefined) this.#close(watch, "end");
      }
    });
  }

  /** Number of open watches. */
  get size(): number {
    return this.#watches.size;
  }

  /**
   * Starts a watch; synchronously sends the initial or replayed events. Returns a function that stops it
   * (used when the client disconnects). Throws a 400 `ApiError` for a malformed resourceVersion.
   */
  start(request: WatchRequest, sink: WatchSink): () => void {
    const watch: ActiveWatch = { request, sink, timers: [], closed: false };
    const rv = request.resourceVersion ?? "";
    const def = request.def;
    const key = storageKeyOf(def);
    if (rv !== "" && !/^\d+$/.test(rv)) throw badRequest(`invalid resourceVersion: "${rv}"`);
    const initialState = request.sendInitialEvents === true || rv === "" || rv === "0";
    if (initialState) {
      for (const obj of this.#store.list(key)) {
        if (matchesSelection(request, obj)) sink.send("ADDED", presentObject(def, obj));
      }
      if (request.sendInitialEvents === true && request.allowWatchBookmarks === true) {
        sink.send("BOOKMARK", this.#bookmark(def, { "k8s.io/initial-events-end": "true" }));
      }
    } else {
      const from = Number(rv);
      if (from > this.#store.revision) {
        sink.send("ERROR", tooLargeResourceVersion(from, this.#store.revision).toStatus());
        sink.end();
        return () => undefined;
      }
      const events = this.#store.eventsSince(from);
      if (events === "expired") {
        sink.send("ERROR", statusBody(410, "Expired", `too old resource version: ${from} (${this.#store.compactedRevision})`));
        sink.end();
        return () => undefined;
      }
      for (const event of events) this.#deliver(watch, event);
    }
    this.#watches.add(watch);
    if (request.allowWatchBookmarks === true) {
      const timer = setInterval(() => {
        if (!watch.closed) sink.send("BOOKMARK", this.#bookmark(def));
      }, this.#bookmarkIntervalMs);
      timer.unref();
      watch.timers.push(timer);
    }
    if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
      const timer = setTimeout(() => this.#close(watch, "end"), request.timeoutSeconds * 1000);
      timer.unref();
      watch.timers.push(timer);
    }
    return () => this.#close(watch, "none");
  }

  /** Ends every open watch: `abrupt` destroys the connection (client sees a reset), `graceful` ends it cleanly. */
  dropAll(mode: DropMode = "abrupt"): number {
    const watches = [...this.#watches];
    for (const watch of watches) this.#close(watch, mode === "abrupt" ? "destroy" : "end");
    return watches.length;
  }

  /** Sends a 410 `ERROR` event to every open watch and ends it (what a watcher sees after its revision is compacted). */
  expireAll(): number {
    const watches = [...this.#watches];
    for (const watch of watches) {
      watch.sink.send("ERROR", statusBody(410, "Expired", `too old resource version: (${this.#store.compactedRevision})`));
      this.#close(watch, "end");
    }
    return watches.length;
  }

  #bookmark(def: ResourceDefinition, annotations?: Record<string, string>): JsonObject {
    const metadata: JsonObject = { resourceVersion: String(this.#store.revision) };
    if (annotations !== undefined) metadata["annotations"] = { ...annotations };
    return { kind: def.kind, apiVersion: apiVersionOf(def), metadata };
  }

  #deliver(watch: ActiveWatch, event: StoreEvent): void {
    const request = watch.request;
    if (watch.closed || event.resource !== storageKeyOf(request.def)) return;
    const now = event.type === "DELETED" ? false : matchesSelection(request, event.object);
    const before = event.previous !== undefined && matchesSelection(request, event.previous);
    let type: WatchEventType | undefined;
    let object: KubeObject = event.object;
    if (event.type === "DELETED") {
      if (before) type = "DELETED";
    } else if (now && before) {
      type = "MODIFIED";
    } else if (now) {
      type = "ADDED";
    } else if (before) {
      type = "DELETED";
      object = event.object;
    }
    if (type !== undefined) watch.sink.send(type, presentObject(request.def, object));
  }

  #close(watch: ActiveWatch, how: "end" | "destroy" | "none"): void {
    if (watch.closed) return;
    watch.closed = true;
    this.#watches.delete(watch);
    for (const timer of watch.timers) clearTimeout(timer);
    if (how === "end") watch.sink.end();
    else if (how === "destroy") watch.sink.destroy();
  }
}
