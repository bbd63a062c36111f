import { accessSync, existsSync, readFileSync } from "node:fs";
import { isIPv6 } from "node:net";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
// Deep imports on purpose: client-node's root (and its `config.js`) loads every generated API and model
// class (~90 MB of RSS); these modules parse kubeconfig entries and nothing else (docs/adr/0011-lean-kube-access.md).
import { newClusters, newContexts, newUsers, type Cluster, type Context, type User } from "@kubernetes/client-node/dist/config_types.js";
import { load as loadYaml } from "js-yaml";

export type { Cluster as KubeCluster, Context as KubeContext, User as KubeUser } from "@kubernetes/client-node/dist/config_types.js";

/**
 * Where the Kubernetes connection settings come from.
 * - `file`: a kubeconfig file (MIC/NMI `--kubeconfig`);
 * - `inCluster`: the pod's service account (`KUBERNETES_SERVICE_HOST`/`_PORT`, the mounted token and CA;
 *   the token file is re-read when it expires, so bound-token rotation works);
 * - `yaml`: kubeconfig text (tests, the demo's embedded cluster);
 * - `default`: `$KUBECONFIG` (merged list), then `~/.kube/config`, then in-cluster, then
 *   `http://localhost:8080` — the order client-node's `loadFromDefault` and kubectl use.
 */
export type KubeConfigSource =
  | { readonly kind: "file"; readonly path: string; readonly context?: string }
  | { readonly kind: "inCluster" }
  | { readonly kind: "yaml"; readonly yaml: string; readonly context?: string }
  | { readonly kind: "default"; readonly context?: string };

/** The service-account mount of every pod (token, CA and namespace). */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * A loaded kubeconfig: clusters, users and contexts as client-node's `config_types` parses them, and the
 * current context. It has the read methods of client-node's `KubeConfig` that podid uses, without
 * pulling that class (and with it every generated API) into the process.
 */
export class KubeConfig {
  readonly clusters: Cluster[] = [];
  readonly users: User[] = [];
  readonly contexts: Context[] = [];
  #currentContext = "";

  /** Every context. */
  getContexts(): readonly Context[] {
    return this.contexts;
  }

  /** The current context's name. */
  getCurrentContext(): string {
    return this.#currentContext;
  }

  /** Makes `name` the current context (not checked; {@link loadKubeConfig} checks). */
  setCurrentContext(name: string): void {
    this.#currentContext = name;
  }

  /** The context called `name`, or `null`. */
  getContextObject(name: string): Context | null {
    return this.contexts.find((c) => c.name === name) ?? null;
  }

  /** The current context's cluster, or `null`. */
  getCurrentCluster(): Cluster | null {
    const context = this.getContextObject(this.#currentContext);
    return context === null ? null : (this.clusters.find((c) => c.name === context.cluster) ?? null);
  }

  /** The current context's user, or `null`. */
  getCurrentUser(): User | null {
    const context = this.getContextObject(this.#currentContext);
    return context === null ? null : (this.users.find((u) => u.name === context.user) ?? null);
  }

  /** Adds the entries of a kubeconfig document; a name seen before keeps its first entry, as kubectl merges. */
  addDocument(text: string, baseDirectory: string | undefined, origin: string): void {
    let document: unknown;
    try {
      document = loadYaml(text);
    } catch (error) {
      throw new Error(`kubeconfig ${origin} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`);
    }
    const record = (typeof document === "object" && document !== null ? document : {}) as Record<string, unknown>;
    const absolute = (file: string | undefined): string | undefined =>
      file === undefined || file === null || baseDirectory === undefined || isAbsolute(file) ? file : join(baseDirectory, file);
    for (const cluster of newClusters(record["clusters"])) {
      if (this.clusters.some((c) => c.name === cluster.name)) continue;
      const caFile = absolute(cluster.caFile ?? undefined);
      this.clusters.push({ ...cluster, ...(caFile !== undefined ? { caFile } : {}) });
    }
    for (const user of newUsers(record["users"])) {
      if (this.users.some((u) => u.name === user.name)) continue;
      const certFile = absolute(user.certFile ?? undefined);
      const keyFile = absolute(user.keyFile ?? undefined);
      this.users.push({ ...user, ...(certFile !== undefined ? { certFile } : {}), ...(keyFile !== undefined ? { keyFile } : {}) });
    }
    for (const context of newContexts(record["contexts"])) {
      if (!this.contexts.some((c) => c.name === context.name)) this.contexts.push(context);
    }
    const current = record["current-context"];
    if (this.#currentContext === "" && typeof current === "string") this.#currentContext = current;
  }

  /** Fills this configuration with the pod's service account, as client-go's `InClusterConfig`. */
  addInCluster(env: NodeJS.ProcessEnv = process.env, directory = SERVICE_ACCOUNT_DIR): void {
    const host = env["KUBERNETES_SERVICE_HOST"];
    const port = env["KUBERNETES_SERVICE_PORT"];
    if (host === undefined || host === "" || port === undefined || port === "") {
      throw new Error("in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (is this running in a pod?)");
    }
    const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
    const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
    this.clusters.push({ name: "inCluster", server, caFile: join(directory, "ca.crt"), skipTLSVerify: false });
    this.users.push({ name: "inClusterUser", authProvider: { name: "tokenFile", config: { tokenFile: join(directory, "token") } } });
    const namespaceFile = join(directory, "namespace");
    const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, "utf8").trim() : undefined;
    this.contexts.push({ name: "inClusterContext", cluster: "inCluster", user: "inClusterUser", ...(namespace !== undefined ? { namespace } : {}) });
    this.#currentContext = "inClusterContext";
  }
}

/**
 * The source a MIC/NMI command line implies, like the original (`--kubeconfig` given → that file; else
 * in-cluster when running in a pod; else the `KUBECONFIG`/home default).
 */
export function kubeConfigSourceFrom(options: { readonly kubeconfigPath?: string; readonly inCluster?: boolean }): KubeConfigSource {
  if (options.kubeconfigPath !== undefined && options.kubeconfigPath !== "") return { kind: "file", path: options.kubeconfigPath };
  if (options.inCluster === true) return { kind: "inCluster" };
  return { kind: "default" };
}

function readKubeconfigFile(config: KubeConfig, path: string): void {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read kubeconfig ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  config.addDocument(text, dirname(path), path);
}

function homeKubeconfig(): string | undefined {
  const home = process.env["HOME"] ?? homedir();
  if (home === "") return undefined;
  const path = join(home, ".kube", "config");
  try {
    accessSync(path);
    return path;
  } catch {
    return undefined;
  }
}

function loadDefault(config: KubeConfig): void {
  const list = (process.env["KUBECONFIG"] ?? "").split(delimiter).filter((p) => p !== "");
  if (list.length > 0) {
    for (const path of list) readKubeconfigFile(config, path);
    return;
  }
  const home = homeKubeconfig();
  if (home !== undefined) return readKubeconfigFile(config, home);
  if (existsSync(join(SERVICE_ACCOUNT_DIR, "token"))) return config.addInCluster();
  config.clusters.push({ name: "cluster", server: "http://localhost:8080", skipTLSVerify: false });
  config.users.push({ name: "user" });
  config.contexts.push({ name: "loaded-context", cluster: "cluster", user: "user" });
  config.setCurrentContext("loaded-context");
}

/**
 * Loads a {@link KubeConfig} from `source`. Throws an `Error` naming the problem for unreadable or
 * malformed files, a requested context that does not exist, or a configuration without a current
 * cluster (start-up errors the daemons report and exit on). Settings podid cannot honour are refused
 * later, when a client is built for the configuration (see `kube-connection.ts`).
 */
export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const config = new KubeConfig();
  switch (source.kind) {
    case "file":
      readKubeconfigFile(config, source.path);
      break;
    case "inCluster":
      config.addInCluster();
      break;
    case "yaml":
      config.addDocument(source.yaml, undefined, "text");
      break;
    case "default":
      loadDefault(config);
      break;
  }
  if (source.kind !== "inCluster" && source.context !== undefined) {
    if (config.getContextObject(source.context) === null) throw new Error(`kubeconfig has no context named ${JSON.stringify(source.context)}`);
    config.setCurrentContext(source.context);
  }
  if (config.getCurrentCluster() === null) throw new Error("kubeconfig has no current cluster");
  return config;
}
