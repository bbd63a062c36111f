/**
 * Timestamps as the API server writes them, and ages as kubectl prints them.
 * @packageDocumentation
 */

/** RFC 3339 with second precision (`2024-05-01T10:00:00Z`), the format of `metav1.Time`. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A compact age such as `45s`, `3m12s`, `17m`, `5h3m`, `9h`, `3d4h`, `12d` or `2y30d`, following
 * apimachinery's `duration.HumanDuration` (the AGE column of `kubectl get`).
 */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 730) return `${days}d`;
  const years = Math.floor(days / 365);
  return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
}

/** The age of an RFC 3339 timestamp at `now`, or `<unknown>` when it does not parse. */
export function ageOf(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== "string") return "<unknown>";
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? "<unknown>" : humanDuration(now.getTime() - at);
}
