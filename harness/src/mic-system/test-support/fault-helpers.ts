import type { FakeArmFault } from "@podid/testkit";
import type { SystemWorld } from "./system-world.js";

/** Identities `team-0..n-1`, each with a binding selecting the pod label `team-i`. */
export function teams(w: SystemWorld, n: number): void {
  for (let i = 0; i < n; i++) {
    w.identity(`team-${i}`);
    w.binding(`team-${i}-binding`, `team-${i}`, `team-${i}`);
  }
}

/** ARM's 429 answer (`TooManyRequests` for one resource, `SubscriptionRequestsThrottled` for the subscription). */
export function throttled(code: string, seconds: number): FakeArmFault {
  return {
    status: 429,
    code,
    message: `The request is being throttled as the limit has been reached for operation type - ${code}. Retry after ${seconds} seconds.`,
    headers: { "retry-after": String(seconds) },
  };
}

/** A small deterministic PRNG (mulberry32), so a failing random run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
