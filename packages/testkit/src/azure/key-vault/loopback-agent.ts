import { Agent, type AgentOptions, type RequestOptions } from "node:https";
import type { Duplex } from "node:stream";
import { connectPort, findLoopbackHost, type LoopbackHostMapping } from "./loopback-hosts.js";

/** Options of {@link LoopbackHostsAgent}. */
export interface LoopbackHostsAgentOptions extends AgentOptions {
  /** Which real host names go to which loopback server. */
  readonly mappings: readonly LoopbackHostMapping[];
  /** CA certificate(s) (PEM) trusted for the mapped connections only; other hosts keep the default trust. */
  readonly mappedCa?: string | readonly string[];
}

/**
 * An `https.Agent` that sends connections for listed host names (e.g. `*.vault.azure.net:443`) to a server
 * on loopback while the TLS layer still sees the real name: SNI and the certificate check use
 * `demo-kv.vault.azure.net`, so the client's behaviour (the Key Vault SDK's challenge-resource check on the
 * URL's host name, certificate validation) is exactly that of production. Other hosts connect normally.
 * Pass it as the `agent` client option of an Azure SDK client (core-rest-pipeline's agent policy).
 *
 * Test-only, and the reason it exists: the SDK refuses a challenge whose resource does not match the
 * request's domain, so a fake vault must be reached under its real name
 * (docs/adr/0020-fake-key-vault-under-real-host-names.md).
 */
export class LoopbackHostsAgent extends Agent {
  readonly #mappings: readonly LoopbackHostMapping[];
  readonly #ca: string | readonly string[] | undefined;

  constructor(options: LoopbackHostsAgentOptions) {
    const { mappings, mappedCa, ...agentOptions } = options;
    super(agentOptions);
    this.#mappings = mappings;
    this.#ca = mappedCa;
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const host = options.host ?? options.hostname ?? undefined;
    const mapping = findLoopbackHost(this.#mappings, host ?? undefined, connectPort(options.port));
    if (mapping === undefined) return super.createConnection(options, callback);
    return super.createConnection(
      {
        ...options,
        host: mapping.targetHost,
        hostname: mapping.targetHost,
        port: mapping.targetPort,
        // SNI and the certificate check keep the real name (the agent already derived it from the URL).
        servername: options.servername ?? host ?? undefined,
        ...(this.#ca !== undefined ? { ca: typeof this.#ca === "string" ? this.#ca : [...this.#ca] } : {}),
      } as RequestOptions,
      callback,
    );
  }
}
