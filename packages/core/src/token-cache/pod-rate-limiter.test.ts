import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { PodRateLimiterState } from "./pod-rate-limiter.js";
import { allowPodRequest, createPodRateLimiter, forgetPod, prunePodBuckets } from "./pod-rate-limiter.js";

const T0 = 1_700_000_000_000;

describe("per-pod rate limiter: documented cases", () => {
  it("lets a pod burst, then meters it, without touching other pods", () => {
    let s = createPodRateLimiter({ ratePerSecond: 5, burst: 3 });
    for (let i = 0; i < 3; i++) {
      const step = allowPodRequest(s, "pod-a", T0);
      expect(step.decision).toEqual({ kind: "allow" });
      s = step.state;
    }
    const denied = allowPodRequest(s, "pod-a", T0);
    expect(denied.decision).toEqual({ kind: "deny", retryAfterMs: 200 });
    expect(allowPodRequest(denied.state, "pod-b", T0).decision).toEqual({ kind: "allow" });
    expect(allowPodRequest(denied.state, "pod-a", T0 + 200).decision).toEqual({ kind: "allow" });
  });

  it("forgets pods and prunes full buckets", () => {
    let s = createPodRateLimiter({ ratePerSecond: 1, burst: 2 });
    s = allowPodRequest(s, "a", T0).state;
    s = allowPodRequest(s, "b", T0).state;
    expect(forgetPod(s, "a").buckets.has("a")).toBe(false);
    expect(prunePodBuckets(s, T0 + 999).buckets.size).toBe(2);
    expect(prunePodBuckets(s, T0 + 1_000).buckets.size).toBe(0);
  });
});

describe("per-pod rate limiter: properties", () => {
  const scenario = fc.record({
    ratePerSecond: fc.integer({ min: 1, max: 50 }),
    burst: fc.integer({ min: 1, max: 20 }),
    requests: fc.array(fc.record({ pod: fc.constantFrom("a", "b", "c"), dt: fc.integer({ min: -50, max: 400 }), prune: fc.boolean() }), {
      maxLength: 150,
      size: "medium",
    }),
  });

  it("allows at most burst + rate × W per pod in any window W, and a retry after retryAfterMs succeeds", () => {
    fc.assert(
      fc.property(scenario, ({ ratePerSecond, burst, requests }) => {
        let s: PodRateLimiterState = createPodRateLimiter({ ratePerSecond, burst });
        let now = T0;
        const allowed = new Map<string, number[]>();
        // The clock steps backwards too; a hiccup must not mint tokens, so a pod's requests are
        // measured on its own latest-seen time (what its bucket uses).
        const latest = new Map<string, number>();
        for (const r of requests) {
          now = Math.max(T0, now + r.dt);
          const at = Math.max(now, latest.get(r.pod) ?? now);
          latest.set(r.pod, at);
          const step = allowPodRequest(s, r.pod, now);
          s = step.state;
          if (step.decision.kind === "allow") allowed.set(r.pod, [...(allowed.get(r.pod) ?? []), at]);
          else expect(allowPodRequest(s, r.pod, now + step.decision.retryAfterMs).decision).toEqual({ kind: "allow" });
        }
        for (const times of allowed.values()) {
          const sorted = [...times].sort((x, y) => x - y);
          const violations: string[] = [];
          for (let i = 0; i < sorted.length; i++) {
            for (let j = i; j < sorted.length; j++) {
              const width = (sorted[j] ?? 0) - (sorted[i] ?? 0);
              if (j - i + 1 > burst + Math.floor((width * ratePerSecond) / 1000 + 1e-6)) violations.push(`${j - i + 1} in ${width} ms`);
            }
          }
          expect(violations).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("pruning never changes a decision", () => {
    fc.assert(
      fc.property(scenario, ({ ratePerSecond, burst, requests }) => {
        let plain = createPodRateLimiter({ ratePerSecond, burst });
        let pruned = plain;
        let now = T0;
        for (const r of requests) {
          now += Math.max(0, r.dt);
          if (r.prune) pruned = prunePodBuckets(pruned, now);
          const a = allowPodRequest(plain, r.pod, now);
          const b = allowPodRequest(pruned, r.pod, now);
          expect(b.decision).toEqual(a.decision);
          plain = a.state;
          pruned = b.state;
        }
      }),
      { numRuns: 200 },
    );
  });
});
