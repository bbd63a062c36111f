import type { EventRecorderPort, InvolvedObject, LoggerPort, MetricsPort } from "@podid/core";
import { callKube } from "../client/kube-call.js";
import type { KubeClient } from "../client/kube-client.js";
import type { KubeHttpRequest } from "../client/kube-http.js";
import { silentLogger } from "../support/silent-logger.js";
import { EventCorrelator, type CorrelatedEvent, type EventCorrelatorOptions } from "./event-correlator.js";

/** `source.component` of every Event, as the original's recorder (`aadpodidentity.k8s.io`). */
export const EVENT_SOURCE_COMPONENT = "aadpodidentity.k8s.io";
/** Messages longer than this are cut (events.k8s.io caps notes at 1 kB; core/v1 readers expect short text). */
export const MAX_EVENT_MESSAGE_LENGTH = 1024;

/**
 * Event writes that may wait for the client's rate limit at once; more are dropped. client-go's broadcaster
 * keeps the same bound (`maxQueuedEvents`, 1000) and drops what does not fit.
 */
export const DEFAULT_MAX_QUEUED_EVENTS = 1000;
/** Event writes in flight at once: Events wait behind all other requests, so a few suffice. */
const DEFAULT_EVENT_WRITERS = 4;
/** A full queue is logged at most once per this time (the drop counter shows every drop). */
const DEFAULT_DROP_LOG_INTERVAL_MS = 60_000;

/** Settings of a {@link KubeEventRecorder}. */
export interface KubeEventRecorderOptions extends EventCorrelatorOptions {
  readonly client: KubeClient;
  readonly logger?: LoggerPort;
  /** `source.host` / `reportingInstance` (e.g. the pod or node name). */
  readonly host?: string;
  readonly component?: string;
  /** Events waiting to be written, at most (default {@link DEFAULT_MAX_QUEUED_EVENTS}); a new one beyond is dropped. */
  readonly maxQueuedEvents?: number;
  /** Event writes in flight at once (default 4). */
  readonly maxConcurrentWrites?: number;
  /** Where drops are counted: the counter `droppedMetric` on `metrics` (e.g. MIC's `podid_mic_events_dropped_total`). */
  readonly metrics?: { readonly port: MetricsPort; readonly droppedMetric: string };
  /** Drops are logged at most once per this time (default 60 s). */
  readonly dropLogIntervalMs?: number;
}

/** What a {@link KubeEventRecorder} did so far. */
export interface KubeEventRecorderStats {
  /** Creates and PATCHes sent (each took a rate-limit token). */
  readonly writes: number;
  /** Events not written because the queue was full. */
  readonly dropped: number;
  /** Events waiting for a writer now. */
  readonly queued: number;
}

interface Pending {
  /** The newest state to write; later records replace it until the write's token arrives. */
  event: CorrelatedEvent;
  readonly object: InvolvedObject;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  created: boolean;
  /** A state not written yet: set by `record`, cleared when a request body is built from it. */
  dirty: boolean;
}

/** The core/v1 Events collection of `namespace`. */
function eventsPath(namespace: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
}

function truncate(message: string): string {
  return message.length <= MAX_EVENT_MESSAGE_LENGTH ? message : `${message.slice(0, MAX_EVENT_MESSAGE_LENGTH - 3)}...`;
}

/**
 * core's {@link EventRecorderPort} writing core/v1 Events (`involvedObject`, reason, message, type,
 * `source.component: aadpodidentity.k8s.io` like the original; reasons such as `binding applied`,
 * `binding apply error`, `binding removed`, `binding remove error` come from the callers). Repeats
 * within the window are aggregated into the `count` of one Event, similar messages into one combined
 * Event, and each object's Events pass a spam budget ({@link EventCorrelator}).
 *
 * Events are written at the lowest priority of the client's rate limit (`event` requests wait while any
 * other request waits), from a bounded queue: an Event waits there, collecting its repeats, until one
 * of a few writers takes it and a token is left over; a new Event that finds the queue full is dropped,
 * counted and logged (at most once a minute), as client-go's broadcaster drops what exceeds its queue.
 * So a burst of AzureAssignedIdentity writes is never slowed by the Events it causes
 * (docs/adr/0018-mic-memory-and-event-budget.md). `record` never throws and never blocks: failures are
 * logged and dropped, as Events are best-effort everywhere in Kubernetes.
 */
export class KubeEventRecorder implements EventRecorderPort {
  readonly #client: KubeClient;
  readonly #logger: LoggerPort;
  readonly #host: string | undefined;
  readonly #component: string;
  readonly #correlator: EventCorrelator;
  readonly #maxQueued: number;
  readonly #maxWriters: number;
  readonly #metrics: KubeEventRecorderOptions["metrics"];
  readonly #dropLogIntervalMs: number;
  /** The newest Event object per aggregation key that is queued or being written. */
  readonly #pending = new Map<string, Pending>();
  /** Events waiting for a writer, oldest first (a Set keeps insertion order). */
  readonly #queue = new Set<Pending>();
  readonly #running = new Set<Promise<void>>();
  #writers = 0;
  #writes = 0;
  #dropped = 0;
  #droppedUnlogged = 0;
  #lastDropLogMs = Number.NEGATIVE_INFINITY;

  /** A recorder writing through `options.client` at the `event` priority of its rate limit. */
  constructor(options: KubeEventRecorderOptions) {
    this.#client = options.client;
    this.#logger = options.logger ?? silentLogger;
    this.#host = options.host;
    this.#component = options.component ?? EVENT_SOURCE_COMPONENT;
    this.#correlator = new EventCorrelator(options);
    this.#maxQueued = Math.max(1, Math.floor(options.maxQueuedEvents ?? DEFAULT_MAX_QUEUED_EVENTS));
    this.#maxWriters = Math.max(1, Math.floor(options.maxConcurrentWrites ?? DEFAULT_EVENT_WRITERS));
    this.#metrics = options.metrics;
    this.#dropLogIntervalMs = options.dropLogIntervalMs ?? DEFAULT_DROP_LOG_INTERVAL_MS;
  }

  /** Writes sent, Events dropped and Events queued so far. */
  stats(): KubeEventRecorderStats {
    return { writes: this.#writes, dropped: this.#dropped, queued: this.#queue.size };
  }

  /** Queues the Event (or a count bump of an earlier one) and returns at once; never throws. */
  record(object: InvolvedObject, type: "Normal" | "Warning", reason: string, message: string): void {
    try {
      const text = truncate(message);
      const decision = this.#correlator.observe(object, type, reason, text, this.#client.clock.now());
      // Over the object's spam budget: nothing is written (the remembered count still grows, as in client-go).
      if (decision.kind === "skip") return;
      const existing = this.#pending.get(decision.event.key);
      if (existing !== undefined && decision.kind === "increment") {
        // Queued or being written: the write that comes next carries this state.
        existing.event = decision.event;
        existing.dirty = true;
        return;
      }
      if (this.#queue.size >= this.#maxQueued) {
        this.#drop(decision.kind === "create" ? decision.event : undefined, reason);
        return;
      }
      // A new Event object, or a count bump of one written earlier. A new object for a key whose previous
      // object is still being written is queued too: the two are different objects in the API.
      const pending: Pending = { event: decision.event, object, type, reason, created: decision.kind === "increment", dirty: true };
      this.#pending.set(decision.event.key, pending);
      this.#queue.add(pending);
      this.#startWriters();
    } catch (error) {
      this.#logger.warn({ reason, error: String(error) }, "recording an event failed");
    }
  }

  /** Resolves when every Event recorded so far has been written (or given up on). For tests and shutdown. */
  async flush(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /**
   * Counts and (at most once per interval) logs a dropped Event. A dropped new Event is forgotten by the
   * correlator, so its next occurrence creates it instead of patching an object that never existed.
   */
  #drop(created: CorrelatedEvent | undefined, reason: string): void {
    this.#dropped++;
    this.#droppedUnlogged++;
    this.#metrics?.port.increment(this.#metrics.droppedMetric);
    if (created !== undefined) this.#correlator.forget(created.key, created.name);
    const now = this.#client.clock.now();
    if (now - this.#lastDropLogMs < this.#dropLogIntervalMs) return;
    this.#lastDropLogMs = now;
    this.#logger.warn(
      { dropped: this.#droppedUnlogged, droppedTotal: this.#dropped, maxQueuedEvents: this.#maxQueued, reason },
      "event queue full: dropping Events (other API requests go first)",
    );
    this.#droppedUnlogged = 0;
  }

  #startWriters(): void {
    // A writer takes its first Event synchronously, so each one started here has work.
    while (this.#writers < this.#maxWriters && this.#queue.size > 0) {
      this.#writers++;
      this.#track(this.#writer());
    }
  }

  #track(work: Promise<void>): void {
    const guarded = work.catch((error: unknown) => this.#logger.warn({ error: String(error) }, "recording an event failed"));
    this.#running.add(guarded);
    void guarded.finally(() => this.#running.delete(guarded));
  }

  /**
   * Takes the oldest queued Event and writes it until no newer state arrived meanwhile, then the next.
   * The "nothing new" check and the removal from the pending map happen in one synchronous step, so a
   * repeat recorded at any moment is either picked up by this loop or queues a new write — never lost.
   */
  async #writer(): Promise<void> {
    try {
      for (;;) {
        const pending = this.#queue.values().next().value;
        if (pending === undefined) return;
        this.#queue.delete(pending);
        try {
          while (pending.dirty) {
            const before = this.#writes;
            await this.#writeOnce(pending);
            // Nothing was sent (the client failed before building the request): give up rather than spin.
            if (this.#writes === before) break;
          }
        } finally {
          if (this.#pending.get(pending.event.key) === pending) this.#pending.delete(pending.event.key);
        }
      }
    } finally {
      this.#writers--;
    }
  }

  /**
   * One Event request at the `event` priority. The body is built once the token is there, so it carries
   * every repeat recorded while the write waited.
   */
  #send(pending: Pending, build: (event: CorrelatedEvent) => KubeHttpRequest): Promise<unknown> {
    return this.#client.request(
      () => {
        pending.dirty = false;
        this.#writes++;
        return build(pending.event);
      },
      { requestClass: "event" },
    );
  }

  async #writeOnce(pending: Pending): Promise<void> {
    if (pending.created) {
      const patched = await callKube(this.#client.clock, () =>
        this.#send(pending, (event) => ({
          method: "PATCH",
          path: `${eventsPath(event.namespace)}/${encodeURIComponent(event.name)}`,
          body: { count: event.count, message: event.message, lastTimestamp: new Date(event.lastTimestampMs).toISOString() },
          contentType: "application/merge-patch+json",
        })),
      );
      const { event } = pending;
      if (patched.ok) return;
      if (patched.error.kind !== "notFound") {
        this.#logger.warn({ event: event.name, namespace: event.namespace, error: patched.error.kind, message: patched.error.message }, "updating an event failed");
        return;
      }
      // The Event expired (the API server keeps them about an hour): write it again under a new name.
      pending.event = this.#correlator.renamed(event.key, this.#client.clock.now(), pending.object.name) ?? event;
      pending.created = false;
    }
    const created = await callKube(this.#client.clock, () => this.#send(pending, () => ({ method: "POST", path: eventsPath(pending.event.namespace), body: this.#body(pending) })));
    if (created.ok) {
      pending.created = true;
      return;
    }
    this.#logger.warn(
      { event: pending.event.name, namespace: pending.event.namespace, reason: pending.reason, error: created.error.kind, message: created.error.message },
      "creating an event failed",
    );
  }

  #body(pending: Pending): Record<string, unknown> {
    const { event, object } = pending;
    return {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: event.name, namespace: event.namespace },
      involvedObject: {
        kind: object.kind,
        apiVersion: object.apiVersion,
        name: object.name,
        ...(object.namespace !== "" ? { namespace: object.namespace } : {}),
        ...(object.uid !== undefined ? { uid: object.uid } : {}),
        ...(object.resourceVersion !== undefined ? { resourceVersion: object.resourceVersion } : {}),
      },
      reason: pending.reason,
      message: event.message,
      type: pending.type,
      count: event.count,
      firstTimestamp: new Date(event.firstTimestampMs).toISOString(),
      lastTimestamp: new Date(event.lastTimestampMs).toISOString(),
      source: { component: this.#component, ...(this.#host !== undefined ? { host: this.#host } : {}) },
      reportingComponent: this.#component,
      ...(this.#host !== undefined ? { reportingInstance: this.#host } : {}),
    };
  }
}
