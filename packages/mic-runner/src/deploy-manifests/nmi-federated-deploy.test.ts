/**
 * deploy/ for federated identities on NMI's side (docs/adr/0021-federated-identities.md): every rendering that
 * has the NMI DaemonSet (the base and each overlay, with the real `kubectl kustomize`; override with
 * PODID_KUBECTL) mounts kubelet's pods directory read-only with HostToContainer propagation at NMI's
 * `--kubelet-pods-dir` default, and NMI's RBAC never grants `serviceaccounts/token` (nor anything on
 * serviceaccounts): NMI reads the token kubelet projected for the calling pod, it never mints one.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const KUBECTL = process.env["PODID_KUBECTL"] ?? "kubectl";
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const probe = spawnSync(KUBECTL, ["version", "--client"], { encoding: "utf8", timeout: 20_000 });
const suite = probe.status === 0 ? describe : describe.skip;

/** NMI's `--kubelet-pods-dir` default (packages/nmi-server/src/config/nmi-config.ts). */
const KUBELET_PODS_DIR = "/var/lib/kubelet/pods";

type Obj = { kind: string; metadata: { name: string } } & Record<string, unknown>;
interface Rule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
}
interface PodSpec {
  readonly containers: { name: string; args?: string[]; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string }[] }[];
  readonly volumes?: { name: string; hostPath?: { path: string; type?: string } }[];
}

let cacheDir = "";

function render(path: string): Promise<Obj[]> {
  return new Promise((resolve, reject) => {
    execFile(KUBECTL, ["kustomize", join(ROOT, path), "--cache-dir", cacheDir], { timeout: 60_000, encoding: "utf8", maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`kubectl kustomize ${path} failed: ${stderr}`));
      else resolve(parseAllDocuments(stdout).map((d) => d.toJSON() as Obj));
    });
  });
}

/** deploy/ and every overlay. */
const RENDERINGS = ["deploy", ...readdirSync(join(ROOT, "deploy/overlays")).map((o) => `deploy/overlays/${o}`)];

beforeAll(() => {
  cacheDir = mkdtempSync(join(tmpdir(), "podid-nmi-deploy-"));
});

afterAll(() => {
  if (cacheDir !== "") rmSync(cacheDir, { recursive: true, force: true });
});

suite("deploy/: NMI and federated identities", { timeout: 60_000 }, () => {
  it("mounts kubelet's pods directory read-only (HostToContainer) at --kubelet-pods-dir in every rendering with NMI", async () => {
    let withNmi = 0;
    for (const path of RENDERINGS) {
      const nmi = (await render(path)).find((d) => d.kind === "DaemonSet" && d.metadata.name === "podid-nmi");
      if (nmi === undefined) continue;
      withNmi += 1;
      const spec = (nmi["spec"] as { template: { spec: PodSpec } }).template.spec;
      const container = spec.containers.find((c) => c.name === "nmi");
      const mount = container?.volumeMounts?.find((m) => m.mountPath === KUBELET_PODS_DIR);
      expect(mount, path).toMatchObject({ readOnly: true, mountPropagation: "HostToContainer" });
      expect(spec.volumes?.find((v) => v.name === mount?.name)?.hostPath, path).toEqual({ path: KUBELET_PODS_DIR, type: "Directory" });
      // The flag is left at its default, which is where the directory is mounted.
      expect((container?.args ?? []).filter((a) => a.startsWith("--kubelet-pods-dir")), path).toEqual([]);
    }
    expect(withNmi).toBeGreaterThanOrEqual(2);
  });

  it("never grants NMI serviceaccounts/token (nor any other serviceaccounts access)", async () => {
    for (const path of RENDERINGS) {
      const docs = await render(path);
      const nmiRoles = docs.filter((d) => (d.kind === "ClusterRole" || d.kind === "Role") && d.metadata.name.startsWith("podid-nmi"));
      if (path === "deploy") expect(nmiRoles.map((r) => r.metadata.name).sort()).toEqual(["podid-nmi", "podid-nmi-secrets"]);
      for (const role of nmiRoles) {
        const rules = (role["rules"] as Rule[] | undefined) ?? [];
        const serviceAccountRules = rules.filter((r) => r.apiGroups.includes("") && r.resources.some((res) => res === "*" || res.startsWith("serviceaccounts")));
        expect(serviceAccountRules, `${path} ${role.metadata.name}`).toEqual([]);
        expect(rules.some((r) => r.verbs.includes("*") || r.apiGroups.includes("*")), `${path} ${role.metadata.name}`).toBe(false);
      }
    }
  });
});
