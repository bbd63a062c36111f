import {
  err,
  ok,
  type InterceptionSpec,
  type InterceptionState,
  type NetfilterError,
  type NetfilterPort,
  type Result,
} from "@podid/core";

/** Ways {@link FakeNetfilter.tamper} can disturb the rules, modelled on what happens on real nodes. */
export type NetfilterTamper =
  /** `iptables -t nat -F <chain>`: the chain stays, its rules go. */
  | "flushChain"
  /** The chain and the PREROUTING jump are gone (e.g. another agent cleaned up). */
  | "deleteChain"
  /** Only the PREROUTING jump is gone. */
  | "removeJump"
  /** Another rule was inserted before the jump (kube-proxy, CNI), so it is no longer first. */
  | "jumpNotFirst"
  /** The DNAT points somewhere else (a stale port from an older NMI). */
  | "wrongTarget"
  /** An unexpected extra rule was appended to the chain. */
  | "extraRule"
  /** `iptables -t nat -F` on the whole table. */
  | "flushTable";

/** What a pod's TCP packet to the metadata address would meet with the current rules. */
export type MetadataTrafficVerdict =
  /** DNATed to NMI (spec's target). */
  | "intercepted"
  /** Dropped/rejected by the fail-closed block rule. */
  | "blocked"
  /** DNATed somewhere other than NMI's address and port (e.g. a stale port). */
  | "misrouted"
  /** Reaches the real metadata endpoint: the unsafe state. */
  | "direct";

/** Counters of {@link FakeNetfilter}. */
export interface NetfilterCounts {
  readonly ensures: number;
  /** `ensure` calls that had to change something. */
  readonly repairs: number;
  readonly inspects: number;
  readonly releases: number;
  /** `guard` calls. */
  readonly guards: number;
  /** Calls that returned an error. */
  readonly failures: number;
  /** `tamper` calls. */
  readonly tampers: number;
}

/** The netfilter operations, for fault targeting. */
export type NetfilterOp = "ensure" | "inspect" | "release" | "guard";

const PREROUTING = "PREROUTING";
const FORWARD = "FORWARD";

function dnatRule(spec: InterceptionSpec, chain = spec.chain): string {
  return `-A ${chain} ! -s 127.0.0.1/32 -d ${spec.metadataAddress}/32 -p tcp -m tcp --dport ${spec.metadataPort} -j DNAT --to-destination ${spec.targetAddress}:${spec.targetPort}`;
}

function returnRule(spec: InterceptionSpec): string {
  return `-A ${spec.chain} -j RETURN`;
}

function jumpRule(spec: InterceptionSpec): string {
  return `-A ${PREROUTING} -j ${spec.chain}`;
}

function blockRule(spec: InterceptionSpec): string {
  return `-A ${FORWARD} -d ${spec.metadataAddress}/32 -p tcp -m tcp --dport ${spec.metadataPort} -j REJECT --reject-with tcp-reset`;
}

/**
 * An in-memory netfilter implementing {@link NetfilterPort}, in the rule syntax of `iptables -S` and the
 * layout the original NMI used (nat chain `aad-metadata` with a DNAT rule and a RETURN, jumped to from
 * the first PREROUTING rule). {@link tamper} simulates drift, after which {@link inspect} reports it and
 * {@link ensure} repairs it; {@link verdict} evaluates what a pod's metadata packet would meet, so tests
 * can prove the node is never left "direct". `release(…, "failClosed")` removes the interception and
 * leaves a FORWARD reject rule for the metadata address; `remove` leaves nothing (the original's
 * fail-open shutdown).
 */
export class FakeNetfilter implements NetfilterPort {
  /** nat table: chain → rules (`-A` lines). PREROUTING always exists. */
  readonly #nat = new Map<string, string[]>([[PREROUTING, []]]);
  /** filter table FORWARD chain. */
  readonly #forward: string[] = [];
  readonly #failures: Array<{ error: NetfilterError; ops: readonly NetfilterOp[] }> = [];
  readonly #faults = new Set<(op: NetfilterOp) => NetfilterError | undefined>();
  #counts = { ensures: 0, repairs: 0, inspects: 0, releases: 0, guards: 0, failures: 0, tampers: 0 };

  /** Installs or repairs the interception atomically; also removes a fail-closed block rule. */
  async ensure(spec: InterceptionSpec): Promise<Result<InterceptionState, NetfilterError>> {
    this.#counts.ensures++;
    await Promise.resolve();
    const fault = this.#fault("ensure");
    if (fault !== undefined) return err(fault);
    const before = this.#inspectNow(spec);
    const blockIndex = this.#forward.indexOf(blockRule(spec));
    if (!before.intact || blockIndex >= 0) this.#counts.repairs++;
    this.#nat.set(spec.chain, [dnatRule(spec), returnRule(spec)]);
    const prerouting = this.#chain(PREROUTING).filter((r) => r !== jumpRule(spec));
    this.#nat.set(PREROUTING, [jumpRule(spec), ...prerouting]);
    if (blockIndex >= 0) this.#forward.splice(blockIndex, 1);
    return ok(this.#inspectNow(spec));
  }

  /**
   * Installs only the block rule for the metadata address (NMI's start-up guard), leaving the nat table as
   * it is; {@link verdict} is then `blocked` unless a DNAT to NMI intercepts first.
   */
  async guard(spec: InterceptionSpec): Promise<Result<void, NetfilterError>> {
    this.#counts.guards++;
    await Promise.resolve();
    const fault = this.#fault("guard");
    if (fault !== undefined) return err(fault);
    if (!this.#forward.includes(blockRule(spec))) this.#forward.unshift(blockRule(spec));
    return ok(undefined);
  }

  /** Compares the current rules with `spec`. */
  async inspect(spec: InterceptionSpec): Promise<Result<InterceptionState, NetfilterError>> {
    this.#counts.inspects++;
    await Promise.resolve();
    const fault = this.#fault("inspect");
    if (fault !== undefined) return err(fault);
    return ok(this.#inspectNow(spec));
  }

  /** Removes the interception; `failClosed` leaves a block rule for the metadata address. */
  async release(spec: InterceptionSpec, mode: "failClosed" | "remove"): Promise<Result<void, NetfilterError>> {
    this.#counts.releases++;
    await Promise.resolve();
    const fault = this.#fault("release");
    if (fault !== undefined) return err(fault);
    this.#nat.set(PREROUTING, this.#chain(PREROUTING).filter((r) => r !== jumpRule(spec)));
    this.#nat.delete(spec.chain);
    const block = blockRule(spec);
    const blockIndex = this.#forward.indexOf(block);
    if (mode === "failClosed" && blockIndex < 0) this.#forward.unshift(block);
    if (mode === "remove" && blockIndex >= 0) this.#forward.splice(blockIndex, 1);
    return ok(undefined);
  }

  /** Disturbs the rules for `spec` the way `kind` describes (default `flushChain`). */
  tamper(spec: InterceptionSpec, kind: NetfilterTamper = "flushChain"): void {
    this.#counts.tampers++;
    switch (kind) {
      case "flushChain":
        if (this.#nat.has(spec.chain)) this.#nat.set(spec.chain, []);
        break;
      case "deleteChain":
        this.#nat.delete(spec.chain);
        this.#nat.set(PREROUTING, this.#chain(PREROUTING).filter((r) => r !== jumpRule(spec)));
        break;
      case "removeJump":
        this.#nat.set(PREROUTING, this.#chain(PREROUTING).filter((r) => r !== jumpRule(spec)));
        break;
      case "jumpNotFirst":
        this.#nat.set(PREROUTING, [`-A ${PREROUTING} -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`, ...this.#chain(PREROUTING)]);
        break;
      case "wrongTarget":
        this.#nat.set(spec.chain, this.#chain(spec.chain).map((r) => (r === dnatRule(spec) ? dnatRule({ ...spec, targetPort: spec.targetPort + 1 }) : r)));
        break;
      case "extraRule":
        this.#nat.set(spec.chain, [...this.#chain(spec.chain), `-A ${spec.chain} -j ACCEPT`]);
        break;
      case "flushTable":
        for (const chain of this.#nat.keys()) this.#nat.set(chain, []);
        break;
    }
  }

  /**
   * What a pod's TCP packet to `spec.metadataAddress:metadataPort` would meet: walks PREROUTING and
   * jumped-to chains for a matching DNAT (`intercepted` only when it targets NMI), then FORWARD.
   */
  verdict(spec: InterceptionSpec): MetadataTrafficVerdict {
    const matchesDnat = (rule: string, chain: string): "nmi" | "elsewhere" | undefined => {
      const prefix = `-A ${chain} ! -s 127.0.0.1/32 -d ${spec.metadataAddress}/32 -p tcp -m tcp --dport ${spec.metadataPort} -j DNAT --to-destination `;
      if (!rule.startsWith(prefix)) return undefined;
      return rule.slice(prefix.length) === `${spec.targetAddress}:${spec.targetPort}` ? "nmi" : "elsewhere";
    };
    walk: for (const rule of this.#chain(PREROUTING)) {
      const jump = /^-A PREROUTING -j (\S+)$/.exec(rule)?.[1];
      if (jump === undefined) continue;
      for (const inner of this.#chain(jump)) {
        const dnat = matchesDnat(inner, jump);
        if (dnat === "nmi") return "intercepted";
        if (dnat === "elsewhere") return "misrouted";
        if (inner === `-A ${jump} -j RETURN`) break;
        // ACCEPT ends nat processing for the packet: no DNAT will happen.
        if (inner === `-A ${jump} -j ACCEPT`) break walk;
      }
    }
    return this.#forward.includes(blockRule(spec)) ? "blocked" : "direct";
  }

  /** The rules as `iptables -S` would print them, per table, for assertions and debugging. */
  rules(): { readonly nat: ReadonlyMap<string, readonly string[]>; readonly filter: ReadonlyMap<string, readonly string[]> } {
    return {
      nat: new Map([...this.#nat].map(([chain, rules]) => [chain, [...rules]])),
      filter: new Map([[FORWARD, [...this.#forward]]]),
    };
  }

  /** Makes the next `n` calls (optionally only of `ops`) fail with `error`. */
  failNext(n: number, error: NetfilterError, ops: readonly NetfilterOp[] = ["ensure", "inspect", "release"]): void {
    for (let i = 0; i < n; i++) this.#failures.push({ error, ops });
  }

  /** Adds a predicate consulted on every call; returns a function removing it. */
  injectFault(fault: (op: NetfilterOp) => NetfilterError | undefined): () => void {
    this.#faults.add(fault);
    return () => {
      this.#faults.delete(fault);
    };
  }

  /** Calls so far. */
  counts(): NetfilterCounts {
    return { ...this.#counts };
  }

  #fault(op: NetfilterOp): NetfilterError | undefined {
    const index = this.#failures.findIndex((f) => f.ops.includes(op));
    const queued = index >= 0 ? this.#failures.splice(index, 1)[0] : undefined;
    const error = queued?.error ?? [...this.#faults].map((f) => f(op)).find((e) => e !== undefined);
    if (error !== undefined) this.#counts.failures++;
    return error;
  }

  #chain(name: string): string[] {
    return this.#nat.get(name) ?? [];
  }

  #inspectNow(spec: InterceptionSpec): InterceptionState {
    const drift: string[] = [];
    const chain = this.#nat.get(spec.chain);
    if (chain === undefined) {
      drift.push(`nat chain ${spec.chain} does not exist`);
    } else {
      const expected = [dnatRule(spec), returnRule(spec)];
      for (const rule of expected) if (!chain.includes(rule)) drift.push(`chain ${spec.chain} is missing rule: ${rule}`);
      for (const rule of chain) if (!expected.includes(rule)) drift.push(`chain ${spec.chain} has unexpected rule: ${rule}`);
      if (drift.length === 0 && chain.some((rule, i) => rule !== expected[i])) drift.push(`chain ${spec.chain} rules are out of order`);
    }
    const jumpAt = this.#chain(PREROUTING).indexOf(jumpRule(spec));
    if (jumpAt < 0) drift.push(`${PREROUTING} does not jump to ${spec.chain}`);
    else if (jumpAt > 0) drift.push(`${PREROUTING} jump to ${spec.chain} is at position ${jumpAt + 1}, expected 1`);
    return { intact: drift.length === 0, drift };
  }
}
