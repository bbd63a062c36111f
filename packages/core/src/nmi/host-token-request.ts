import { err, ok, type Result } from "../result.js";
import { singleHeader, type HttpHeaders } from "./headers.js";
import { isHostCallerAddress } from "./ip-address.js";
import type { QueryParams } from "./query.js";
import { checkForwardedHeaders, type ForwardedHeaderError } from "./request-headers.js";
import { parseTokenParameters, type TokenParameterError, type TokenRequest } from "./token-request.js";

/**
 * Parsing of the original's `/host/token` request (`hostHandler`): a node agent asks for the token of a
 * pod it names in the `podns` and `podname` headers.
 * @packageDocumentation
 */

/** Header naming the pod's namespace. */
export const POD_NAMESPACE_HEADER = "podns";
/** Header naming the pod. */
export const POD_NAME_HEADER = "podname";

/** A valid `/host/token` request. */
export interface HostTokenRequest extends TokenRequest {
  readonly podNamespace: string;
  readonly podName: string;
}

/** Why a `/host/token` request was refused. */
export type HostTokenRequestError =
  /** `podns` or `podname` absent, empty or repeated (400 "missing 'podname' and 'podns' from request header"). */
  | { readonly kind: "missingPodHeaders" }
  /** The caller is not `127.0.0.1` (500 "request remote address is not from a host", as the original). */
  | { readonly kind: "notFromHost"; readonly remoteAddress: string }
  | ForwardedHeaderError
  | TokenParameterError;

/**
 * Parses a `/host/token` request in the original's order: pod headers, then the 127.0.0.1 source check,
 * then the query (`resource` required; selectors as for the token path). No `Metadata` header is
 * required, as in the original. Forwarding headers are refused like everywhere else.
 */
export function parseHostTokenRequest(
  query: QueryParams,
  headers: HttpHeaders,
  remoteAddress: string,
): Result<HostTokenRequest, HostTokenRequestError> {
  const podNamespace = singleHeader(headers, POD_NAMESPACE_HEADER);
  const podName = singleHeader(headers, POD_NAME_HEADER);
  if (podNamespace === undefined || podNamespace === "" || podName === undefined || podName === "") {
    return err({ kind: "missingPodHeaders" });
  }
  if (!isHostCallerAddress(remoteAddress)) return err({ kind: "notFromHost", remoteAddress });
  const forwarded = checkForwardedHeaders(headers);
  if (!forwarded.ok) return forwarded;
  const params = parseTokenParameters(query);
  if (!params.ok) return params;
  return ok({ ...params.value, podNamespace, podName });
}
