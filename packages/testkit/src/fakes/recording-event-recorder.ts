import type { ClockPort, EventRecorderPort, InvolvedObject } from "@podid/core";

/** One recorded Kubernetes Event. */
export interface RecordedEvent {
  readonly seq: number;
  readonly object: InvolvedObject;
  readonly type: "Normal" | "Warning";
  readonly reason: string;
  readonly message: string;
  /** Clock time (when a clock was given). */
  readonly atMs?: number;
}

/** What {@link RecordingEventRecorder.find} can filter on; every given field must match. */
export interface EventQuery {
  readonly type?: "Normal" | "Warning";
  readonly reason?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
  /** Substring (string) or pattern the message must contain/match. */
  readonly message?: string | RegExp;
}

/** An {@link EventRecorderPort} that keeps every Event in memory for assertions. */
export class RecordingEventRecorder implements EventRecorderPort {
  readonly #events: RecordedEvent[] = [];
  readonly #clock: Pick<ClockPort, "now"> | undefined;

  /** Creates a recorder; `clock` stamps events with `atMs`. */
  constructor(options: { readonly clock?: Pick<ClockPort, "now"> } = {}) {
    this.#clock = options.clock;
  }

  /** Records one Event. */
  record(object: InvolvedObject, type: "Normal" | "Warning", reason: string, message: string): void {
    const at = this.#clock?.now();
    this.#events.push({ seq: this.#events.length + 1, object, type, reason, message, ...(at !== undefined ? { atMs: at } : {}) });
  }

  /** Every Event so far, oldest first. */
  get events(): readonly RecordedEvent[] {
    return this.#events;
  }

  /** Events matching every field of `query`. */
  find(query: EventQuery = {}): readonly RecordedEvent[] {
    return this.#events.filter(
      (e) =>
        (query.type === undefined || e.type === query.type) &&
        (query.reason === undefined || e.reason === query.reason) &&
        (query.kind === undefined || e.object.kind === query.kind) &&
        (query.namespace === undefined || e.object.namespace === query.namespace) &&
        (query.name === undefined || e.object.name === query.name) &&
        (query.message === undefined ||
          (typeof query.message === "string" ? e.message.includes(query.message) : query.message.test(e.message))),
    );
  }

  /** How many Events match `query`. */
  count(query: EventQuery = {}): number {
    return this.find(query).length;
  }

  /** Forgets every Event. */
  clear(): void {
    this.#events.length = 0;
  }
}
