/**
 * The argument spellings of manifests written for the original MIC, which parsed its command line with
 * Go's `flag` package: `-flag=value`, `--flag=value`, `-flag value` and boolean `-flag`. podid defines no
 * one-letter option except klog's `-v`, so any single-dash argument longer than one letter is a long option
 * and gets its second dash back.
 * @packageDocumentation
 */

/** Rewrites `-flag[=value]` to `--flag[=value]` (and klog's `-v=N` to `--v=N`); anything after `--` is kept. */
export function normaliseGoStyleArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  let optionsEnded = false;
  for (const arg of argv) {
    if (optionsEnded || arg === "--") {
      optionsEnded = true;
      out.push(arg);
      continue;
    }
    const singleDashLong = /^-[A-Za-z][A-Za-z0-9_-]+(=.*)?$/.test(arg) || /^-[A-Za-z]=/.test(arg);
    out.push(singleDashLong ? `-${arg}` : arg);
  }
  return out;
}

/**
 * Go's `strconv.ParseBool` spellings, which `-flag=<value>` accepted in the original: `1 t T TRUE true True`
 * and `0 f F FALSE false False`; `undefined` for anything else.
 */
export function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}
