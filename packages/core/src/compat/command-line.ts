/**
 * The shape of the deployables' command lines (MIC and NMI read the same kinds of flags the same way; see
 * `flag-values.ts` for the values).
 * @packageDocumentation
 */

/** What a deployable's command line asks for. */
export type DeployableCommand<Config> =
  /** Run with `config`; `notices` are lines to log at start (deprecated or compatibility-only flags). */
  | { readonly kind: "run"; readonly config: Config; readonly notices: readonly string[] }
  | { readonly kind: "version"; readonly text: string }
  | { readonly kind: "help"; readonly text: string };

/** A command line that cannot run, with a message for the operator. */
export interface InvalidFlags {
  readonly kind: "invalidFlags";
  readonly message: string;
}

/** Environment variables a command line's defaults depend on (passed in: parsing stays pure). */
export type FlagEnvironment = Readonly<Record<string, string | undefined>>;
