/**
 * The command-line spellings of manifests written for aad-pod-identity, whose MIC and NMI parsed flags with
 * Go's `flag`/`pflag` packages: `-flag=value`, `--flag=value`, `-flag value` and boolean `-flag`. One rule for
 * both podid deployables, so an existing Deployment's or DaemonSet's args keep working unchanged.
 * @packageDocumentation
 */

/**
 * Rewrites Go's single-dash long options (`-flag[=value]`, and klog's `-v=N`) to `--flag[=value]`; podid
 * defines no one-letter option other than klog's `-v`, so any single-dash argument longer than one letter is a
 * long option. Short options (`-v`), double-dash options, values and everything after `--` are kept as is.
 */
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
