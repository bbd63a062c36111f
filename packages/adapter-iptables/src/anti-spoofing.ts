import {
  ANTI_SPOOFING_TABLE,
  diffAttachments,
  err,
  ok,
  renderAntiSpoofingScript,
  resolvePodAttachments,
  type AttachmentDiff,
  type AttachmentResolution,
  type LoggerPort,
  type NetfilterError,
  type NodeNetworkFacts,
  type PodAttachment,
  type Result,
} from "@podid/core";
import { ExecFileRunner, type CommandRunner } from "./command-runner.js";
import { netfilterErrorOf } from "./netfilter-errors.js";

/**
 * The node side of anti-spoofing (docs/adr/0010-anti-spoofing.md): reads where each pod IP enters the
 * node (`ip -4 -j route`, `ip -4 -j neigh`, `bridge -j fdb`, `bridge -j link`), resolves it with core's
 * `resolvePodAttachments`, and applies core's `renderAntiSpoofingScript` with ONE `nft -f` (one
 * transaction replacing both podid tables). A sync re-applies when the bindings changed or when the
 * installed tables no longer read back as podid left them (flushed, deleted, edited).
 * @packageDocumentation
 */

/** Options of {@link NftAntiSpoofing}. */
export interface NftAntiSpoofingOptions {
  /** The metadata address the rules protect. */
  readonly metadataAddress: string;
  /** Runs the commands (default: `execFile` in this process's namespace). */
  readonly runner?: CommandRunner;
  readonly binaries?: Partial<{ readonly ip: string; readonly bridge: string; readonly nft: string }>;
  readonly commandTimeoutMs?: number;
  readonly logger?: LoggerPort;
}

/** The outcome of one {@link NftAntiSpoofing.sync}. */
export interface AntiSpoofingSync {
  readonly resolution: AttachmentResolution;
  /** Bindings changed since the previous sync. */
  readonly diff: AttachmentDiff;
  /** True when `nft -f` ran (bindings changed or the tables had drifted). */
  readonly applied: boolean;
  /** Why the tables were re-applied although the bindings were unchanged (empty otherwise). */
  readonly drift: readonly string[];
}

type Row = Record<string, unknown>;

function rows(text: string): Row[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  const parsed: unknown = JSON.parse(trimmed);
  return Array.isArray(parsed) ? parsed.filter((r): r is Row => typeof r === "object" && r !== null) : [];
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Parses the four JSON listings into core's {@link NodeNetworkFacts} (unknown shapes are skipped). */
export function parseNodeNetworkFacts(listings: { readonly routes: string; readonly neighbours: string; readonly fdb: string; readonly links: string }): NodeNetworkFacts {
  const routes = rows(listings.routes).flatMap((r) => {
    const dst = str(r["dst"]);
    const dev = str(r["dev"]);
    return dst !== undefined && dev !== undefined ? [{ dst, dev }] : [];
  });
  const neighbours = rows(listings.neighbours).flatMap((r) => {
    const ip = str(r["dst"]);
    const dev = str(r["dev"]);
    const mac = str(r["lladdr"]);
    const state = Array.isArray(r["state"]) ? (r["state"] as unknown[]) : [];
    if (ip === undefined || dev === undefined || mac === undefined || state.includes("FAILED") || state.includes("INCOMPLETE")) return [];
    return [{ ip, dev, mac }];
  });
  const fdb = rows(listings.fdb).flatMap((r) => {
    const mac = str(r["mac"]);
    const port = str(r["ifname"]);
    const bridge = str(r["master"]);
    const flags = Array.isArray(r["flags"]) ? (r["flags"] as unknown[]) : [];
    // Permanent entries are the bridge's and ports' own MACs; `self` entries belong to the device itself.
    if (mac === undefined || port === undefined || bridge === undefined || r["state"] === "permanent" || flags.includes("self")) return [];
    return [{ mac, port, bridge }];
  });
  const bridgePorts = rows(listings.links).flatMap((r) => {
    const port = str(r["ifname"]);
    const bridge = str(r["master"]);
    return port !== undefined && bridge !== undefined ? [{ port, bridge }] : [];
  });
  return { routes, neighbours, fdb, bridgePorts };
}

/** Reads the node, resolves pod IPs to interfaces and keeps podid's nftables anti-spoofing tables in place. */
export class NftAntiSpoofing {
  readonly #o: NftAntiSpoofingOptions;
  readonly #runner: CommandRunner;
  readonly #bin: { readonly ip: string; readonly bridge: string; readonly nft: string };
  readonly #timeoutMs: number;
  #bound: ReadonlyMap<string, PodAttachment> = new Map();
  #installed: string | undefined;
  #serial: Promise<unknown> = Promise.resolve();

  /** Creates the adapter; nothing runs until {@link sync}. */
  constructor(options: NftAntiSpoofingOptions) {
    this.#o = options;
    this.#runner = options.runner ?? new ExecFileRunner();
    this.#bin = { ip: options.binaries?.ip ?? "ip", bridge: options.binaries?.bridge ?? "bridge", nft: options.binaries?.nft ?? "nft" };
    this.#timeoutMs = options.commandTimeoutMs ?? 10_000;
  }

  /** An adapter acting on network namespace `netns` (tests). */
  static forNetns(netns: string, options: Omit<NftAntiSpoofingOptions, "runner">): NftAntiSpoofing {
    return new NftAntiSpoofing({ ...options, runner: new ExecFileRunner({ prefix: ["ip", "netns", "exec", netns] }) });
  }

  /** The bindings of the last successful sync. */
  get bound(): ReadonlyMap<string, PodAttachment> {
    return this.#bound;
  }

  /** Reads the node's routes, neighbours and bridge tables. */
  readFacts(): Promise<Result<NodeNetworkFacts, NetfilterError>> {
    return this.#exclusive(() => this.#readFacts());
  }

  /**
   * Resolves `podIps` (this node's pods) and makes the tables match: one `nft -f` when the bindings
   * changed or the installed tables drifted. On a failure nothing is changed in memory (the previous
   * bindings and tables stay, i.e. closed for pods added since).
   */
  sync(podIps: Iterable<string>): Promise<Result<AntiSpoofingSync, NetfilterError>> {
    const ips = [...podIps];
    return this.#exclusive(async () => {
      const facts = await this.#readFacts();
      if (!facts.ok) return facts;
      const resolution = resolvePodAttachments(ips, facts.value, this.#bound);
      const diff = diffAttachments(this.#bound, resolution.bound);
      const current = await this.#list();
      const drift: string[] = [];
      if (this.#installed === undefined) drift.push("not installed by this process yet");
      else if (current !== this.#installed) drift.push(`nft tables ${ANTI_SPOOFING_TABLE} differ from what podid installed`);
      const changed = diff.added.length + diff.removed.length + diff.changed.length > 0;
      if (!changed && drift.length === 0) {
        this.#bound = resolution.bound;
        return ok({ resolution, diff, applied: false, drift: [] });
      }
      const script = renderAntiSpoofingScript(this.#o.metadataAddress, resolution.bound);
      const applied = await this.#runner.run([this.#bin.nft, "-f", "-"], { input: script, timeoutMs: this.#timeoutMs });
      const failure = netfilterErrorOf(applied);
      if (failure !== undefined) return err(failure);
      this.#installed = await this.#list();
      this.#bound = resolution.bound;
      this.#o.logger?.info(
        { added: diff.added, removed: diff.removed, changed: diff.changed, unresolved: Object.fromEntries(resolution.unresolved), drift: changed ? [] : drift },
        "applied anti-spoofing rules",
      );
      return ok({ resolution, diff, applied: true, drift: changed ? [] : drift });
    });
  }

  /** Deletes both tables (only for `--interception-release=remove`). */
  remove(): Promise<Result<void, NetfilterError>> {
    return this.#exclusive(async () => {
      const t = ANTI_SPOOFING_TABLE;
      const script = `table ip ${t}\ndelete table ip ${t}\ntable bridge ${t}\ndelete table bridge ${t}\n`;
      const failure = netfilterErrorOf(await this.#runner.run([this.#bin.nft, "-f", "-"], { input: script, timeoutMs: this.#timeoutMs }));
      if (failure !== undefined) return err(failure);
      this.#installed = undefined;
      this.#bound = new Map();
      return ok(undefined);
    });
  }

  async #list(): Promise<string> {
    const parts: string[] = [];
    for (const family of ["ip", "bridge"]) {
      const outcome = await this.#runner.run([this.#bin.nft, "list", "table", family, ANTI_SPOOFING_TABLE], { timeoutMs: this.#timeoutMs });
      parts.push(outcome.kind === "exited" && outcome.exitCode === 0 ? outcome.stdout : `<${family} table missing>`);
    }
    return parts.join("\n");
  }

  async #readFacts(): Promise<Result<NodeNetworkFacts, NetfilterError>> {
    const commands = {
      routes: [this.#bin.ip, "-4", "-j", "route", "show", "table", "main"],
      neighbours: [this.#bin.ip, "-4", "-j", "neigh", "show"],
      fdb: [this.#bin.bridge, "-j", "fdb", "show"],
      links: [this.#bin.bridge, "-j", "link", "show"],
    } as const;
    const out: Record<string, string> = {};
    for (const [key, argv] of Object.entries(commands)) {
      const outcome = await this.#runner.run(argv as unknown as [string, ...string[]], { timeoutMs: this.#timeoutMs });
      const failure = netfilterErrorOf(outcome);
      if (failure !== undefined) return err(failure);
      out[key] = outcome.kind === "exited" ? outcome.stdout : "";
    }
    try {
      return ok(parseNodeNetworkFacts({ routes: out["routes"] ?? "", neighbours: out["neighbours"] ?? "", fdb: out["fdb"] ?? "", links: out["links"] ?? "" }));
    } catch (error) {
      return err({ kind: "commandFailed", exitCode: 0, stderr: `cannot parse ip/bridge JSON: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  #exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(operation, operation);
    this.#serial = next.catch(() => undefined);
    return next;
  }
}
