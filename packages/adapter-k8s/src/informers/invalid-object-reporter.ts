import { describeValidationError, type EventRecorderPort, type LoggerPort, type ValidationError } from "@podid/core";

/** An object an informer received that core's parser rejected. */
export interface InvalidObject {
  readonly kind: string;
  readonly apiVersion: string;
  /** `""` for cluster-scoped objects. */
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly error: ValidationError;
}

/** The Event reason for objects podid skips because they fail validation. */
export const INVALID_OBJECT_REASON = "InvalidObject";

/**
 * Tells users about objects podid ignores: a warning log line and a Warning Event on the object
 * (reason {@link INVALID_OBJECT_REASON}, message from core's `describeValidationError`). The original
 * only logged (e.g. `invalid resource id: ""` for legacy PascalCase identities), which users never saw.
 * Each (uid, resourceVersion) is reported once: relists and informer restarts replay every object, and
 * an Event per replay would flood the namespace. A new version of the object is reported again.
 */
export class InvalidObjectReporter {
  readonly #logger: LoggerPort;
  readonly #events: EventRecorderPort | undefined;
  /** `kind/namespace/name` → `uid@resourceVersion` last reported. */
  readonly #reported = new Map<string, string>();

  /** Reports to `options.logger` and, when given, as Events through `options.events`. */
  constructor(options: { readonly logger: LoggerPort; readonly events?: EventRecorderPort }) {
    this.#logger = options.logger;
    this.#events = options.events;
  }

  /** Reports `invalid` unless this exact version was reported already; true when it reported. */
  report(invalid: InvalidObject): boolean {
    const key = `${invalid.kind}/${invalid.namespace}/${invalid.name}`;
    const version = `${invalid.uid ?? ""}@${invalid.resourceVersion ?? ""}`;
    if (this.#reported.get(key) === version) return false;
    this.#reported.set(key, version);
    const message = describeValidationError(invalid.error);
    this.#logger.warn(
      {
        kind: invalid.kind,
        namespace: invalid.namespace,
        name: invalid.name,
        resourceVersion: invalid.resourceVersion,
        reasons: invalid.error.issues.map((i) => i.reason),
      },
      `ignoring invalid object: ${message}`,
    );
    this.#events?.record(
      {
        kind: invalid.kind,
        apiVersion: invalid.apiVersion,
        namespace: invalid.namespace,
        name: invalid.name,
        ...(invalid.uid !== undefined ? { uid: invalid.uid } : {}),
        ...(invalid.resourceVersion !== undefined ? { resourceVersion: invalid.resourceVersion } : {}),
      },
      "Warning",
      INVALID_OBJECT_REASON,
      message,
    );
    return true;
  }

  /** Forgets an object (deleted, or valid again), so a later invalid version is reported afresh. */
  forget(kind: string, namespace: string, name: string): void {
    this.#reported.delete(`${kind}/${namespace}/${name}`);
  }
}
