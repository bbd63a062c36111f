/**
 * Typed results: every fallible rule in @podid/core returns one of these instead of throwing.
 * @packageDocumentation
 */

/** A successful outcome carrying `value`. */
export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

/** A failed outcome carrying a typed `error` (always a discriminated union with a `kind` or `reason`). */
export interface Err<E> {
  readonly ok: false;
  readonly error: E;
}

/** Either a value or a typed error. */
export type Result<T, E> = Ok<T> | Err<E>;

/** Wraps a value as a successful {@link Result}. */
export function ok<T>(value: T): Ok<T> {
  return { ok: true, value };
}

/** Wraps an error as a failed {@link Result}. */
export function err<E>(error: E): Err<E> {
  return { ok: false, error };
}
