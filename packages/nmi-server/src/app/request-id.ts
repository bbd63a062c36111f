import { randomUUID } from "node:crypto";

/**
 * Request ids. The Azure SDK sends a GUID in `x-ms-client-request-id` (ecosystem §1.1); using it lets an
 * operator find a client's request in NMI's audit log. The header is the pod's to choose, so only a short
 * plain token is accepted; anything else gets a fresh id.
 * @packageDocumentation
 */

/** The header the Azure SDK sends its correlation id in. */
export const CLIENT_REQUEST_ID_HEADER = "x-ms-client-request-id";

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id for a request with this `x-ms-client-request-id` value (a fresh UUID when absent or unsafe). */
export function requestIdFrom(header: string | readonly string[] | undefined): string {
  const value = typeof header === "string" ? header : undefined;
  return value !== undefined && SAFE_ID.test(value) ? value : randomUUID();
}
