/**
 * Keeping label values from the cluster bounded. The original labelled its request histogram with the raw
 * path and the requested resource, so any pod could create unbounded time series; podid maps the path to a
 * fixed route and caps the distinct values of the two labels that must stay informative.
 * @packageDocumentation
 */

/** The value used once the cap is reached. */
export const OVERFLOW_LABEL = "other";

/**
 * A label whose first `capacity` distinct values pass through and every later one becomes
 * {@link OVERFLOW_LABEL}; values longer than `maxLength` are overflow too.
 */
export class BoundedLabel {
  readonly #seen = new Set<string>();
  readonly #capacity: number;
  readonly #maxLength: number;

  /** A label admitting `capacity` distinct values of at most `maxLength` characters. */
  constructor(capacity: number, maxLength = 256) {
    this.#capacity = capacity;
    this.#maxLength = maxLength;
  }

  /** The label value to use for `value` (`""` stays `""`: "not known"). */
  of(value: string): string {
    if (value === "" || this.#seen.has(value)) return value;
    if (value.length > this.#maxLength || this.#seen.size >= this.#capacity) return OVERFLOW_LABEL;
    this.#seen.add(value);
    return value;
  }
}
