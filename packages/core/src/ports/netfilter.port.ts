import type { Result } from "../result.js";

/** The interception NMI wants in place: pod TCP traffic to the metadata address goes to NMI instead. */
export interface InterceptionSpec {
  /** Custom nat chain, `aad-metadata` for compatibility. */
  readonly chain: string;
  readonly metadataAddress: string;
  readonly metadataPort: number;
  /** Where NMI listens (the DNAT target). */
  readonly targetAddress: string;
  readonly targetPort: number;
}

/** What is installed right now. */
export interface InterceptionState {
  /** True when the chain holds exactly the expected rules and PREROUTING jumps to it first. */
  readonly intact: boolean;
  /** Human-readable differences when not intact. */
  readonly drift: readonly string[];
}

/** Why a netfilter operation failed. */
export type NetfilterError =
  | { readonly kind: "lockTimeout"; readonly message: string }
  | { readonly kind: "commandFailed"; readonly exitCode: number; readonly stderr: string }
  | { readonly kind: "unavailable"; readonly message: string };

/** Manages the metadata interception rules (adapter-iptables). */
export interface NetfilterPort {
  /** Atomically installs or repairs the rules. */
  ensure(spec: InterceptionSpec): Promise<Result<InterceptionState, NetfilterError>>;
  /**
   * Installs or repairs only the guard — pod traffic to the metadata address that no DNAT rewrote is
   * refused — and leaves the DNAT alone. NMI calls it first thing at start-up (and when its flags are
   * invalid), before anything that can fail, so pods never reach IMDS while NMI is not healthy.
   */
  guard(spec: InterceptionSpec): Promise<Result<void, NetfilterError>>;
  /** Reads the current rules and compares them with `spec`. */
  inspect(spec: InterceptionSpec): Promise<Result<InterceptionState, NetfilterError>>;
  /**
   * On shutdown: `failClosed` leaves pod traffic to the metadata address blocked (the default);
   * `remove` deletes the rules like the original (fail-open).
   */
  release(spec: InterceptionSpec, mode: "failClosed" | "remove"): Promise<Result<void, NetfilterError>>;
}
