/**
 * wrk's latencies as a histogram of logarithmic buckets, so that the one-second slices of a `bench:nmi` round
 * add up to one distribution and the round's p99 is its own (to within one bucket, 1 %), not the worst or the
 * median of its slices' p99s. Bucket b holds latencies in [BASE^b, BASE^(b+1)) µs.
 * @packageDocumentation
 */

/** Ratio between a bucket's upper and lower edges (1 % wide buckets). */
export const HISTOGRAM_BASE = 1.01;

/**
 * Lua for wrk's `done(summary, latency, requests)`: walks wrk's recorded latencies (`latency(i)` gives the i-th
 * distinct value in µs and how often it occurred) and prints one `HIST {"<bucket>":<count>,…}` line.
 */
export const WRK_HISTOGRAM_LUA = `local hist = {}
  for i = 1, #latency do
    local v, c = latency(i)
    local b = math.floor(math.log(math.max(v, 1)) / math.log(${String(HISTOGRAM_BASE)}))
    hist[b] = (hist[b] or 0) + c
  end
  local parts = {}
  for b, c in pairs(hist) do parts[#parts + 1] = string.format('"%d":%d', b, c) end
  io.write('HIST {' .. table.concat(parts, ',') .. '}\\n')`;

/** The bucket of a latency in µs, by the same rule as {@link WRK_HISTOGRAM_LUA}. */
export function bucketOf(latencyUs: number): number {
  return Math.floor(Math.log(Math.max(latencyUs, 1)) / Math.log(HISTOGRAM_BASE));
}

/** The histogram in wrk's output (its `HIST` line); empty when there is none. */
export function parseHistogramLine(stdout: string): ReadonlyMap<number, number> {
  const line = stdout.split("\n").find((l) => l.startsWith("HIST "));
  if (line === undefined) return new Map();
  const parsed = JSON.parse(line.slice(5)) as Record<string, number>;
  return new Map(Object.entries(parsed).map(([bucket, count]) => [Number(bucket), count]));
}

/** The sum of several histograms. */
export function addHistograms(histograms: readonly ReadonlyMap<number, number>[]): ReadonlyMap<number, number> {
  const sum = new Map<number, number>();
  for (const histogram of histograms) for (const [bucket, count] of histogram) sum.set(bucket, (sum.get(bucket) ?? 0) + count);
  return sum;
}

/** The `q` quantile (0–1) in ms: the upper edge of the bucket it falls in (never under the true value, at most 1 % over); NaN when empty. */
export function percentileMs(buckets: ReadonlyMap<number, number>, q: number): number {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((n, [, c]) => n + c, 0);
  let seen = 0;
  for (const [bucket, count] of sorted) {
    seen += count;
    if (seen >= q * total) return HISTOGRAM_BASE ** (bucket + 1) / 1000;
  }
  return Number.NaN;
}
