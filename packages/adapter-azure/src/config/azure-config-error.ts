/**
 * What can be wrong with the cloud configuration, apart from the configuration itself so that every reader
 * (azure.json, environment variables, the cloud environment file) can report problems without importing the
 * configuration builder.
 * @packageDocumentation
 */

/** What is wrong with one setting. */
export interface AzureConfigProblem {
  /** The `azure.json` field or environment variable name (`""` for the document as a whole). */
  readonly field: string;
  readonly reason: "invalidJson" | "missing" | "wrongType" | "invalidValue";
  readonly message: string;
}

/** Why no configuration could be produced. */
export type AzureConfigError =
  /** A file could not be read (missing, permissions). */
  | { readonly kind: "unreadable"; readonly path: string; readonly message: string }
  /** The settings were read but are invalid; every problem is listed, not just the first. */
  | { readonly kind: "invalid"; readonly source: string; readonly problems: readonly AzureConfigProblem[] };

/** One sentence describing an {@link AzureConfigError}, for logs and fatal exits. */
export function describeAzureConfigError(error: AzureConfigError): string {
  if (error.kind === "unreadable") return `cannot read ${error.path}: ${error.message}`;
  return `invalid Azure configuration in ${error.source}: ${error.problems.map((p) => (p.field === "" ? p.message : `${p.field}: ${p.message}`)).join("; ")}`;
}
