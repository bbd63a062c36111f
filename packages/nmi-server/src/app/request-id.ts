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

/**
 * Ids NMI makes up itself: a random prefix per process and a counter, unique across restarts and as
 * cheap as a string concatenation (curl and most non-Azure clients send no id, so this runs per request).
 */
const PROCESS_PREFIX = `nmi-${randomUUID().slice(0, 8)}-`;
let issued = 0;

/** A fresh request id. */
export function newRequestId(): string {
  issued += 1;
  return PROCESS_PREFIX + issued.toString(36);
}

/** The id for a request with this `x-ms-client-request-id` value (a fresh id when absent or unsafe). */
export function requestIdFrom(header: string | readonly string[] | undefined): string {
  return typeof header === "string" && SAFE_ID.test(header) ? header : newRequestId();
}
