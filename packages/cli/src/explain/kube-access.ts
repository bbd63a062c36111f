/**
 * The CLI's connection to the Kubernetes API, and the translation of every way a request can fail into a
 * {@link CliError} a user can act on: which server could not be reached, which CRDs are missing, which
 * object does not exist, which permission is lacking.
 * @packageDocumentation
 */
import { ApiException } from "@kubernetes/client-node";
import { describeError, parseStatusBody } from "@podid/adapter-k8s";
import { TypedKubeClient as KubeClient, loadTypedKubeConfig as loadKubeConfig } from "@podid/adapter-k8s/client-node";
import { CliError } from "../cli-io.js";

/** Where the kubeconfig comes from (`--kubeconfig`, `--context`; default `$KUBECONFIG` / `~/.kube/config`). */
export interface KubeAccessOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Per-request deadline (default 15 s). */
  readonly requestTimeoutMs?: number;
}

/** An open connection plus what to say about it in errors. */
export interface KubeAccess {
  readonly client: KubeClient;
  /** The API server URL of the current context. */
  readonly server: string;
  readonly context: string;
  /** `--kubeconfig <path>` when one was given, else where client-node looked. */
  readonly source: string;
}

/** One request, described for error messages. */
export interface KubeRequest {
  /** What was being read, e.g. `pod default/app` or `AzureIdentities`. */
  readonly what: string;
  /** The API path, for messages (`/api/v1/namespaces/default/pods/app`). */
  readonly path: string;
  /** The error for a 404 (default: "<what> not found"). */
  readonly notFound?: () => CliError;
}

const KUBECONFIG_HINT = "pass --kubeconfig <file> (and --context <name>) or set KUBECONFIG";

/**
 * Opens the API connection. A kubeconfig that cannot be loaded (missing file, no current context) is a
 * {@link CliError} naming the file and what to pass instead.
 */
export function openKubeAccess(options: KubeAccessOptions): KubeAccess {
  let kubeConfig;
  const source = options.kubeconfig ?? "the default kubeconfig ($KUBECONFIG or ~/.kube/config)";
  try {
    kubeConfig = loadKubeConfig(
      options.kubeconfig !== undefined && options.kubeconfig !== ""
        ? { kind: "file", path: options.kubeconfig, ...(options.context === undefined ? {} : { context: options.context }) }
        : { kind: "default", ...(options.context === undefined ? {} : { context: options.context }) },
    );
  } catch (error) {
    throw new CliError(`cannot load ${source}: ${describeError(error)}`, { hint: KUBECONFIG_HINT });
  }
  const server = kubeConfig.getCurrentCluster()?.server ?? "";
  const client = new KubeClient({ kubeConfig, qps: 50, burst: 100, requestTimeoutMs: options.requestTimeoutMs ?? 15_000, userAgent: "podid-cli (@kubernetes/client-node)" });
  return { client, server, context: kubeConfig.getCurrentContext(), source };
}

/** The network-level cause of a failed request (`ECONNREFUSED`, `ENOTFOUND`, a timeout), if that is what it was. */
function networkCause(error: unknown): string | undefined {
  if (error instanceof ApiException) return undefined;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const record = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (typeof record.code === "string" && /^E[A-Z]+/.test(record.code)) return `${record.code}${typeof record.message === "string" ? `: ${record.message}` : ""}`;
    if (record.name === "TimeoutError" || record.name === "AbortError") return "request timed out";
    if (typeof record.message === "string" && /fetch failed|timed out|socket hang up/i.test(record.message) && record.cause === undefined) return record.message;
    current = record.cause;
  }
  return error instanceof TypeError && /fetch failed/.test(error.message) ? "fetch failed" : undefined;
}

/** Translates a failed request into a {@link CliError}. */
export function kubeFailure(access: KubeAccess, request: KubeRequest, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const network = networkCause(error);
  if (network !== undefined) {
    return new CliError(`cannot reach the Kubernetes API server at ${access.server} (context ${access.context}): ${network}`, {
      hint: `is the cluster running and reachable? ${KUBECONFIG_HINT} (kubeconfig used: ${access.source})`,
    });
  }
  const code = error instanceof ApiException ? error.code : undefined;
  const status = error instanceof ApiException ? parseStatusBody(error.body) : {};
  const detail = status.message ?? describeError(error);
  if (code === 404) return request.notFound?.() ?? new CliError(`${request.what} not found (GET ${request.path} answered 404)`);
  if (code === 401) {
    return new CliError(`the API server at ${access.server} rejected the credentials of context ${access.context} (401 Unauthorized)`, {
      hint: `refresh the credentials (e.g. az aks get-credentials) or ${KUBECONFIG_HINT}`,
    });
  }
  if (code === 403) {
    return new CliError(`not allowed to read ${request.what}: ${detail}`, {
      hint: "podid explain needs get/list on pods, nodes, events and the aadpodidentity.k8s.io resources (kubectl auth can-i list azureassignedidentities -A)",
    });
  }
  return new CliError(`reading ${request.what} from ${access.server} failed${code === undefined ? "" : ` (HTTP ${code})`}: ${detail}`);
}

/** Runs one request, translating failures with {@link kubeFailure}. */
export async function kubeRead<T>(access: KubeAccess, request: KubeRequest, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw kubeFailure(access, request, error);
  }
}

/** The error for a 404 on a podid custom resource list: the CRDs are not installed. */
export function crdsMissing(access: KubeAccess, path: string): CliError {
  return new CliError(`the podid CRDs are not installed in the cluster at ${access.server} (GET ${path} answered 404)`, {
    hint: "kubectl apply -f deploy/crds.yaml",
  });
}
