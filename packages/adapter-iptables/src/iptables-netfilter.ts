import {
  DEFAULT_INTERCEPTION_SPEC,
  describeInterceptionSpecError,
  err,
  guardChainName,
  inspectInterception,
  isLoopbackIpv4,
  ok,
  parseIptablesDump,
  planGuardRepair,
  planInterceptionRemoval,
  planInterceptionRepair,
  validateInterceptionSpec,
  type InterceptionSpec,
  type InterceptionState,
  type IptablesBackend,
  type IptablesBackendSetting,
  type IptablesRuleset,
  type IptablesTable,
  type LoggerPort,
  type NetfilterError,
  type NetfilterPort,
  type RestorePlan,
  type Result,
} from "@podid/core";
import { backendBinaries, detectIptablesBackend } from "./backend-detection.js";
import { ExecFileRunner, type CommandRunner } from "./command-runner.js";
import { flushMetadataConntrack, type ConntrackFlushOutcome } from "./conntrack.js";
import { describeNetfilterError, netfilterErrorOf } from "./netfilter-errors.js";
import { ProcSysctl, RunnerSysctl, type SysctlAccess } from "./sysctl.js";

/** The sysctl that lets PREROUTING DNAT to 127.0.0.0/8 (kube-proxy sets it in iptables mode). */
export const ROUTE_LOCALNET_SYSCTL = "net/ipv4/conf/all/route_localnet";

/** The tables podid's rules live in (filter first: see `desiredInterception`). */
const TABLES = ["filter", "nat"] as const;

/** Paths of the binaries (defaults: found on `PATH`). */
export interface IptablesBinaries {
  readonly iptables: string;
  readonly iptablesSave: string;
  readonly iptablesRestore: string;
  readonly conntrack: string;
}

/** Options of {@link IptablesNetfilter}. */
export interface IptablesNetfilterOptions {
  /** Runs the commands (default: `execFile` in this process's namespace). */
  readonly runner?: CommandRunner;
  /** Where `route_localnet` is read and written (default `/proc/sys` of this process). */
  readonly sysctl?: SysctlAccess;
  readonly binaries?: Partial<IptablesBinaries>;
  /**
   * Which iptables backend's tools to run: `nft` (`iptables-nft`, …), `legacy` (`iptables-legacy`, …) or
   * `auto`, decided once, before the first operation, from the rules each backend holds (core's
   * `chooseIptablesBackend`) and logged. Absent: the plain `iptables` tools, whatever backend they are.
   * `binaries` given explicitly win over the backend's names.
   */
  readonly backend?: IptablesBackendSetting;
  /**
   * Seconds to wait for `/run/xtables.lock` (`-w`), shared with kube-proxy. The original waited forever;
   * podid bounds it (default 10) and reports `lockTimeout`, and the repair loop tries again next interval.
   */
  readonly lockWaitSeconds?: number;
  /** Hard limit per command (default lock wait + 10 s). */
  readonly commandTimeoutMs?: number;
  /**
   * How the rules are read: `iptables-save -t <table>` (default; a consistent snapshot that never waits
   * for the lock) or `iptables -w <s> -t <table> -S` (takes the lock).
   */
  readonly reader?: "iptables-save" | "iptables-S";
  /**
   * After rules were installed or repaired, delete conntrack entries to the metadata address so existing
   * keep-alive connections are re-evaluated (the original's `--enable-conntrack-deletion`, default off).
   * A missing `conntrack` binary is reported through `onConntrackFlush`/the logger, never an error.
   */
  readonly flushConntrack?: boolean;
  /** Called with the outcome of every conntrack flush. */
  readonly onConntrackFlush?: (outcome: ConntrackFlushOutcome) => void;
  /**
   * Set `route_localnet=1` when the DNAT target is in 127.0.0.0/8 (default true). When it is 0 and cannot
   * be set, `ensure` installs only the guard and fails with one line naming the fix.
   */
  readonly routeLocalnet?: boolean;
  readonly logger?: LoggerPort;
}

/**
 * {@link NetfilterPort} on the iptables tools (legacy or nf_tables backend), executed with `execFile`
 * (no shell). Every change is one `iptables-restore --noflush -w <s>` run whose script (from core's
 * `planInterceptionRepair`/`planInterceptionRemoval`) replaces only podid's own chains' contents and
 * moves only podid's own jumps, filter table (guard) committed before nat (DNAT). Operations on one
 * instance never overlap. Errors are returned as {@link NetfilterError}, never thrown.
 *
 * Fail-closed design: the filter chain `<chain>-guard`, jumped to first from INPUT and FORWARD, resets
 * pod TCP connections to the metadata address that the nat DNAT did not rewrite. `release(spec,
 * "failClosed")` (the default for NMI) re-asserts both chains and leaves them installed: after NMI exits
 * pods' connections are DNATed to a port nobody listens on and get "connection refused"; if the nat
 * chain is flushed, the guard resets them; neither path reaches IMDS. `release(spec, "remove")` deletes
 * everything, like the original's SIGTERM handler (fail-open), for operators who ask for it.
 */
export class IptablesNetfilter implements NetfilterPort {
  readonly #runner: CommandRunner;
  readonly #sysctl: SysctlAccess;
  #bin: IptablesBinaries;
  readonly #explicitBinaries: Partial<IptablesBinaries>;
  #backend: IptablesBackendSetting | undefined;
  readonly #lockWait: number;
  readonly #timeoutMs: number;
  readonly #reader: "iptables-save" | "iptables-S";
  readonly #flushConntrack: boolean;
  readonly #onConntrackFlush: ((outcome: ConntrackFlushOutcome) => void) | undefined;
  readonly #routeLocalnet: boolean;
  readonly #logger: LoggerPort | undefined;
  #serial: Promise<unknown> = Promise.resolve();

  /** Creates the adapter; see {@link IptablesNetfilterOptions}. */
  constructor(options: IptablesNetfilterOptions = {}) {
    this.#runner = options.runner ?? new ExecFileRunner();
    this.#sysctl = options.sysctl ?? new ProcSysctl();
    this.#explicitBinaries = options.binaries ?? {};
    this.#backend = options.backend;
    this.#bin = this.#binariesFor(options.backend === "nft" || options.backend === "legacy" ? options.backend : undefined);
    this.#lockWait = Math.max(1, Math.floor(options.lockWaitSeconds ?? 10));
    this.#timeoutMs = options.commandTimeoutMs ?? (this.#lockWait + 10) * 1000;
    this.#reader = options.reader ?? "iptables-save";
    this.#flushConntrack = options.flushConntrack ?? false;
    this.#onConntrackFlush = options.onConntrackFlush;
    this.#routeLocalnet = options.routeLocalnet ?? true;
    this.#logger = options.logger;
  }

  /**
   * An adapter acting on network namespace `netns` through `ip netns exec` (commands and sysctls run
   * inside it), with optional extra environment for the commands. For tests and for running NMI outside
   * the node's namespace.
   */
  static forNetns(netns: string, options: Omit<IptablesNetfilterOptions, "runner" | "sysctl"> & { readonly env?: Readonly<Record<string, string>> } = {}): IptablesNetfilter {
    const { env, ...rest } = options;
    const runner = new ExecFileRunner({ prefix: ["ip", "netns", "exec", netns], ...(env === undefined ? {} : { env }) });
    return new IptablesNetfilter({ ...rest, runner, sysctl: new RunnerSysctl(runner) });
  }

  /** Reads the filter and nat tables. */
  readRuleset(): Promise<Result<IptablesRuleset, NetfilterError>> {
    return this.#exclusive(async () => {
      await this.#resolveBackend(ownChains(DEFAULT_INTERCEPTION_SPEC));
      return this.#read();
    });
  }

  /** The backend whose tools run: fixed, or what `auto` detected (`undefined`: plain `iptables`, or not detected yet). */
  get backend(): IptablesBackend | undefined {
    return this.#backend === "nft" || this.#backend === "legacy" ? this.#backend : undefined;
  }

  /** Compares the installed rules with `spec` (drift lines name every difference). */
  inspect(spec: InterceptionSpec): Promise<Result<InterceptionState, NetfilterError>> {
    return this.#exclusive(async () => {
      const valid = checkSpec(spec);
      if (!valid.ok) return valid;
      await this.#resolveBackend(ownChains(spec));
      const current = await this.#read();
      return current.ok ? ok(inspectInterception(spec, current.value)) : current;
    });
  }

  /**
   * For a loopback target, first makes sure `route_localnet` is 1 (when it cannot be set, installs only the
   * guard and returns the error naming the fix). Then installs or repairs the rules in one `iptables-restore
   * --noflush` transaction per table (nothing is run when they are intact), retrying once on a failed restore
   * (another agent changed the tables between our read and write), and flushes conntrack (optional).
   * Returns the state read back afterwards.
   */
  ensure(spec: InterceptionSpec): Promise<Result<InterceptionState, NetfilterError>> {
    return this.#exclusive(() => this.#ensure(spec));
  }

  /**
   * Installs or repairs only the filter guard (one `iptables-restore --noflush` of the filter table, nothing
   * run when it is intact), leaving the nat table as it is: NMI's first step at start-up.
   */
  guard(spec: InterceptionSpec): Promise<Result<void, NetfilterError>> {
    return this.#exclusive(async () => {
      const valid = checkSpec(spec);
      if (!valid.ok) return valid;
      await this.#resolveBackend(ownChains(spec));
      return this.#guard(spec);
    });
  }

  /**
   * Shutdown. `failClosed` (NMI's default): re-asserts and KEEPS the DNAT and the guard, so pods cannot
   * reach the metadata address while NMI is down (their connections are refused). `remove`: deletes
   * podid's chains and jumps, restoring direct access like the original (fail-open).
   */
  release(spec: InterceptionSpec, mode: "failClosed" | "remove" = "failClosed"): Promise<Result<void, NetfilterError>> {
    return this.#exclusive(async () => {
      if (mode === "failClosed") {
        const state = await this.#ensure(spec);
        if (!state.ok) return state;
        this.#logger?.info({ chain: spec.chain, intact: state.value.intact }, "left metadata interception installed (fail-closed): pods are refused until NMI is back");
        return ok(undefined);
      }
      const valid = checkSpec(spec);
      if (!valid.ok) return valid;
      await this.#resolveBackend(ownChains(spec));
      const current = await this.#read();
      if (!current.ok) return current;
      const plan = planInterceptionRemoval(spec, current.value);
      if (plan.changes) {
        const applied = await this.#restore(plan);
        if (!applied.ok) return applied;
      }
      this.#logger?.warn({ chain: spec.chain }, "removed metadata interception (fail-open): pods can reach the metadata endpoint directly");
      return ok(undefined);
    });
  }

  /** Deletes conntrack entries to the metadata address now (see {@link IptablesNetfilterOptions.flushConntrack}). */
  flushConntrack(spec: InterceptionSpec): Promise<ConntrackFlushOutcome> {
    return this.#exclusive(() => this.#conntrack(spec));
  }

  async #guard(spec: InterceptionSpec): Promise<Result<void, NetfilterError>> {
    const current = await this.#read();
    if (!current.ok) return current;
    const plan = planGuardRepair(spec, current.value);
    if (!plan.changes) return ok(undefined);
    const applied = await this.#restore(plan);
    if (applied.ok) this.#logger?.info({ chain: spec.chain }, "installed the metadata guard: pod traffic to the metadata address is refused");
    return applied;
  }

  async #ensure(spec: InterceptionSpec): Promise<Result<InterceptionState, NetfilterError>> {
    const valid = checkSpec(spec);
    if (!valid.ok) return valid;
    await this.#resolveBackend(ownChains(spec));
    // route_localnet first: without it a DNAT to loopback would drop pod packets as martians (pods would
    // hang until their timeout); with only the guard installed they are refused at once instead.
    const localnet = await this.#ensureRouteLocalnet(spec);
    if (!localnet.ok) {
      const guarded = await this.#guard(spec);
      return guarded.ok ? localnet : guarded;
    }
    let changed = false;
    for (let attempt = 1; ; attempt += 1) {
      const current = await this.#read();
      if (!current.ok) return current;
      const plan = planInterceptionRepair(spec, current.value);
      if (!plan.changes) break;
      const drift = inspectInterception(spec, current.value).drift;
      const applied = await this.#restore(plan);
      if (applied.ok) {
        changed = true;
        this.#logger?.info({ chain: spec.chain, drift, tables: plan.tables }, "installed metadata interception rules");
        break;
      }
      if (attempt >= 2) return applied;
      this.#logger?.warn({ chain: spec.chain, error: describeNetfilterError(applied.error) }, "iptables-restore failed; re-reading the rules and retrying once");
    }
    if (changed && this.#flushConntrack) await this.#conntrack(spec);
    const after = await this.#read();
    return after.ok ? ok(inspectInterception(spec, after.value)) : after;
  }

  async #ensureRouteLocalnet(spec: InterceptionSpec): Promise<Result<void, NetfilterError>> {
    if (!this.#routeLocalnet || !isLoopbackIpv4(spec.targetAddress)) return ok(undefined);
    const current = await this.#sysctl.read(ROUTE_LOCALNET_SYSCTL);
    if (current.ok && current.value === "1") return ok(undefined);
    const written = await this.#sysctl.write(ROUTE_LOCALNET_SYSCTL, "1");
    if (!written.ok) {
      return err({
        kind: "unavailable",
        message:
          `DNAT to ${spec.targetAddress} needs net.ipv4.conf.all.route_localnet=1, which is ${current.ok ? current.value : "unreadable"} and cannot be set here (${written.error}): ` +
          "set net.ipv4.conf.all.route_localnet=1 on the node, or let NMI DNAT to the node IP (env HOST_IP from status.hostIP)",
      });
    }
    this.#logger?.info({ sysctl: ROUTE_LOCALNET_SYSCTL }, "enabled route_localnet for the DNAT to loopback");
    return ok(undefined);
  }

  async #conntrack(spec: InterceptionSpec): Promise<ConntrackFlushOutcome> {
    const outcome = await flushMetadataConntrack(this.#runner, spec, { binary: this.#bin.conntrack, timeoutMs: this.#timeoutMs });
    if (outcome.kind === "flushed") this.#logger?.info({ deleted: outcome.deleted }, "flushed conntrack entries to the metadata address");
    else this.#logger?.warn({ outcome: outcome.kind, reason: outcome.reason }, "conntrack flush skipped");
    this.#onConntrackFlush?.(outcome);
    return outcome;
  }

  async #read(): Promise<Result<IptablesRuleset, NetfilterError>> {
    const tables = new Map<string, IptablesTable>();
    for (const table of TABLES) {
      const argv: [string, ...string[]] =
        this.#reader === "iptables-save" ? [this.#bin.iptablesSave, "-t", table] : [this.#bin.iptables, "-w", String(this.#lockWait), "-t", table, "-S"];
      const outcome = await this.#runner.run(argv, { timeoutMs: this.#timeoutMs });
      const failure = netfilterErrorOf(outcome);
      if (failure !== undefined) return err(failure);
      if (outcome.kind !== "exited") return err({ kind: "commandFailed", exitCode: -1, stderr: "unexpected outcome" });
      const parsed = parseIptablesDump(outcome.stdout, table);
      if (!parsed.ok) {
        return err({ kind: "commandFailed", exitCode: 0, stderr: `cannot parse ${argv[0]} output line ${String(parsed.error.line)} (${parsed.error.message}): ${parsed.error.text}` });
      }
      tables.set(table, parsed.value.tables.get(table) ?? { name: table, chains: new Map() });
    }
    return ok({ tables });
  }

  async #restore(plan: RestorePlan): Promise<Result<void, NetfilterError>> {
    const outcome = await this.#runner.run([this.#bin.iptablesRestore, "--noflush", "-w", String(this.#lockWait)], { input: plan.script, timeoutMs: this.#timeoutMs });
    const failure = netfilterErrorOf(outcome);
    return failure === undefined ? ok(undefined) : err(failure);
  }

  #binariesFor(backend: IptablesBackend | undefined): IptablesBinaries {
    const named = backend === undefined ? { iptables: "iptables", iptablesSave: "iptables-save", iptablesRestore: "iptables-restore" } : backendBinaries(backend);
    return { ...named, conntrack: "conntrack", ...this.#explicitBinaries };
  }

  /** With `backend: "auto"`, detects the backend once (before the first operation) and logs the choice. */
  async #resolveBackend(own: readonly string[]): Promise<void> {
    if (this.#backend !== "auto") return;
    const detected = await detectIptablesBackend(this.#runner, own, this.#timeoutMs);
    this.#backend = detected.backend;
    this.#bin = this.#binariesFor(detected.backend);
    this.#logger?.info(
      { backend: detected.backend, reason: detected.reason, nftRules: detected.nft.rules, legacyRules: detected.legacy.rules, nftKubeletHint: detected.nft.kubeletHint, legacyKubeletHint: detected.legacy.kubeletHint, unreadable: detected.unreadable },
      `iptables backend: ${detected.backend}`,
    );
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(operation, operation);
    this.#serial = next.catch(() => undefined);
    return next;
  }
}

/** The chains podid owns for `spec`; their rules never count when detecting the backend. */
function ownChains(spec: InterceptionSpec): readonly string[] {
  return [spec.chain, guardChainName(spec)];
}

function checkSpec(spec: InterceptionSpec): Result<InterceptionSpec, NetfilterError> {
  const valid = validateInterceptionSpec(spec);
  return valid.ok ? valid : err({ kind: "unavailable", message: `invalid interception spec: ${describeInterceptionSpecError(valid.error)}` });
}
