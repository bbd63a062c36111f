import type { NmiDecision } from "./decision.js";
import type { RequestRoute } from "./request-path.js";

/**
 * The request line NMI accepts: only what IMDS answers. IMDS serves its token endpoint to GET (and HEAD, as
 * any HTTP/1.1 server does for a GET resource) over HTTP/1.0 and HTTP/1.1; the original NMI answered any
 * method on its token paths (a `PURGE` or `DELETE` minted a token too).
 * @packageDocumentation
 */

/** The methods the token paths answer, in the order the `Allow` header lists them. */
export const TOKEN_PATH_METHODS: readonly string[] = ["GET", "HEAD"];

/** The HTTP versions NMI serves (Node's parser also hands over `0.9` and `2.0` request lines; they are refused). */
export const SUPPORTED_HTTP_VERSIONS: readonly string[] = ["1.0", "1.1"];

/**
 * The refusal for a request line NMI does not serve, or `undefined` to go on: a version other than HTTP/1.0
 * or HTTP/1.1 → `httpVersionNotSupported` (505, connection closed), for every route; a method other than
 * GET/HEAD on the token paths (`/metadata/identity/oauth2/token`, `/host/token`) → `methodNotAllowed` (405
 * with `Allow: GET, HEAD`). Methods are compared exactly (HTTP methods are case-sensitive). Other routes are
 * forwarded with their method, as the original did.
 */
export function decideRequestLine(method: string, httpVersion: string, route: RequestRoute): NmiDecision | undefined {
  if (!SUPPORTED_HTTP_VERSIONS.includes(httpVersion)) return { kind: "httpVersionNotSupported", version: httpVersion };
  if ((route.route === "token" || route.route === "hostToken") && !TOKEN_PATH_METHODS.includes(method)) {
    return { kind: "methodNotAllowed", method, allow: TOKEN_PATH_METHODS };
  }
  return undefined;
}
