import type { InvolvedObject } from "@podid/core";

/** One aggregated Event as the correlator tracks it. */
export interface CorrelatedEvent {
  /** Aggregation key: object, type, reason and message (or object, type and reason for a combined Event). */
  readonly key: string;
  /** Name of the Event object in the API. */
  readonly name: string;
  /** Namespace of the Event object (the involved object's, or `default` for cluster-scoped objects). */
  readonly namespace: string;
  /** The text to write: the recorded message, or {@link COMBINED_MESSAGE_PREFIX} and the newest message. */
  readonly message: string;
  readonly count: number;
  readonly firstTimestampMs: number;
  readonly lastTimestampMs: number;
}

/** What to write for one recorded Event. */
export type CorrelationDecision =
  /** A new Event object (first occurrence, or the previous one is older than the window). */
  | { readonly kind: "create"; readonly event: CorrelatedEvent }
  /** A repeat within the window: bump `count`, `lastTimestamp` and `message` of the existing Event object. */
  | { readonly kind: "increment"; readonly event: CorrelatedEvent }
  /**
   * The involved object's spam budget is spent: write nothing. `event` is the state the correlator now
   * remembers (its count includes this occurrence, so a later write carries it).
   */
  | { readonly kind: "skip"; readonly event: CorrelatedEvent };

/** Settings of {@link EventCorrelator}; every default is client-go's. */
export interface EventCorrelatorOptions {
  /** Repeats within this time of the last occurrence are counted on the same Event (default 10 min). */
  readonly windowMs?: number;
  /** Remembered Events, similar-message groups and spam buckets, each (least recently seen forgotten first; default 4096). */
  readonly maxEntries?: number;
  /** The n-th distinct message of the same object, type and reason within the window goes to one combined Event (default 10). */
  readonly maxSimilarMessages?: number;
  /** Events about one object that may be written at once (default 25). */
  readonly spamBurst?: number;
  /** One more Event about an object may be written per this time (default 5 min). */
  readonly spamRefillMs?: number;
}

/** Message prefix of an Event that stands for many similar ones (client-go's wording, which tools grep for). */
export const COMBINED_MESSAGE_PREFIX = "(combined from similar events): ";

/** Namespace an Event about `object` lives in: its own, or `default` for cluster-scoped objects such as nodes. */
export function eventNamespace(object: InvolvedObject): string {
  return object.namespace === "" ? "default" : object.namespace;
}

/** The aggregation key: repeats of the same type, reason and message about the same object instance. */
export function eventKey(object: InvolvedObject, type: string, reason: string, message: string): string {
  return JSON.stringify([object.apiVersion, object.kind, object.namespace, object.name, object.uid ?? "", type, reason, message]);
}

/** The key of similar Events: same object instance, type and reason, any message. */
export function similarEventKey(object: InvolvedObject, type: string, reason: string): string {
  return JSON.stringify([object.apiVersion, object.kind, object.namespace, object.name, object.uid ?? "", type, reason]);
}

/** The spam key: one budget per involved object instance (the source is the recorder's own, so it is constant). */
function spamKey(object: InvolvedObject): string {
  return JSON.stringify([object.apiVersion, object.kind, object.namespace, object.name, object.uid ?? ""]);
}

interface SimilarGroup {
  /** Distinct messages seen, oldest first (a Set keeps insertion order). */
  readonly messages: Set<string>;
  lastMs: number;
}

interface SpamBucket {
  tokens: number;
  lastMs: number;
}

/** `map.get` that also marks the entry most recently used (Maps iterate in insertion order). */
function touch<V>(map: Map<string, V>, key: string): V | undefined {
  const value = map.get(key);
  if (value !== undefined) {
    map.delete(key);
    map.set(key, value);
  }
  return value;
}

function remember<V>(map: Map<string, V>, key: string, value: V, maxEntries: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > maxEntries) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}

/**
 * Decides what to write for each recorded Event, like client-go's `EventCorrelator`, in its order:
 *
 * 1. **similar messages**: once the 10th distinct message about the same object, type and reason arrives
 *    within 10 min of the previous one, it and later ones go to a single Event whose message is
 *    {@link COMBINED_MESSAGE_PREFIX} plus the newest message. MIC writes `binding applied` with the pod
 *    name in the message, so a binding used by 2,000 pods would otherwise cost 2,000 Event creates;
 * 2. **repeats**: the same Event key seen again within `windowMs` of its last occurrence increments the
 *    `count` of the existing Event instead of creating another object (MIC re-reports the same
 *    `binding apply error` every cycle while ARM keeps failing);
 * 3. **spam filter**: each involved object has a token bucket (25 tokens, one more per 5 min); an
 *    occurrence finding it empty is not written at all.
 *
 * Pure: time comes in as `nowMs`; memory is bounded by `maxEntries` per table. See docs/compatibility.md (Events).
 */
export class EventCorrelator {
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #maxSimilar: number;
  readonly #spamBurst: number;
  readonly #spamRefillMs: number;
  readonly #entries = new Map<string, CorrelatedEvent>();
  readonly #similar = new Map<string, SimilarGroup>();
  readonly #spam = new Map<string, SpamBucket>();
  #sequence = 0;

  /** A correlator with client-go's defaults unless `options` say otherwise. */
  constructor(options: EventCorrelatorOptions = {}) {
    this.#windowMs = options.windowMs ?? 10 * 60_000;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 4096);
    this.#maxSimilar = Math.max(1, options.maxSimilarMessages ?? 10);
    this.#spamBurst = Math.max(1, options.spamBurst ?? 25);
    this.#spamRefillMs = Math.max(1, options.spamRefillMs ?? 5 * 60_000);
  }

  /** Events currently remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** Records one occurrence at `nowMs` and says what to write. */
  observe(object: InvolvedObject, type: string, reason: string, message: string, nowMs: number): CorrelationDecision {
    const { key, text } = this.#aggregate(object, type, reason, message, nowMs);
    const previous = this.#entries.get(key);
    let event: CorrelatedEvent;
    let kind: "create" | "increment";
    if (previous !== undefined && nowMs - previous.lastTimestampMs <= this.#windowMs) {
      kind = "increment";
      event = { ...previous, message: text, count: previous.count + 1, lastTimestampMs: Math.max(nowMs, previous.lastTimestampMs) };
    } else {
      kind = "create";
      event = { key, name: this.#eventName(object.name, nowMs), namespace: eventNamespace(object), message: text, count: 1, firstTimestampMs: nowMs, lastTimestampMs: nowMs };
    }
    remember(this.#entries, key, event, this.#maxEntries);
    return this.#allowed(object, nowMs) ? { kind, event } : { kind: "skip", event };
  }

  /** Replaces the remembered state of an Event (e.g. after it had to be re-created under a new name). */
  renamed(key: string, nowMs: number, objectName: string): CorrelatedEvent | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    const next = { ...entry, name: this.#eventName(objectName, nowMs) };
    this.#entries.set(key, next);
    return next;
  }

  /**
   * Forgets the Event `key` if it is still the object named `name` (one that was never written, e.g.
   * dropped), so its next occurrence creates it rather than counting on an object the API never saw.
   */
  forget(key: string, name: string): void {
    if (this.#entries.get(key)?.name === name) this.#entries.delete(key);
  }

  /** The remembered state of an Event. */
  get(key: string): CorrelatedEvent | undefined {
    return this.#entries.get(key);
  }

  /** Step 1: the Event key and text, switching to the combined Event once too many distinct messages arrived. */
  #aggregate(object: InvolvedObject, type: string, reason: string, message: string, nowMs: number): { key: string; text: string } {
    const similarKey = similarEventKey(object, type, reason);
    let group = touch(this.#similar, similarKey);
    if (group === undefined || nowMs - group.lastMs > this.#windowMs) group = { messages: new Set(), lastMs: nowMs };
    group.messages.add(message);
    group.lastMs = Math.max(group.lastMs, nowMs);
    remember(this.#similar, similarKey, group, this.#maxEntries);
    if (group.messages.size < this.#maxSimilar) return { key: eventKey(object, type, reason, message), text: message };
    // Keep the set from growing (client-go drops an arbitrary one; the oldest keeps this deterministic).
    const oldest = group.messages.values().next().value;
    if (oldest !== undefined) group.messages.delete(oldest);
    return { key: similarKey, text: `${COMBINED_MESSAGE_PREFIX}${message}` };
  }

  /** Step 3: takes a token from the object's bucket, refilled continuously up to the burst. */
  #allowed(object: InvolvedObject, nowMs: number): boolean {
    const key = spamKey(object);
    const bucket = touch(this.#spam, key) ?? { tokens: this.#spamBurst, lastMs: nowMs };
    bucket.tokens = Math.min(this.#spamBurst, bucket.tokens + Math.max(0, nowMs - bucket.lastMs) / this.#spamRefillMs);
    bucket.lastMs = Math.max(bucket.lastMs, nowMs);
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    remember(this.#spam, key, bucket, this.#maxEntries);
    return allowed;
  }

  /** `<object name>.<hex nanoseconds>` as client-go names Events, with a sequence added so names are unique per recorder. */
  #eventName(objectName: string, nowMs: number): string {
    const nanos = BigInt(Math.max(0, Math.floor(nowMs))) * 1_000_000n + BigInt(this.#sequence++ % 1_000_000);
    return `${objectName}.${nanos.toString(16)}`;
  }
}
