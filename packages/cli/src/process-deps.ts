/**
 * The real-process {@link PodidDeps} used by the `podid` and `kubectl-podid` entry points.
 * @packageDocumentation
 */
import type { PodidDeps } from "./program.js";

/** Reads standard input to the end as UTF-8. */
async function readStdin(): Promise<string> {
  let text = "";
  process.stdin.setEncoding("utf8");
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

/** Dependencies bound to this process: stdout/stderr, the working directory, stdin, the clock, the environment. */
export function processDeps(): PodidDeps {
  return {
    io: { out: (text) => void process.stdout.write(text), err: (text) => void process.stderr.write(text) },
    cwd: process.cwd(),
    readStdin,
    now: () => Date.now(),
    env: process.env,
  };
}
