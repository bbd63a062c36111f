/** A typed result: the value, or a message fit for a FlexVolume `Failure`. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Wraps a value. */
export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

/** Wraps a failure message. */
export function fail<T>(error: string): Result<T> {
  return { ok: false, error };
}
