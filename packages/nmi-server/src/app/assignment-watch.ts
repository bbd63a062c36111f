import type { AzureAssignedIdentity, ClockPort, PodRef, PodView, ResourceEvent } from "@podid/core";

/**
 * The event-driven wait for an identity that MIC is still assigning. The original polled its AAI cache
 * every 5 s up to 20 times; here a waiting request sleeps until an AzureAssignedIdentity or the pod itself
 * changes (or its remaining budget runs out, or the client goes away) and is then decided again — so it
 * completes as soon as the AAI turns `Assigned`.
 * @packageDocumentation
 */

/** Why a wait ended. */
export type WaitWake = "changed" | "timeout" | "aborted";

interface Waiter {
  readonly namespace: string;
  readonly name: string;
  readonly wake: (why: WaitWake) => void;
}

/**
 * Change notifications for waiting requests. Every relevant event bumps {@link generation}; a request
 * reads the generation before it decides and passes it to {@link wait}, so a change that lands between
 * the decision and the wait is never missed.
 */
export class AssignmentWatch {
  readonly #clock: ClockPort;
  readonly #waiters = new Set<Waiter>();
  #generation = 0;

  /** A watch timing waits on `clock`. */
  constructor(clock: ClockPort) {
    this.#clock = clock;
  }

  /** Increases on every event fed in. */
  get generation(): number {
    return this.#generation;
  }

  /** Requests currently waiting. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Feed an AzureAssignedIdentity event: wakes the waiters of the pod it names (before or after the change). */
  assignedIdentityChanged(event: ResourceEvent<AzureAssignedIdentity>): void {
    this.#generation += 1;
    const names = [event.object, event.previous].filter((o) => o !== undefined).map((o) => [o.spec.podNamespace, o.spec.pod] as const);
    this.#wakeMatching((w) => names.some(([ns, name]) => w.namespace === ns && w.name === name));
  }

  /** Feed a pod event: wakes the waiters of that pod (its labels, phase or existence may have changed). */
  podChanged(event: ResourceEvent<PodView>): void {
    this.#generation += 1;
    const { namespace, name } = event.object.metadata;
    this.#wakeMatching((w) => w.namespace === namespace && w.name === name);
  }

  /**
   * Resolves `changed` at once if anything changed since `sinceGeneration`, otherwise on the next change
   * concerning `pod`; `timeout` after `timeoutMs`; `aborted` when `signal` fires.
   */
  wait(pod: PodRef, sinceGeneration: number, timeoutMs: number, signal: AbortSignal): Promise<WaitWake> {
    if (signal.aborted) return Promise.resolve("aborted");
    if (this.#generation !== sinceGeneration) return Promise.resolve("changed");
    return new Promise<WaitWake>((resolve) => {
      const waiter: Waiter = {
        namespace: pod.namespace,
        name: pod.name,
        wake: (why) => {
          if (!this.#waiters.delete(waiter)) return;
          timer.cancel();
          signal.removeEventListener("abort", onAbort);
          resolve(why);
        },
      };
      const onAbort = (): void => waiter.wake("aborted");
      const timer = this.#clock.setTimer(Math.max(0, timeoutMs), () => waiter.wake("timeout"));
      this.#waiters.add(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  #wakeMatching(matches: (w: Waiter) => boolean): void {
    for (const waiter of [...this.#waiters]) if (matches(waiter)) waiter.wake("changed");
  }
}
