import { err, ok, type Result } from "../result.js";
import { percentDecode, type PercentDecodeError } from "./percent-encoding.js";

/**
 * A parsed query string: every key with all of its values in order of appearance. Kept multi-valued
 * on purpose so that the token-request rules can reject repeated identity/resource keys instead of
 * silently taking the first (Go's `url.Values.Get`, used by the original) or the last one.
 */
export type QueryParams = ReadonlyMap<string, readonly string[]>;

/** Why a query string was refused. */
export interface QueryError {
  readonly kind: "malformedQuery";
  /** The raw `key=value` piece that failed to decode. */
  readonly piece: string;
  readonly cause: PercentDecodeError;
}

/**
 * Parses an `application/x-www-form-urlencoded` query (`a=1&b=x+y`): pieces separated by `&` (empty
 * pieces skipped), split at the first `=` (a piece without `=` has value `""`), `+` means space, and
 * percent-escapes must be valid UTF-8 — a bad escape rejects the whole query rather than being kept
 * literally, so that what NMI checks is exactly what it would act on. A leading `?` is ignored.
 */
export function parseQuery(rawQuery: string): Result<QueryParams, QueryError> {
  const query = rawQuery.startsWith("?") ? rawQuery.slice(1) : rawQuery;
  const params = new Map<string, string[]>();
  for (const piece of query.split("&")) {
    if (piece === "") continue;
    const eq = piece.indexOf("=");
    const rawKey = eq < 0 ? piece : piece.slice(0, eq);
    const rawValue = eq < 0 ? "" : piece.slice(eq + 1);
    const key = percentDecode(rawKey, { plusAsSpace: true });
    if (!key.ok) return err({ kind: "malformedQuery", piece, cause: key.error });
    const value = percentDecode(rawValue, { plusAsSpace: true });
    if (!value.ok) return err({ kind: "malformedQuery", piece, cause: value.error });
    const values = params.get(key.value);
    if (values === undefined) params.set(key.value, [value.value]);
    else values.push(value.value);
  }
  return ok(params);
}
