/**
 * Accepting the argument spellings existing NMI manifests use. The original parsed flags with Go's
 * `flag`/`pflag` packages, so DaemonSets in the field pass `--flag=value`, `--flag value` and, carried over
 * from Go's single-dash convention, `-flag=value`. podid defines no one-letter options, so any single-dash
 * argument longer than one letter is a long option and gets its second dash back.
 * @packageDocumentation
 */

/** Rewrites `-flag[=value]` to `--flag[=value]`; everything else (and anything after `--`) is kept as is. */
export function normaliseGoStyleArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  let optionsEnded = false;
  for (const arg of argv) {
    if (optionsEnded) {
      out.push(arg);
      continue;
    }
    if (arg === "--") {
      optionsEnded = true;
      out.push(arg);
      continue;
    }
    const singleDashLong = arg.length > 2 && arg.startsWith("-") && !arg.startsWith("--") && /^-[A-Za-z]/.test(arg);
    out.push(singleDashLong ? `-${arg}` : arg);
  }
  return out;
}

/**
 * Go's `strconv.ParseBool` spellings (what `--flag=<value>` accepted in the original): `1 t T TRUE true
 * True` and `0 f F FALSE false False`; `undefined` for anything else.
 */
export function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}
