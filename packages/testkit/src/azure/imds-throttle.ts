import type { ClockPort } from "@podid/core";

/** IMDS's documented limits for the Managed Identity category, per VM (instance-metadata-service.md). */
export const IMDS_IDENTITY_LIMITS = { requestsPerSecond: 20, maxConcurrent: 5 } as const;

/** Options of {@link ImdsThrottle}. */
export interface ImdsThrottleOptions {
  /** Requests admitted per rolling second (default 20). */
  readonly requestsPerSecond?: number;
  /** Requests in flight at once (default 5). */
  readonly maxConcurrent?: number;
}

/** The outcome of {@link ImdsThrottle.tryEnter}. */
export type ImdsAdmission =
  | { readonly admitted: true; readonly release: () => void }
  | { readonly admitted: false; readonly reason: "rate" | "concurrency" };

/**
 * IMDS's per-VM throttle: at most `requestsPerSecond` admitted requests in any rolling 1 s window and
 * at most `maxConcurrent` in flight; anything beyond is refused (IMDS answers 429). Refused requests do
 * not use up the window, so a client that backs off gets through again after a second.
 */
export class ImdsThrottle {
  readonly #clock: ClockPort;
  readonly #rate: number;
  readonly #concurrent: number;
  readonly #admittedAt: number[] = [];
  #inFlight = 0;

  /** Creates a throttle reading time from `clock`. */
  constructor(clock: ClockPort, options: ImdsThrottleOptions = {}) {
    this.#clock = clock;
    this.#rate = options.requestsPerSecond ?? IMDS_IDENTITY_LIMITS.requestsPerSecond;
    this.#concurrent = options.maxConcurrent ?? IMDS_IDENTITY_LIMITS.maxConcurrent;
  }

  /** Requests currently admitted and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Admits a request (call `release` exactly once when it is answered) or says why not. */
  tryEnter(): ImdsAdmission {
    const now = this.#clock.now();
    while (this.#admittedAt.length > 0 && (this.#admittedAt[0] ?? 0) <= now - 1000) this.#admittedAt.shift();
    if (this.#inFlight >= this.#concurrent) return { admitted: false, reason: "concurrency" };
    if (this.#admittedAt.length >= this.#rate) return { admitted: false, reason: "rate" };
    this.#admittedAt.push(now);
    this.#inFlight++;
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
      },
    };
  }
}
