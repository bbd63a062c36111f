import { ApiException } from "@kubernetes/client-node";

/** What a refused `@kubernetes/client-node` call carried: the HTTP status, the parsed Status body and headers. */
export interface ApiErrorDetails {
  readonly code: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
}

/**
 * The `ApiException` `promise` rejects with, as {@link ApiErrorDetails}, for tests that check the fake
 * kube-apiserver's refusals through the real client. Throws when the call succeeds or fails otherwise.
 */
export async function apiError(promise: Promise<unknown>): Promise<ApiErrorDetails> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body: unknown = typeof error.body === "string" ? JSON.parse(error.body) : error.body;
    return { code: error.code, body: body as Record<string, unknown>, headers: error.headers as Record<string, string> };
  }
  throw new Error("expected the call to fail");
}
