import { randomUUID } from "node:crypto";
import type { TokenSourceError } from "@podid/core";

/** An HTTP answer of the fake AAD. */
export interface AadAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/**
 * AAD's error body: `error`, `error_description` (`AADSTSnnn: …` followed by trace id, correlation id and
 * timestamp lines), `error_codes`, `timestamp`, `trace_id`, `correlation_id` and `error_uri`.
 */
export function aadErrorRaw(error: string, description: string, codes: readonly number[]): unknown {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  return {
    error,
    error_description: `${description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
    error_codes: codes,
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    ...(codes[0] !== undefined ? { error_uri: `https://login.microsoftonline.com/error?code=${codes[0]}` } : {}),
  };
}

/** AAD's error body for an `AADSTS<code>` failure. */
export function aadError(error: string, code: number, text: string): unknown {
  return aadErrorRaw(error, `AADSTS${code}: ${text}`, [code]);
}

/**
 * The answer AAD gives when the token source refuses: the refusal's own status and description, 429 +
 * `Retry-After` when throttled, 503 when unavailable.
 */
export function tokenSourceErrorAnswer(error: TokenSourceError): AadAnswer {
  switch (error.kind) {
    case "rejected": {
      const code = /^AADSTS(\d+)/.exec(error.description)?.[1];
      return { status: error.status, body: aadErrorRaw(error.error, error.description, code === undefined ? [] : [Number(code)]) };
    }
    case "throttled":
      return {
        status: 429,
        body: aadError("temporarily_unavailable", 50196, "The server terminated an operation because it encountered a client request loop."),
        headers: { "retry-after": String(Math.ceil(error.retryAfterMs / 1000)) },
      };
    case "unavailable":
      return { status: 503, body: aadError("temporarily_unavailable", 90033, `A transient error has occurred. Please try again. (${error.message})`) };
  }
}
