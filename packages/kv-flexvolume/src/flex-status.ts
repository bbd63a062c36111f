/**
 * What a FlexVolume driver prints on stdout: one JSON status object that kubelet parses
 * (`Success`, `Failure` with a message, or `Not supported` for a call the driver does not implement), with exit
 * code 0 for `Success` and 1 otherwise.
 */

/** The statuses kubelet understands. */
export type FlexStatus =
  | { readonly status: "Success"; readonly capabilities?: { readonly attach: boolean } }
  | { readonly status: "Failure"; readonly message: string }
  | { readonly status: "Not supported"; readonly message: string };

/** The longest message put into a status (kubelet logs it whole; a Key Vault error body can be long). */
const MAX_MESSAGE = 2000;

/**
 * A message kubelet accepts: control characters (including `\r` and `\n`) become spaces, backslashes are dropped
 * and double quotes become single ones, so the printed JSON needs no escapes at all — kubelet refused driver
 * output carrying them (the original driver stripped backslashes too).
 */
export function sanitiseMessage(message: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = message.replace(/\\/g, "").replace(/"/g, "'").replace(/[\u0000-\u001f\u007f]+/g, " ").replace(/ {2,}/g, " ").trim();
  return clean.length > MAX_MESSAGE ? `${clean.slice(0, MAX_MESSAGE - 1)}…` : clean;
}

/** `init`'s answer: this driver needs no attach/detach calls. */
export const INIT_SUCCESS: FlexStatus = { status: "Success", capabilities: { attach: false } };
/** A plain success. */
export const SUCCESS: FlexStatus = { status: "Success" };

/** A failure with a sanitised message. */
export function failure(message: string): FlexStatus {
  return { status: "Failure", message: sanitiseMessage(message) };
}

/** A call the driver does not implement (kubelet then falls back to its own behaviour). */
export function notSupported(message: string): FlexStatus {
  return { status: "Not supported", message: sanitiseMessage(message) };
}

/** The process exit code for a status. */
export function exitCodeOf(status: FlexStatus): 0 | 1 {
  return status.status === "Success" ? 0 : 1;
}
