import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClientCertificate, FakeKubeApiServer, TestCertificateAuthority, type ClientCertificate } from "@podid/testkit";
import { KubeClient } from "./kube-client.js";
import { KubeConfig, loadKubeConfig } from "./kube-config.js";
import { kubeConnection } from "./kube-connection.js";

const b64 = (text: string): string => Buffer.from(text).toString("base64");

/** A one-context kubeconfig with the given cluster and user entries. */
function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c", cluster }],
    users: [{ name: "u", user }],
    contexts: [{ name: "ctx", context: { cluster: "c", user: "u" } }],
    "current-context": "ctx",
  });
}

const listNamespaces = (config: KubeConfig): Promise<unknown> =>
  new KubeClient({ kubeConfig: config, qps: Number.POSITIVE_INFINITY, requestTimeoutMs: 5000 }).request({ method: "GET", path: "/api/v1/namespaces" });

describe("kube connection settings over real HTTPS", () => {
  const ca = TestCertificateAuthority.fromEnvironment();
  let dir: string;
  let fake: FakeKubeApiServer;
  /** An HTTPS server that requires a client certificate and answers with its common name. */
  let mtls: Server;
  let client: ClientCertificate;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "podid-kc-conn-"));
    const leaf = await ca.issueServerCertificate();
    fake = await FakeKubeApiServer.start({ token: "t0ken", tls: { cert: leaf.cert, key: leaf.key, ca: ca.certPem } });
    client = await createClientCertificate("podid-mic");
    mtls = createServer({ cert: leaf.cert, key: leaf.key, ca: client.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ kind: "NamespaceList", items: [], cn: peer.subject.CN }));
    });
    await new Promise<void>((resolve) => mtls.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await fake.close();
    await new Promise((resolve) => mtls.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("trusts the kubeconfig's CA (data or file, relative to the kubeconfig) and nothing else unless told to skip verification", async () => {
    await expect(listNamespaces(loadKubeConfig({ kind: "yaml", yaml: kubeconfig({ server: fake.url, "certificate-authority-data": b64(ca.certPem) }, { token: "t0ken" }) }))).resolves.toMatchObject({ kind: "NamespaceList" });
    writeFileSync(join(dir, "ca.crt"), ca.certPem);
    writeFileSync(join(dir, "config"), kubeconfig({ server: fake.url, "certificate-authority": "ca.crt" }, { token: "t0ken" }));
    await expect(listNamespaces(loadKubeConfig({ kind: "file", path: join(dir, "config") }))).resolves.toMatchObject({ kind: "NamespaceList" });
    // With another CA named, the server's certificate is refused (the named CA replaces the default trust) …
    const wrongCa = { server: fake.url, "certificate-authority-data": b64(client.cert) };
    await expect(listNamespaces(loadKubeConfig({ kind: "yaml", yaml: kubeconfig(wrongCa, { token: "t0ken" }) }))).rejects.toThrow(/certificate/i);
    // … unless verification is switched off.
    await expect(listNamespaces(loadKubeConfig({ kind: "yaml", yaml: kubeconfig({ ...wrongCa, "insecure-skip-tls-verify": true }, { token: "t0ken" }) }))).resolves.toMatchObject({ kind: "NamespaceList" });
  });

  it("presents the client certificate and key, from data or from files", async () => {
    const server = `https://127.0.0.1:${(mtls.address() as AddressInfo).port}`;
    const fromData = loadKubeConfig({ kind: "yaml", yaml: kubeconfig({ server, "certificate-authority-data": b64(ca.certPem) }, { "client-certificate-data": b64(client.cert), "client-key-data": b64(client.key) }) });
    await expect(listNamespaces(fromData)).resolves.toMatchObject({ cn: "podid-mic" });
    writeFileSync(join(dir, "client.crt"), client.cert);
    writeFileSync(join(dir, "client.key"), client.key);
    writeFileSync(join(dir, "mtls"), kubeconfig({ server, "certificate-authority-data": b64(ca.certPem) }, { "client-certificate": "client.crt", "client-key": "client.key" }));
    await expect(listNamespaces(loadKubeConfig({ kind: "file", path: join(dir, "mtls") }))).resolves.toMatchObject({ cn: "podid-mic" });
    // Without a certificate the TLS handshake fails.
    await expect(listNamespaces(loadKubeConfig({ kind: "yaml", yaml: kubeconfig({ server, "certificate-authority-data": b64(ca.certPem) }, {}) }))).rejects.toThrow();
  });

  it("authenticates with an exec credential plugin's token", async () => {
    const plugin = join(dir, "credential-plugin.sh");
    writeFileSync(
      plugin,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t0ken"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const exec = { apiVersion: "client.authentication.k8s.io/v1", command: plugin, interactiveMode: "Never" };
    const config = loadKubeConfig({ kind: "yaml", yaml: kubeconfig({ server: fake.url, "certificate-authority-data": b64(ca.certPem) }, { exec }) });
    await expect(listNamespaces(config)).resolves.toMatchObject({ kind: "NamespaceList" });
  });

  it("in-cluster: service host and port (IPv6 bracketed), the mounted CA and the token file", async () => {
    // A trailing newline, as `echo` writes it, must not end up in the header.
    writeFileSync(join(dir, "token"), "t0ken\n");
    writeFileSync(join(dir, "namespace"), "kube-system");
    const ipv6 = new KubeConfig();
    ipv6.addInCluster({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, dir);
    expect(ipv6.getCurrentCluster()?.server).toBe("https://[fd00::1]:443");
    expect(ipv6.getContextObject(ipv6.getCurrentContext())?.namespace).toBe("kube-system");

    const inCluster = new KubeConfig();
    inCluster.addInCluster({ KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(fake.port) }, dir);
    // ca.crt was written by the first test into the same directory.
    await expect(listNamespaces(inCluster)).resolves.toMatchObject({ kind: "NamespaceList" });
    expect(() => new KubeConfig().addInCluster({}, dir)).toThrow(/KUBERNETES_SERVICE_HOST/);
  });

  it("refuses what it does not support, naming it, when the client is built", () => {
    const config = (cluster: Record<string, unknown>, user: Record<string, unknown> = {}): KubeConfig => loadKubeConfig({ kind: "yaml", yaml: kubeconfig(cluster, user) });
    expect(() => kubeConnection(config({ server: fake.url, "proxy-url": "http://proxy:3128" }))).toThrow(/proxy-url/);
    expect(() => kubeConnection(config({ server: fake.url }, { "auth-provider": { name: "oidc", config: {} } }))).toThrow(/auth-provider "oidc"/);
    expect(() => kubeConnection(config({ server: "http://127.0.0.1:1" }))).toThrow(/insecure-skip-tls-verify/);
    expect(() => kubeConnection(config({ server: fake.url, "certificate-authority": join(dir, "missing.crt") }))).toThrow(/cannot read certificate-authority/);
  });
});
