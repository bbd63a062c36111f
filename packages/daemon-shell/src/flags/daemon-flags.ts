import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import {
  err,
  normaliseGoStyleArgs,
  ok,
  parseBoolFlag,
  type DeployableCommand,
  type FlagEnvironment,
  type FlagValue,
  type InvalidFlags,
  type Result,
} from "@podid/core";

/**
 * The daemons' command lines on commander: core's flag-value parsers adapted to commander, and one
 * function that builds the program every daemon shares (`-h/--help`, `--version`, no stray arguments,
 * output captured), runs it over Go-style arguments and turns the outcome into core's
 * `DeployableCommand` or `InvalidFlags`. Pure: nothing is printed and nothing exits (`runDaemon` does that).
 * @packageDocumentation
 */

/** Adapts one of core's flag-value parsers to commander, which reports what an argument parser throws. */
export function flagArg<T>(parse: (text: string) => FlagValue<T>): (text: string) => T {
  return (text: string): T => {
    const parsed = parse(text);
    if (!parsed.ok) throw new InvalidArgumentError(`expected ${parsed.error.expected}`);
    return parsed.value;
  };
}

/** Go's boolean spellings (`true`, `1`, `T`, `false`, …) as a commander argument parser. */
export const boolArg: (text: string) => boolean = flagArg(parseBoolFlag);

/**
 * A Go-style boolean flag: `--flag` alone means true, `--flag=false` / `-flag=0` are accepted
 * (`flags` is the flag's name without an argument, e.g. `"--forceNamespaced"`).
 */
export function boolOption(flags: string, description: string, fallback: boolean): Option {
  return new Option(`${flags} [bool]`, description).default(fallback).argParser(boolArg);
}

/** What a daemon's {@link DaemonCommandLine.interpret} receives. */
export interface ParsedFlags<Options> {
  /** commander's option values (camel-cased flag names; defaults applied). */
  readonly options: Options;
  /** True when the flag (camel-cased name) was given on the command line rather than defaulted. */
  given(name: string): boolean;
  /** The environment passed to {@link parseDaemonFlags}. */
  readonly env: FlagEnvironment;
}

/** The run outcome of a command line: the configuration and the notices to log at start. */
export type RunCommand<Config> = Extract<DeployableCommand<Config>, { readonly kind: "run" }>;

/** A daemon's command line. */
export interface DaemonCommandLine<Options, Config> {
  /** The program name of the help text (`podid-mic`). */
  readonly name: string;
  /** The help text's first paragraph. */
  readonly description: string;
  /** What `--version` prints (see `DaemonVersion.text`). */
  readonly versionText: string;
  /** Adds the daemon's own flags to `program` (after `-h, --help` and `--version`, which it already has). */
  readonly flags: (program: Command) => void;
  /** Turns the parsed values into the configuration, or refuses them (cross-flag checks). */
  readonly interpret: (parsed: ParsedFlags<Options>) => Result<Omit<RunCommand<Config>, "kind">, InvalidFlags>;
}

/** Builds the shared program with output captured in `output`. */
function daemonProgram(name: string, description: string, output: string[]): Command {
  return new Command()
    .name(name)
    .description(description)
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.push(s), writeErr: (s) => output.push(s) })
    .allowExcessArguments(false)
    .helpOption("-h, --help", "show this help")
    .addOption(boolOption("--version", "print the version and exit", false));
}

/**
 * Parses a daemon's command line. Accepts `--flag=value`, `--flag value` and Go's `-flag=value` /
 * `-flag value`. Returns help (`-h`/`--help`), the version (`--version`), the run configuration, or an
 * error naming the bad flag (commander's message without its `error: ` prefix).
 */
export function parseDaemonFlags<Options, Config>(
  commandLine: DaemonCommandLine<Options, Config>,
  argv: readonly string[],
  env: FlagEnvironment = {},
): Result<DeployableCommand<Config>, InvalidFlags> {
  const output: string[] = [];
  const program = daemonProgram(commandLine.name, commandLine.description, output);
  commandLine.flags(program);
  try {
    program.parse(normaliseGoStyleArgs(argv), { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError && (error.code === "commander.helpDisplayed" || error.code === "commander.help")) {
      return ok({ kind: "help", text: output.join("") });
    }
    const message = error instanceof Error ? error.message : String(error);
    return err({ kind: "invalidFlags", message: message.replace(/^error: /, "") });
  }
  const options = program.opts<Options & { readonly version: boolean }>();
  if (options.version) return ok({ kind: "version", text: commandLine.versionText });
  const run = commandLine.interpret({ options, env, given: (name) => program.getOptionValueSource(name) === "cli" });
  return run.ok ? ok({ kind: "run", config: run.value.config, notices: run.value.notices }) : run;
}
