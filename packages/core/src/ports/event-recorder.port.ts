/** The object an Event is about. */
export interface InvolvedObject {
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

/** Records Kubernetes Events (e.g. `binding applied` on an AzureIdentityBinding). */
export interface EventRecorderPort {
  record(object: InvolvedObject, type: "Normal" | "Warning", reason: string, message: string): void;
}
