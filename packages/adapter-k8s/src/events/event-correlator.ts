import type { InvolvedObject } from "@podid/core";

/** One aggregated Event as the correlator tracks it. */
export interface CorrelatedEvent {
  /** Aggregation key: object, type, reason and message. */
  readonly key: string;
  /** Name of the Event object in the API. */
  readonly name: string;
  /** Namespace of the Event object (the involved object's, or `default` for cluster-scoped objects). */
  readonly namespace: string;
  readonly count: number;
  readonly firstTimestampMs: number;
  readonly lastTimestampMs: number;
}

/** What to write for one recorded Event. */
export type CorrelationDecision =
  /** A new Event object (first occurrence, or the previous one is older than the window). */
  | { readonly kind: "create"; readonly event: CorrelatedEvent }
  /** A repeat within the window: bump `count` and `lastTimestamp` of the existing Event object. */
  | { readonly kind: "increment"; readonly event: CorrelatedEvent };

/** Settings of {@link EventCorrelator}. */
export interface EventCorrelatorOptions {
  /** Repeats within this time of the last occurrence are counted on the same Event (default 10 min, as client-go). */
  readonly windowMs?: number;
  /** Remembered Events (least recently seen forgotten first; default 4096, as client-go's cache). */
  readonly maxEntries?: number;
}

/** Namespace an Event about `object` lives in: its own, or `default` for cluster-scoped objects such as nodes. */
export function eventNamespace(object: InvolvedObject): string {
  return object.namespace === "" ? "default" : object.namespace;
}

/** The aggregation key: repeats of the same type, reason and message about the same object instance. */
export function eventKey(object: InvolvedObject, type: string, reason: string, message: string): string {
  return JSON.stringify([object.apiVersion, object.kind, object.namespace, object.name, object.uid ?? "", type, reason, message]);
}

/**
 * Decides between a new Event and a count bump, like client-go's `EventCorrelator`: the same
 * (object, type, reason, message) seen again within `windowMs` of its last occurrence increments the
 * `count` of the existing Event instead of creating another object. MIC re-reports the same
 * `binding apply error` every cycle while ARM keeps failing; without aggregation that is one new Event
 * per cycle per binding.
 */
export class EventCorrelator {
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, CorrelatedEvent>();
  #sequence = 0;

  /** A correlator with `options.windowMs` (10 min) and `options.maxEntries` (4096). */
  constructor(options: EventCorrelatorOptions = {}) {
    this.#windowMs = options.windowMs ?? 10 * 60_000;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 4096);
  }

  /** Events currently remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** Records one occurrence at `nowMs` and says what to write. */
  observe(object: InvolvedObject, type: string, reason: string, message: string, nowMs: number): CorrelationDecision {
    const key = eventKey(object, type, reason, message);
    const previous = this.#entries.get(key);
    this.#entries.delete(key);
    let decision: CorrelationDecision;
    if (previous !== undefined && nowMs - previous.lastTimestampMs <= this.#windowMs) {
      decision = { kind: "increment", event: { ...previous, count: previous.count + 1, lastTimestampMs: Math.max(nowMs, previous.lastTimestampMs) } };
    } else {
      decision = {
        kind: "create",
        event: { key, name: this.#eventName(object.name, nowMs), namespace: eventNamespace(object), count: 1, firstTimestampMs: nowMs, lastTimestampMs: nowMs },
      };
    }
    this.#entries.set(key, decision.event);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return decision;
  }

  /** Replaces the remembered state of an Event (e.g. after it had to be re-created under a new name). */
  renamed(key: string, nowMs: number, objectName: string): CorrelatedEvent | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const next = { ...entry, name: this.#eventName(objectName, nowMs) };
    this.#entries.set(key, next);
    return next;
  }

  /** The remembered state of an Event. */
  get(key: string): CorrelatedEvent | undefined {
    return this.#entries.get(key);
  }

  /** `<object name>.<hex nanoseconds>` as client-go names Events, with a sequence added so names are unique per recorder. */
  #eventName(objectName: string, nowMs: number): string {
    const nanos = BigInt(Math.max(0, Math.floor(nowMs))) * 1_000_000n + BigInt(this.#sequence++ % 1_000_000);
    return `${objectName}.${nanos.toString(16)}`;
  }
}
