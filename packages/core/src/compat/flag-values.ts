import { normalizeIpAddress } from "../nmi/ip-address.js";
import { err, ok, type Result } from "../result.js";
import { formatGoDuration, parseGoDuration } from "./go-duration.js";
import { parseGoBool } from "./go-flag-syntax.js";

/**
 * Value parsers for the deployables' command-line flags, one rule each, so MIC and NMI read numbers, ports,
 * addresses, choices and durations alike. Surrounding whitespace is ignored (a manifest's `--flag= 5`
 * means 5); booleans follow Go's `strconv.ParseBool` exactly, as the original's flags did.
 * @packageDocumentation
 */

/** A flag value that cannot be used; `expected` says what would be accepted, for the operator. */
export interface InvalidFlagValue {
  readonly kind: "invalidFlagValue";
  readonly expected: string;
}

/** A parsed flag value or why it was refused. */
export type FlagValue<T> = Result<T, InvalidFlagValue>;

const invalid = (expected: string): FlagValue<never> => err({ kind: "invalidFlagValue", expected });

/** Go's boolean spellings (`1`, `t`, `TRUE`, `false`, …). */
export function parseBoolFlag(text: string): FlagValue<boolean> {
  const value = parseGoBool(text);
  return value === undefined ? invalid("true or false") : ok(value);
}

/** A decimal integer from `min` to `max`, digits only (no sign, exponent or fraction). */
export function parseIntegerFlag(text: string, min: number, max: number): FlagValue<number> {
  const trimmed = text.trim();
  const value = Number(trimmed);
  return /^\d+$/.test(trimmed) && value >= min && value <= max ? ok(value) : invalid(`an integer from ${min} to ${max}`);
}

/** A finite number at least `bound.atLeast`, or strictly above `bound.above`. */
export function parseNumberFlag(text: string, bound: { readonly atLeast: number } | { readonly above: number }): FlagValue<number> {
  const trimmed = text.trim();
  const value = Number(trimmed);
  const inRange = "above" in bound ? value > bound.above : value >= bound.atLeast;
  if (trimmed !== "" && Number.isFinite(value) && inRange) return ok(value);
  return invalid("above" in bound ? `a number above ${bound.above}` : `a number ≥ ${bound.atLeast}`);
}

/** An IPv4 or IPv6 address, returned in canonical form. */
export function parseIpFlag(text: string): FlagValue<string> {
  const value = normalizeIpAddress(text.trim());
  return value === undefined ? invalid("an IP address") : ok(value);
}

/** One of `choices`; with `caseInsensitive`, any casing of one. */
export function parseChoiceFlag<T extends string>(text: string, choices: readonly T[], options: { readonly caseInsensitive?: boolean } = {}): FlagValue<T> {
  const trimmed = text.trim();
  const wanted = options.caseInsensitive === true ? trimmed.toLowerCase() : trimmed;
  const found = choices.find((choice) => (options.caseInsensitive === true ? choice.toLowerCase() : choice) === wanted);
  return found === undefined ? invalid(`one of ${choices.join(", ")}`) : ok(found);
}

/** A Go duration (`15s`, `3m`, `1h30m`) of at least `minMs`, in milliseconds. */
export function parseDurationFlag(text: string, minMs: number): FlagValue<number> {
  const ms = parseGoDuration(text.trim());
  if (ms === undefined) return invalid("a Go duration such as 15s, 3m or 1h");
  if (ms < minMs) return invalid(minMs === 0 ? "a duration that is not negative" : `a duration of at least ${formatGoDuration(minMs)}`);
  return ok(ms);
}
