import type { EventRecorderPort, InvolvedObject, LoggerPort } from "@podid/core";
import { callKube } from "../client/kube-call.js";
import type { KubeClient } from "../client/kube-client.js";
import { silentLogger } from "../support/silent-logger.js";
import { EventCorrelator, type CorrelatedEvent, type EventCorrelatorOptions } from "./event-correlator.js";

/** `source.component` of every Event, as the original's recorder (`aadpodidentity.k8s.io`). */
export const EVENT_SOURCE_COMPONENT = "aadpodidentity.k8s.io";
/** Messages longer than this are cut (events.k8s.io caps notes at 1 kB; core/v1 readers expect short text). */
export const MAX_EVENT_MESSAGE_LENGTH = 1024;

/** Settings of a {@link KubeEventRecorder}. */
export interface KubeEventRecorderOptions extends EventCorrelatorOptions {
  readonly client: KubeClient;
  readonly logger?: LoggerPort;
  /** `source.host` / `reportingInstance` (e.g. the pod or node name). */
  readonly host?: string;
  readonly component?: string;
}

interface Pending {
  /** The newest state to write; later records replace it while a write is running. */
  event: CorrelatedEvent;
  readonly object: InvolvedObject;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  created: boolean;
  dirty: boolean;
  running: Promise<void> | undefined;
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
 * Event, and each object's Events pass a spam budget ({@link EventCorrelator}); writes
 * for one Event are serialised and coalesced, so a burst of repeats costs one create and at most a
 * few patches. `record` never throws and never blocks: failures are logged and dropped, as Events are
 * best-effort everywhere in Kubernetes.
 */
export class KubeEventRecorder implements EventRecorderPort {
  readonly #client: KubeClient;
  readonly #logger: LoggerPort;
  readonly #host: string | undefined;
  readonly #component: string;
  readonly #correlator: EventCorrelator;
  readonly #pending = new Map<string, Pending>();
  readonly #running = new Set<Promise<void>>();

  /** A recorder writing through `options.client` (rate limit and write concurrency bound apply). */
  constructor(options: KubeEventRecorderOptions) {
    this.#client = options.client;
    this.#logger = options.logger ?? silentLogger;
    this.#host = options.host;
    this.#component = options.component ?? EVENT_SOURCE_COMPONENT;
    this.#correlator = new EventCorrelator(options);
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
        existing.event = decision.event;
        existing.dirty = true;
        return;
      }
      const pending: Pending = {
        event: decision.event,
        object,
        type,
        reason,
        created: decision.kind === "increment",
        dirty: true,
        running: undefined,
      };
      if (existing !== undefined) {
        // A new Event object for the same key while the old one is still being written: queue behind it.
        const previous = existing.running ?? Promise.resolve();
        this.#pending.set(decision.event.key, pending);
        this.#track(previous.then(() => this.#drain(pending)));
        return;
      }
      this.#pending.set(decision.event.key, pending);
      this.#track(this.#drain(pending));
    } catch (error) {
      this.#logger.warn({ reason, error: String(error) }, "recording an event failed");
    }
  }

  /** Resolves when every Event recorded so far has been written (or given up on). For tests and shutdown. */
  async flush(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  #track(work: Promise<void>): void {
    const guarded = work.catch((error: unknown) => this.#logger.warn({ error: String(error) }, "recording an event failed"));
    this.#running.add(guarded);
    void guarded.finally(() => this.#running.delete(guarded));
  }

  /**
   * Writes `pending` until no newer state arrived meanwhile. The "nothing new" check and the removal
   * from the pending map happen in one synchronous step, so a repeat recorded at any moment is either
   * picked up by this loop or starts a new one — never lost.
   */
  #drain(pending: Pending): Promise<void> {
    if (pending.running !== undefined) return pending.running;
    const run = (async () => {
      for (;;) {
        if (!pending.dirty) {
          if (this.#pending.get(pending.event.key) === pending) this.#pending.delete(pending.event.key);
          pending.running = undefined;
          return;
        }
        pending.dirty = false;
        await this.#client.writeLimiter.run(() => this.#writeOnce(pending));
      }
    })();
    pending.running = run;
    return run;
  }

  async #writeOnce(pending: Pending): Promise<void> {
    const { event } = pending;
    if (pending.created) {
      const patched = await callKube(this.#client.clock, () =>
        this.#client.request({
          method: "PATCH",
          path: `${eventsPath(event.namespace)}/${encodeURIComponent(event.name)}`,
          body: { count: event.count, message: event.message, lastTimestamp: new Date(event.lastTimestampMs).toISOString() },
          contentType: "application/merge-patch+json",
        }),
      );
      if (patched.ok) return;
      if (patched.error.kind !== "notFound") {
        this.#logger.warn({ event: event.name, namespace: event.namespace, error: patched.error.kind, message: patched.error.message }, "updating an event failed");
        return;
      }
      // The Event expired (the API server keeps them about an hour): write it again under a new name.
      pending.event = this.#correlator.renamed(event.key, this.#client.clock.now(), pending.object.name) ?? event;
      pending.created = false;
    }
    const body = this.#body(pending);
    const created = await callKube(this.#client.clock, () => this.#client.request({ method: "POST", path: eventsPath(pending.event.namespace), body }));
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
