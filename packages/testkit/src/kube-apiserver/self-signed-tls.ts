/**
 * A throwaway self-signed server certificate for the fake kube-apiserver's HTTPS mode. kubectl (client-go's
 * clientcmd) sends a kubeconfig's credentials only to `https://` servers, so a token-protected fake that
 * kubectl must reach has to speak TLS; the generated kubeconfig trusts exactly this certificate.
 * @packageDocumentation
 */
import { generate } from "selfsigned";

/** PEM certificate and key for {@link FakeKubeApiServerOptions.tls}. */
export interface ServerTls {
  /** Server certificate chain, PEM. */
  readonly cert: string;
  /** Private key, PEM. */
  readonly key: string;
  /**
   * CA certificate clients should trust, PEM (written into the kubeconfig as `certificate-authority-data`).
   * Default: `cert` itself, which is right for a self-signed certificate.
   */
  readonly ca?: string;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Generates a self-signed EC P-256 certificate valid for `hosts` (IP and DNS SANs) for two days. */
export async function generateSelfSignedTls(hosts: readonly string[] = ["127.0.0.1", "localhost"]): Promise<ServerTls> {
  const generated = await generate([{ name: "commonName", value: hosts[0] ?? "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(Date.now() - 60_000),
    notAfterDate: new Date(Date.now() + 2 * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: true, pathLenConstraint: 0 },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: hosts.map((host) => (IPV4.test(host) || host.includes(":") ? { type: 7 as const, ip: host } : { type: 2 as const, value: host })),
      },
    ],
  });
  return { cert: generated.cert, key: generated.private };
}
