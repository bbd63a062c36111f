import {
  allowPodRequest,
  createPodRateLimiter,
  forgetPod,
  prunePodBuckets,
  type ClockPort,
  type PodRateDecision,
  type PodRateLimiterConfig,
  type PodRateLimiterState,
} from "@podid/core";

/**
 * Per-pod fairness in front of the token path (peers §6 item 8): core's token bucket per pod UID, so one
 * noisy or crash-looping pod gets 429 + `Retry-After` instead of starving the node's other pods.
 * @packageDocumentation
 */

/** Buckets are pruned every this many requests, bounding memory to recently active pods. */
const PRUNE_EVERY = 4096;

/** The stateful holder of core's pod limiter; `false` config turns limiting off. */
export class PodRateGate {
  #state: PodRateLimiterState | undefined;
  readonly #clock: ClockPort;
  #requests = 0;

  /** A gate with core's defaults overridden by `config`, or a gate that always allows (`false`). */
  constructor(clock: ClockPort, config: Partial<PodRateLimiterConfig> | false = {}) {
    this.#clock = clock;
    this.#state = config === false ? undefined : createPodRateLimiter(config);
  }

  /** Takes one request from the bucket of the pod with UID `podUid`. */
  allow(podUid: string): PodRateDecision {
    if (this.#state === undefined) return { kind: "allow" };
    const now = this.#clock.now();
    if (++this.#requests % PRUNE_EVERY === 0) this.#state = prunePodBuckets(this.#state, now);
    const step = allowPodRequest(this.#state, podUid, now);
    this.#state = step.state;
    return step.decision;
  }

  /** Forgets a deleted pod's bucket. */
  forget(podUid: string): void {
    if (this.#state !== undefined) this.#state = forgetPod(this.#state, podUid);
  }
}
