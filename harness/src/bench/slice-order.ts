/**
 * The order in which `bench:nmi` runs its variants in each one-second slice: the rows of a Williams design
 * (a Latin square balanced for first-order carry-over), so that over a full set of rows every variant runs in
 * every position and right after every other variant equally often: whatever one server leaves behind on the
 * CPU (caches, a collection finishing after its load stopped) falls on every other one alike. A plain rotation
 * keeps each variant's predecessor the same. (The same NMI measured in the candidate's place reads 6–20 % dearer
 * under either order: that bias is the place's, not the order's; docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, third addendum.)
 * @packageDocumentation
 */

/**
 * The rows of a Williams design for `n` items (0 … n − 1): n rows when n is even, 2n (each row and its
 * reverse) when n is odd. Row r starts from the sequence 0, 1, n − 1, 2, n − 2, … shifted by r.
 */
export function williamsRows(n: number): number[][] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`williamsRows: n must be a whole number ≥ 1, got ${String(n)}`);
  // 0, then 1, n − 1, 2, n − 2, … alternately from the bottom and the top.
  const base = [0];
  for (let i = 0; base.length < n; i++) base.push(i % 2 === 0 ? Math.floor(i / 2) + 1 : n - 1 - Math.floor(i / 2));
  const rows = Array.from({ length: n }, (_, r) => base.map((v) => (v + r) % n));
  return n % 2 === 0 ? rows : [...rows, ...rows.map((row) => [...row].reverse())];
}

/** The variants in the order slice `slice` runs them (the design's rows in turn). */
export function sliceOrder<T>(variants: readonly T[], slice: number): T[] {
  const rows = williamsRows(variants.length);
  const row = rows[slice % rows.length] ?? [];
  return row.map((i) => variants[i] as T);
}
