import { readFileSync } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent, type AgentOptions } from "node:https";
// The two authenticators podid supports beyond static credentials, deep-imported so client-node's root
// (every generated API) stays out of the process (docs/adr/0011-lean-kube-access.md).
import { ExecAuth } from "@kubernetes/client-node/dist/exec_auth.js";
import { FileAuth } from "@kubernetes/client-node/dist/file_auth.js";
import type { KubeCluster, KubeConfig, KubeUser } from "./kube-config.js";

/** What an authenticator may set on a request (the shape client-node's authenticators write into). */
interface AuthOptions {
  headers: Record<string, string>;
  cert?: string | Buffer;
  key?: string | Buffer;
}

interface Authenticator {
  applyAuthentication(user: KubeUser, opts: AuthOptions): Promise<void>;
}

/**
 * The transport settings of one kubeconfig context: the API server URL, a keep-alive agent with the
 * cluster's TLS settings and the user's client certificate, and the headers that authenticate a request
 * (computed per request, so rotated service-account tokens and expiring exec credentials are picked up).
 */
export interface KubeConnection {
  /** API server base URL without a trailing slash. */
  readonly server: string;
  /** Agent and authentication headers for the next request. */
  prepare(): Promise<{ readonly agent: HttpAgent; readonly headers: Readonly<Record<string, string>> }>;
  /** Closes idle sockets (shutdown). */
  close(): void;
}

function fileOrData(file: string | undefined | null, data: string | undefined | null, what: string): Buffer | undefined {
  if (file !== undefined && file !== null && file !== "") {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new Error(`cannot read ${what} ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return data !== undefined && data !== null && data !== "" ? Buffer.from(data, "base64") : undefined;
}

/** Refuses settings podid does not implement, naming them, instead of silently connecting without them. */
function checkSupported(cluster: KubeCluster, user: KubeUser | null): void {
  if (cluster.proxyUrl !== undefined && cluster.proxyUrl !== null && cluster.proxyUrl !== "") {
    throw new Error(`kubeconfig cluster ${JSON.stringify(cluster.name)} sets proxy-url, which podid does not support; remove it or use HTTPS_PROXY-free direct access`);
  }
  const provider = (user?.authProvider as { name?: unknown; config?: { tokenFile?: unknown } } | undefined | null) ?? undefined;
  if (provider !== undefined && typeof provider.config?.tokenFile !== "string" && provider.name !== "exec") {
    throw new Error(
      `kubeconfig user ${JSON.stringify(user?.name)} uses auth-provider ${JSON.stringify(provider.name)}, which podid does not support; use a token, client certificate or exec credential plugin`,
    );
  }
  if (!cluster.server.startsWith("https:") && !cluster.server.startsWith("http:")) {
    throw new Error(`kubeconfig cluster ${JSON.stringify(cluster.name)} has server ${JSON.stringify(cluster.server)}; expected an http(s) URL`);
  }
  if (cluster.server.startsWith("http:") && !cluster.skipTLSVerify) {
    // client-node 2.x refuses the same, so an existing kubeconfig behaves as before.
    throw new Error(`kubeconfig cluster ${JSON.stringify(cluster.name)} uses plain http; set insecure-skip-tls-verify: true to allow it`);
  }
}

/**
 * Builds the connection of `config`'s current context: CA (file or data), `insecure-skip-tls-verify`,
 * `tls-server-name`, client certificate and key (file or data), bearer `token` / `token-file`, basic
 * auth, `as` (impersonation), in-cluster token files re-read every minute, and exec credential plugins
 * (client-node's `ExecAuth`, which caches until the credential's expiry). Throws for `proxy-url`,
 * auth-providers other than token files, unreadable files and non-http(s) servers.
 */
export function kubeConnection(config: KubeConfig): KubeConnection {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new Error("kubeconfig has no current cluster");
  const user = config.getCurrentUser();
  checkSupported(cluster, user);
  const https = cluster.server.startsWith("https:");
  const tls: AgentOptions = {
    ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
    ...(cluster.tlsServerName !== undefined && cluster.tlsServerName !== null ? { servername: cluster.tlsServerName } : {}),
  };
  const ca = fileOrData(cluster.caFile, cluster.caData, "certificate-authority");
  const cert = user === null ? undefined : fileOrData(user.certFile, user.certData, "client-certificate");
  const key = user === null ? undefined : fileOrData(user.keyFile, user.keyData, "client-key");
  const newAgent = (extra: AgentOptions): HttpAgent =>
    https ? new HttpsAgent({ keepAlive: true, ...tls, ...(ca !== undefined ? { ca } : {}), ...extra }) : new HttpAgent({ keepAlive: true });
  const staticAgent = newAgent({ ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) });
  let execAgent: { readonly id: string; readonly agent: HttpAgent } | undefined;

  const authenticator: Authenticator | undefined =
    user === null ? undefined : new ExecAuth().isAuthProvider(user) ? new ExecAuth() : new FileAuth().isAuthProvider(user) ? new FileAuth() : undefined;
  const basic = user?.username !== undefined && user.username !== null ? `Basic ${Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64")}` : undefined;

  return {
    server: cluster.server.replace(/\/+$/, ""),
    async prepare() {
      const opts: AuthOptions = { headers: {} };
      if (basic !== undefined) opts.headers["Authorization"] = basic;
      if (user !== null && authenticator !== undefined) await authenticator.applyAuthentication(user, opts);
      if (user?.token !== undefined && user.token !== null && user.token !== "") opts.headers["Authorization"] = `Bearer ${user.token.trim()}`;
      // Token files written by hand (or `echo`) end with a newline, which is not allowed in a header.
      const authorization = opts.headers["Authorization"];
      if (authorization !== undefined) opts.headers["Authorization"] = authorization.trim();
      if (user?.impersonateUser !== undefined && user.impersonateUser !== null) opts.headers["Impersonate-User"] = user.impersonateUser;
      let agent = staticAgent;
      if (opts.cert !== undefined && opts.key !== undefined) {
        // An exec plugin handed out a client certificate: one agent per certificate, replaced on rotation.
        const id = `${String(opts.cert)}\n${String(opts.key)}`;
        if (execAgent?.id !== id) {
          execAgent?.agent.destroy();
          execAgent = { id, agent: newAgent({ cert: opts.cert, key: opts.key }) };
        }
        agent = execAgent.agent;
      }
      return { agent, headers: opts.headers };
    },
    close() {
      staticAgent.destroy();
      execAgent?.agent.destroy();
    },
  };
}
