/**
 * Go's duration syntax (`time.ParseDuration`), which every duration flag of the original MIC used through
 * the `flag` package: a sequence of decimal numbers with units, such as `15s`, `3m`, `1h30m`, `1.5s`,
 * `300ms`. Existing manifests pass these strings, so podid reads them the same way.
 * @packageDocumentation
 */

/** Milliseconds per Go duration unit (`µs` in both of Go's spellings). */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;

/**
 * Parses a Go duration into milliseconds, or `undefined` when Go would reject it. As in Go: an optional
 * sign, then one or more `<number><unit>` parts that add up; `0` alone needs no unit; a number without a
 * unit, an unknown unit or a bare `.` is an error. Sub-millisecond parts are kept as fractions.
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  while (rest !== "") {
    const match = PART.exec(rest);
    if (match === null) return undefined;
    const whole = match[1] ?? "";
    const fraction = match[2];
    if (whole === "" && (fraction === undefined || fraction === "")) return undefined;
    const unit = UNIT_MS[match[3] ?? ""];
    if (unit === undefined) return undefined;
    total += Number(`${whole === "" ? "0" : whole}.${fraction ?? "0"}`) * unit;
    rest = rest.slice(match[0].length);
  }
  return sign * total;
}

/** Formats milliseconds the way Go prints a duration (`15s`, `3m0s`, `1h0m0s`, `250ms`), for help and logs. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  const negative = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1_000) return `${negative ? "-" : ""}${trimNumber(rest)}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = trimNumber(rest / 1_000);
  const text = hours > 0 ? `${hours}h${minutes}m${seconds}s` : minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
  return `${negative ? "-" : ""}${text}`;
}

function trimNumber(value: number): string {
  return String(Number(value.toFixed(6)));
}
