import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { kubeConfigSourceFrom, loadKubeConfig } from "./kube-config.js";

const kubeconfig = (server: string, context = "fake"): string => `apiVersion: v1
kind: Config
clusters:
- name: ${context}
  cluster:
    server: ${server}
users:
- name: ${context}
  user:
    token: secret-token
contexts:
- name: ${context}
  context:
    cluster: ${context}
    user: ${context}
current-context: ${context}
`;

describe("loadKubeConfig", () => {
  const dirs: string[] = [];
  const savedEnv = process.env["KUBECONFIG"];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    if (savedEnv === undefined) delete process.env["KUBECONFIG"];
    else process.env["KUBECONFIG"] = savedEnv;
  });
  const tempFile = (name: string, text: string): string => {
    const dir = mkdtempSync(join(tmpdir(), "podid-kc-"));
    dirs.push(dir);
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("reads YAML text and files", () => {
    expect(loadKubeConfig({ kind: "yaml", yaml: kubeconfig("http://127.0.0.1:1") }).getCurrentCluster()?.server).toBe("http://127.0.0.1:1");
    const path = tempFile("config", kubeconfig("http://127.0.0.1:2"));
    expect(loadKubeConfig({ kind: "file", path }).getCurrentCluster()?.server).toBe("http://127.0.0.1:2");
  });

  it("follows KUBECONFIG for the default source, merging a path list", () => {
    const a = tempFile("a", kubeconfig("http://127.0.0.1:3", "a"));
    const b = tempFile("b", kubeconfig("http://127.0.0.1:4", "b"));
    process.env["KUBECONFIG"] = `${a}:${b}`;
    const kc = loadKubeConfig({ kind: "default" });
    expect(kc.getContexts().map((c) => c.name).sort()).toEqual(["a", "b"]);
    expect(loadKubeConfig({ kind: "default", context: "a" }).getCurrentCluster()?.server).toBe("http://127.0.0.1:3");
    expect(loadKubeConfig({ kind: "default", context: "b" }).getCurrentCluster()?.server).toBe("http://127.0.0.1:4");
  });

  it("refuses unknown contexts and configurations without a cluster", () => {
    expect(() => loadKubeConfig({ kind: "yaml", yaml: kubeconfig("http://127.0.0.1:1"), context: "nope" })).toThrow(/no context/);
    expect(() => loadKubeConfig({ kind: "yaml", yaml: "apiVersion: v1\nkind: Config\n" })).toThrow(/no current cluster/);
  });

  it("maps the command line like the original: --kubeconfig, else in-cluster, else default", () => {
    expect(kubeConfigSourceFrom({ kubeconfigPath: "/k" })).toEqual({ kind: "file", path: "/k" });
    expect(kubeConfigSourceFrom({ kubeconfigPath: "", inCluster: true })).toEqual({ kind: "inCluster" });
    expect(kubeConfigSourceFrom({})).toEqual({ kind: "default" });
  });
});
