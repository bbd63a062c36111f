import { AuthenticationRequiredError } from "@azure/identity";

/**
 * The error `promise` rejects with when the fake AAD refuses a token request: @azure/identity 4.14 surfaces AAD's
 * token-endpoint refusals (MSAL `ServerError`s) as `AuthenticationRequiredError` whose message carries AAD's
 * `error`, AADSTS code and description. Throws when the call succeeds or fails any other way.
 */
export async function authenticationRefusal(promise: Promise<unknown>): Promise<AuthenticationRequiredError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof AuthenticationRequiredError) return e;
    throw new Error(`expected an AuthenticationRequiredError, got ${String(e)}`);
  }
  throw new Error("expected the call to fail");
}
