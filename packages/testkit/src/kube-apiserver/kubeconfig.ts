/**
 * Kubeconfig files pointing at the fake, readable by kubectl and by @kubernetes/client-node's
 * `KubeConfig.loadFromString`/`loadFromFile`.
 * @packageDocumentation
 */
import { stringify } from "yaml";

/** Options of a generated kubeconfig. */
export interface KubeconfigOptions {
  /** The context's default namespace (default `default`). */
  readonly namespace?: string;
  /** The user entry's name (default `podid-fake-user`). */
  readonly user?: string;
  /** Cluster and context name (default `podid-fake`). */
  readonly context?: string;
}

/**
 * A kubeconfig YAML for `server` with an optional bearer token.
 *
 * For an `https://` server, `caPem` (the certificate to trust) becomes `certificate-authority-data`. For
 * plain `http://` the cluster entry sets `insecure-skip-tls-verify: true` although there is no TLS:
 * @kubernetes/client-node 2.x refuses `http://` servers unless that flag is set ("HTTP protocol is not allowed
 * when skipTLSVerify is not set or false"); kubectl ignores it for plain http. Note that kubectl never sends
 * a token to a plain-http server (clientcmd applies credentials only to TLS transports), so a token-protected
 * fake is usable by kubectl only over https; @kubernetes/client-node sends it either way.
 */
export function buildKubeconfig(server: string, token: string | undefined, options: KubeconfigOptions = {}, caPem?: string): string {
  const context = options.context ?? "podid-fake";
  const user = options.user ?? "podid-fake-user";
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [
      {
        name: context,
        cluster:
          caPem !== undefined
            ? { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") }
            : { server, "insecure-skip-tls-verify": true },
      },
    ],
    users: [{ name: user, user: token === undefined ? {} : { token } }],
    contexts: [{ name: context, context: { cluster: context, user, namespace: options.namespace ?? "default" } }],
    "current-context": context,
  });
}
