/**
 * The interception spec: which metadata traffic NMI takes over, where it goes, and the names of the
 * chains that hold the rules. Validation keeps everything that ends up in an `iptables-restore` script
 * free of characters that could change the script's meaning.
 * @packageDocumentation
 */
import type { InterceptionSpec } from "../ports/netfilter.port.js";
import { err, ok, type Result } from "../result.js";
import { normalizeIpAddress } from "../nmi/ip-address.js";

/** The original's nat chain name (`pkg/nmi/iptables`), kept so operators' runbooks and dashboards still apply. */
export const DEFAULT_INTERCEPTION_CHAIN = "aad-metadata";

/** Suffix of the filter-table guard chain podid adds next to the nat chain (the original had none). */
export const GUARD_CHAIN_SUFFIX = "-guard";

/** The original's `--ipt-update-interval-sec` default: the rules are re-checked every 60 s. */
export const DEFAULT_IPT_UPDATE_INTERVAL_SECONDS = 60;

/**
 * The original's defaults (`--metadata-ip`, `--metadata-port`, `--nmi-port`, listen address 127.0.0.1):
 * pod TCP traffic to 169.254.169.254:80 is DNATed to NMI on 127.0.0.1:2579.
 */
export const DEFAULT_INTERCEPTION_SPEC: InterceptionSpec = {
  chain: DEFAULT_INTERCEPTION_CHAIN,
  metadataAddress: "169.254.169.254",
  metadataPort: 80,
  targetAddress: "127.0.0.1",
  targetPort: 2579,
};

/**
 * The longest chain name the kernel accepts is 28 characters (`XT_EXTENSION_MAXNAMELEN` 29 with the NUL);
 * the guard chain adds {@link GUARD_CHAIN_SUFFIX}, so the nat chain may use what is left.
 */
export const MAX_INTERCEPTION_CHAIN_LENGTH = 28 - GUARD_CHAIN_SUFFIX.length;

/** Built-in chain names a custom chain must never take (creating/flushing them would hit other agents' rules). */
const BUILT_IN_CHAINS: ReadonlySet<string> = new Set(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]);

/** Why an {@link InterceptionSpec} was refused. */
export type InterceptionSpecError =
  | { readonly kind: "invalidChain"; readonly chain: string; readonly message: string }
  | { readonly kind: "invalidAddress"; readonly field: "metadataAddress" | "targetAddress"; readonly value: string }
  | { readonly kind: "invalidPort"; readonly field: "metadataPort" | "targetPort"; readonly value: number };

/** One line describing `error`, for logs and `NetfilterError` messages. */
export function describeInterceptionSpecError(error: InterceptionSpecError): string {
  switch (error.kind) {
    case "invalidChain":
      return `invalid chain name ${JSON.stringify(error.chain)}: ${error.message}`;
    case "invalidAddress":
      return `${error.field} ${JSON.stringify(error.value)} is not a dotted-quad IPv4 address`;
    case "invalidPort":
      return `${error.field} ${String(error.value)} is not a TCP port (1-65535)`;
  }
}

/** The name of the filter-table guard chain for `spec` (`aad-metadata-guard` by default). */
export function guardChainName(spec: InterceptionSpec): string {
  return `${spec.chain}${GUARD_CHAIN_SUFFIX}`;
}

/** True when `address` is in 127.0.0.0/8: DNAT there from PREROUTING needs `route_localnet=1`. */
export function isLoopbackIpv4(address: string): boolean {
  const canonical = normalizeIpAddress(address);
  return canonical !== undefined && !canonical.includes(":") && canonical.startsWith("127.");
}

function checkAddress(field: "metadataAddress" | "targetAddress", value: string): InterceptionSpecError | undefined {
  // Only IPv4: IMDS is IPv4-only and these rules are iptables (not ip6tables) rules. The canonical text is
  // required so the rendered rule equals what iptables-save prints back.
  const canonical = normalizeIpAddress(value);
  return canonical === value && !value.includes(":") ? undefined : { kind: "invalidAddress", field, value };
}

function checkPort(field: "metadataPort" | "targetPort", value: number): InterceptionSpecError | undefined {
  return Number.isInteger(value) && value >= 1 && value <= 65535 ? undefined : { kind: "invalidPort", field, value };
}

function checkChain(chain: string): InterceptionSpecError | undefined {
  const fail = (message: string): InterceptionSpecError => ({ kind: "invalidChain", chain, message });
  if (chain.length === 0 || chain.length > MAX_INTERCEPTION_CHAIN_LENGTH) {
    return fail(`must be 1-${String(MAX_INTERCEPTION_CHAIN_LENGTH)} characters`);
  }
  // A leading "-" or "!" would be read as an option or negation; spaces/quotes would split script tokens.
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(chain)) return fail("only letters, digits, '_', '.', '-' (not first) are allowed");
  if (BUILT_IN_CHAINS.has(chain.toUpperCase())) return fail("is a built-in chain");
  if (/^(ACCEPT|DROP|REJECT|RETURN|QUEUE|DNAT|SNAT|MASQUERADE|REDIRECT|LOG|MARK)$/i.test(chain)) return fail("is a target name");
  return undefined;
}

/**
 * Checks that `spec` can be rendered safely: an IPv4 metadata and target address in canonical form, TCP
 * ports, and a chain name iptables accepts that leaves room for the guard chain's suffix.
 */
export function validateInterceptionSpec(spec: InterceptionSpec): Result<InterceptionSpec, InterceptionSpecError> {
  const problem =
    checkChain(spec.chain) ??
    checkAddress("metadataAddress", spec.metadataAddress) ??
    checkAddress("targetAddress", spec.targetAddress) ??
    checkPort("metadataPort", spec.metadataPort) ??
    checkPort("targetPort", spec.targetPort);
  return problem === undefined ? ok(spec) : err(problem);
}
