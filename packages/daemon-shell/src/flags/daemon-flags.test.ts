import { err, ok, parseIntegerFlag } from "@podid/core";
import { describe, expect, it } from "vitest";
import { boolOption, flagArg, parseDaemonFlags, type DaemonCommandLine } from "./daemon-flags.js";

interface Options {
  readonly port: number;
  readonly forceNamespaced: boolean;
  readonly name?: string;
}

interface Config {
  readonly port: number;
  readonly forceNamespaced: boolean;
  readonly name: string;
}

const COMMAND_LINE: DaemonCommandLine<Options, Config> = {
  name: "podid-test",
  description: "a test daemon",
  versionText: "podid-test 9.9.9",
  flags: (program) => {
    program
      .option("--port <port>", "a port", flagArg((t) => parseIntegerFlag(t, 0, 65_535)), 8080)
      .addOption(boolOption("--forceNamespaced", "namespaced", false))
      .option("--name <name>", "a name");
  },
  interpret: ({ options, given, env }) => {
    const name = options.name ?? env["HOSTNAME"] ?? "";
    if (name === "") return err({ kind: "invalidFlags", message: "--name is empty" });
    return ok({ config: { port: options.port, forceNamespaced: options.forceNamespaced, name }, notices: given("port") ? ["--port given"] : [] });
  },
};

describe("parseDaemonFlags", () => {
  it("parses Go-style flags, Go booleans and env defaults into the run configuration", () => {
    expect(parseDaemonFlags(COMMAND_LINE, ["-port", "81", "-forceNamespaced", "--name=a"])).toEqual({
      ok: true,
      value: { kind: "run", config: { port: 81, forceNamespaced: true, name: "a" }, notices: ["--port given"] },
    });
    expect(parseDaemonFlags(COMMAND_LINE, ["--forceNamespaced=false"], { HOSTNAME: "h" })).toEqual({
      ok: true,
      value: { kind: "run", config: { port: 8080, forceNamespaced: false, name: "h" }, notices: [] },
    });
    expect(parseDaemonFlags(COMMAND_LINE, ["-forceNamespaced=0", "--name", "b"])).toMatchObject({ ok: true, value: { config: { forceNamespaced: false } } });
  });

  it("answers help and the version without interpreting", () => {
    expect(parseDaemonFlags(COMMAND_LINE, ["--version"])).toEqual({ ok: true, value: { kind: "version", text: "podid-test 9.9.9" } });
    expect(parseDaemonFlags(COMMAND_LINE, ["-version=true"])).toEqual({ ok: true, value: { kind: "version", text: "podid-test 9.9.9" } });
    for (const flag of ["-h", "--help"]) {
      const help = parseDaemonFlags(COMMAND_LINE, [flag]);
      expect(help.ok && help.value.kind === "help" && help.value.text).toMatch(/^Usage: podid-test \[options\]\n\na test daemon\n/);
    }
    const help = parseDaemonFlags(COMMAND_LINE, ["--help"]);
    expect(help.ok && help.value.kind === "help" && help.value.text).toMatch(/--version \[bool\]\s+print the version and exit \(default: false\)\n\s+--port <port>\s+a port \(default: 8080\)/);
  });

  it("refuses bad values, unknown flags, stray arguments and what interpret refuses, naming the flag", () => {
    const message = (argv: readonly string[]): string => {
      const parsed = parseDaemonFlags(COMMAND_LINE, argv, { HOSTNAME: "h" });
      if (parsed.ok) throw new Error(`expected ${argv.join(" ")} to be refused`);
      return parsed.error.message;
    };
    expect(message(["--port=70000"])).toMatch(/^option '--port <port>' argument '70000' is invalid\. expected/);
    expect(message(["--forceNamespaced=maybe"])).toMatch(/--forceNamespaced/);
    expect(message(["--no-such-flag"])).toMatch(/^unknown option '--no-such-flag'/);
    expect(message(["stray"])).toMatch(/too many arguments/);
    expect(parseDaemonFlags(COMMAND_LINE, [])).toEqual({ ok: false, error: { kind: "invalidFlags", message: "--name is empty" } });
  });
});
