/**
 * When each pod of a simulated burst arrives. `bench:mic-real` creates its pods over HTTP, 32 requests at a
 * time in the cluster's pod order, as fast as the fake API server accepts them while MIC runs; how fast that
 * is depends on the machine, so it is measured (the run's creation curve, `burstCurveS`) and replayed here,
 * not derived. A 10,000-pod burst took about 19 s to create: scale sets whose first PATCH started before
 * their last pods existed needed a second one, which a simulation that created every pod at once never saw.
 * @packageDocumentation
 */
import type { ClockPort } from "@podid/core";

/**
 * Virtual ms after the burst's start at which pod `i` of `count` arrives, for pods created in index order
 * along `curveS`: element k is the time (s) by which (k + 1) / `curveS.length` of the pods existed (as
 * `bench:mic-real` records it). Between the points creation is taken as steady (linear), starting at 0 s.
 * Throws on a curve that is empty, negative, not finite or goes back in time (a corrupt result file).
 */
export function arrivalOffsetsMs(count: number, curveS: readonly number[]): number[] {
  if (!Number.isInteger(count) || count < 0) throw new Error(`pod count must be a non-negative integer (got ${count})`);
  if (curveS.length === 0) throw new Error("the burst's creation curve has no points");
  curveS.forEach((t, k) => {
    if (!Number.isFinite(t) || t < 0) throw new Error(`creation curve point ${k} is not a time in seconds (got ${t})`);
    if (k > 0 && t < (curveS[k - 1] ?? 0)) throw new Error(`creation curve goes back in time at point ${k} (${curveS[k - 1]} s → ${t} s)`);
  });
  const points = curveS.length;
  // (pods created, seconds) knots; the bench records a point once ceil((k + 1) · count / points) pods exist.
  const knots: [number, number][] = [[0, 0], ...curveS.map((t, k): [number, number] => [Math.ceil(((k + 1) * count) / points), t])];
  const offsets: number[] = [];
  let segment = 1;
  for (let i = 0; i < count; i++) {
    // Pod i is the (i + 1)-th created.
    const n = i + 1;
    while (segment < knots.length - 1 && (knots[segment]?.[0] ?? 0) < n) segment++;
    const [n0, t0] = knots[segment - 1] ?? [0, 0];
    const [n1, t1] = knots[segment] ?? [n, t0];
    const fraction = n1 === n0 ? 1 : (n - n0) / (n1 - n0);
    offsets.push(Math.round((t0 + fraction * (t1 - t0)) * 1000));
  }
  return offsets;
}

/** Calls `arrive(item)` for each item at `start + offsetsMs[i]` on `clock` (items at offset 0 arrive at once). */
export function scheduleArrivals<T>(clock: ClockPort, items: readonly T[], offsetsMs: readonly number[], arrive: (item: T) => void): void {
  if (offsetsMs.length !== items.length) throw new Error(`${items.length} items but ${offsetsMs.length} arrival times`);
  items.forEach((item, i) => {
    const offset = offsetsMs[i] ?? 0;
    if (offset <= 0) arrive(item);
    else clock.setTimer(offset, () => arrive(item));
  });
}
