import { assertSucceeded, runCommand, type CommandResult, type RunCommandOptions } from "./run-command.js";
import { NetnsProcess } from "./netns-process.js";

/**
 * One network namespace: run a command or a Node script inside it (`ip netns exec`), or spawn a
 * long-running process there. Node scripts run on the same Node binary as the test (`process.execPath`).
 */
export class NetnsHandle {
  /** The namespace name (`ip netns list`). */
  readonly name: string;

  /** Wraps the existing namespace `name` (the harness creates and deletes it). */
  constructor(name: string) {
    this.name = name;
  }

  /** `["ip", "netns", "exec", name]`: prepend it to run anything inside this namespace. */
  get commandPrefix(): readonly string[] {
    return ["ip", "netns", "exec", this.name];
  }

  /** Runs `argv` inside the namespace (bounded; never rejects). */
  exec(argv: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
    return runCommand([...this.commandPrefix, ...argv], options);
  }

  /** Runs `argv` inside the namespace and throws unless it exits 0 (for setup steps). */
  async execOrThrow(argv: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
    return assertSucceeded([...this.commandPrefix, ...argv], await this.exec(argv, options));
  }

  /** Runs a CommonJS Node script (`node -e`) inside the namespace; `args` appear as `process.argv[1…]`. */
  runNode(script: string, args: readonly string[] = [], options: RunCommandOptions = {}): Promise<CommandResult> {
    return this.exec([process.execPath, "-e", script, ...args], options);
  }

  /** Spawns a long-running `argv` inside the namespace. */
  spawn(argv: readonly string[], env?: NodeJS.ProcessEnv): NetnsProcess {
    return new NetnsProcess([...this.commandPrefix, ...argv], env);
  }

  /** Spawns a long-running CommonJS Node script inside the namespace. */
  spawnNode(script: string, args: readonly string[] = [], env?: NodeJS.ProcessEnv): NetnsProcess {
    return this.spawn([process.execPath, "-e", script, ...args], env);
  }

  /**
   * Writes `/proc/sys/<key>` values (e.g. `net/ipv4/ip_forward`) inside the namespace. A process's
   * `/proc/sys/net` belongs to its own network namespace, so this never changes the host's settings;
   * it needs no `sysctl` binary.
   */
  async writeSysctls(values: Readonly<Record<string, string>>): Promise<void> {
    const script = `const fs = require("node:fs"); for (const [k, v] of Object.entries(JSON.parse(process.argv[1]))) fs.writeFileSync("/proc/sys/" + k, v);`;
    assertSucceeded(["writeSysctls", this.name], await this.runNode(script, [JSON.stringify(values)], { timeoutMs: 10_000 }));
  }

  /** Reads `/proc/sys/<key>` inside the namespace (trimmed). */
  async readSysctl(key: string): Promise<string> {
    const script = `process.stdout.write(require("node:fs").readFileSync("/proc/sys/" + process.argv[1], "utf8"))`;
    return assertSucceeded(["readSysctl", this.name, key], await this.runNode(script, [key], { timeoutMs: 10_000 })).stdout.trim();
  }
}
