/**
 * Conformance of the fake with the real kubectl on PATH (override with PODID_KUBECTL=/path/to/kubectl):
 * applying the CRDs and identities in legacy PascalCase and camelCase, reading them back, `label`, `patch`
 * (strategic, merge, json), `get -w`, deleting objects with finalizers (Terminating until the finalizer is
 * patched away), `wait --for=delete`, deleting a CRD, and a wrong token. Validation stays ON (no
 * `--validate=false`): the fake's OpenAPI documents are what kubectl needs for that.
 *
 * kubectl runs asynchronously (never spawnSync: the server lives in this process). Each kubectl call gets
 * this file's own `--cache-dir`, so no discovery cache from another server on the same port can leak in.
 * The server speaks HTTPS with a token, because kubectl sends credentials only over TLS.
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeKubeApiServer } from "./fake-kube-apiserver.js";
import { generateSelfSignedTls } from "./self-signed-tls.js";

const KUBECTL = process.env["PODID_KUBECTL"] ?? "kubectl";
const CRDS_PATH = fileURLToPath(new URL("../../../../deploy/crds.yaml", import.meta.url));
const probe = spawnSync(KUBECTL, ["version", "--client"], { encoding: "utf8", timeout: 20_000 });
const kubectlAvailable = probe.status === 0;
const suite = kubectlAvailable ? describe : describe.skip;

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let server: FakeKubeApiServer;
let dir = "";
let kubeconfig = "";

function kubectl(args: readonly string[], config = kubeconfig, timeoutMs = 20_000): Promise<Result> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ["--kubeconfig", config, "--cache-dir", join(dir, "cache"), ...args], { timeout: timeoutMs, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(args: readonly string[]): Promise<string> {
  const result = await kubectl(args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

function manifest(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const IDENTITIES = `
apiVersion: aadpodidentity.k8s.io/v1
kind: AzureIdentity
metadata:
  name: legacy-id
  namespace: default
spec:
  Type: 0
  ResourceID: /subscriptions/sub/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/legacy
  ClientID: 00000000-0000-0000-0000-00000000000a
---
apiVersion: aadpodidentity.k8s.io/v1
kind: AzureIdentityBinding
metadata:
  name: legacy-binding
spec:
  AzureIdentity: legacy-id
  Selector: legacy
---
apiVersion: aadpodidentity.k8s.io/v1
kind: AzureIdentity
metadata:
  name: modern-id
  namespace: apps
spec:
  type: 0
  resourceID: /subscriptions/sub/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/modern
  clientID: 00000000-0000-0000-0000-00000000000b
---
apiVersion: aadpodidentity.k8s.io/v1
kind: AzureIdentityBinding
metadata:
  name: modern-binding
  namespace: apps
spec:
  azureIdentity: modern-id
  selector: modern
`;

// Each test starts several kubectl processes (a few hundred ms each when the machine is busy): 30 s, not vitest's 5 s.
suite(kubectlAvailable ? `kubectl (${KUBECTL}) against the fake` : `kubectl conformance skipped: no "${KUBECTL}" on PATH (CI installs Debian's kubernetes-client)`, { timeout: 30_000 }, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "podid-kubectl-"));
    // kubectl sends the token only over https, so this server speaks TLS with a throwaway certificate.
    server = await FakeKubeApiServer.start({ token: "kubectl-token", tls: await generateSelfSignedTls() });
    kubeconfig = join(dir, "kubeconfig");
    await server.writeKubeconfig(kubeconfig);
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies deploy/crds.yaml with validation on, and the new resources are served at once", async () => {
    const applied = await ok(["apply", "-f", CRDS_PATH]);
    expect(applied.match(/customresourcedefinition\.apiextensions\.k8s\.io\/\S+ created/g)).toHaveLength(4);
    const none = await kubectl(["get", "azureidentities", "-A"]);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain("No resources found");
    expect(await ok(["api-resources", "--api-group=aadpodidentity.k8s.io", "-o", "name"])).toContain("azureidentities.aadpodidentity.k8s.io");
    expect(await ok(["wait", "--for=condition=established", "crd/azureidentities.aadpodidentity.k8s.io", "--timeout=10s"])).toContain("condition met");
    // Applying again is a no-op.
    expect((await ok(["apply", "-f", CRDS_PATH])).match(/unchanged/g)).toHaveLength(4);
  });

  it("applies identities in legacy PascalCase and camelCase form and reads them back intact", async () => {
    await ok(["create", "namespace", "apps"]);
    const path = manifest("identities.yaml", IDENTITIES);
    expect(await ok(["apply", "-f", path])).toMatch(/azureidentity.aadpodidentity.k8s.io\/legacy-id created/);
    const list = JSON.parse(await ok(["get", "azureidentities", "-A", "-o", "json"])) as { items: { metadata: { name: string; namespace: string }; spec: Record<string, unknown> }[] };
    const byName = new Map(list.items.map((i) => [i.metadata.name, i]));
    expect(byName.get("legacy-id")?.spec).toEqual({
      Type: 0,
      ResourceID: "/subscriptions/sub/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/legacy",
      ClientID: "00000000-0000-0000-0000-00000000000a",
    });
    expect(byName.get("modern-id")?.metadata.namespace).toBe("apps");
    expect(byName.get("modern-id")?.spec["clientID"]).toBe("00000000-0000-0000-0000-00000000000b");
    const table = await ok(["get", "azureidentities", "-A"]);
    expect(table).toMatch(/NAMESPACE\s+NAME\s+TYPE\s+CLIENTID\s+AGE/);
    expect(table).toMatch(/apps\s+modern-id\s+0\s+00000000-0000-0000-0000-00000000000b/);
    expect(await ok(["get", "azureidentitybindings", "-n", "apps"])).toMatch(/modern-binding\s+modern-id\s+modern/);
    const legacyBinding = JSON.parse(await ok(["get", "azureidentitybinding", "legacy-binding", "-o", "json"])) as { spec: unknown };
    expect(legacyBinding.spec).toEqual({ AzureIdentity: "legacy-id", Selector: "legacy" });
    expect((await ok(["apply", "-f", path])).match(/unchanged/g)).toHaveLength(4);
  });

  it("labels and patches a pod (strategic, merge and json patch)", async () => {
    const path = manifest("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels:\n    app: web\nspec:\n  containers:\n    - name: main\n      image: nginx\n");
    expect(await ok(["apply", "-f", path])).toContain("pod/web created");
    expect(await ok(["label", "pod", "web", "aadpodidbinding=modern"])).toContain("pod/web labeled");
    expect((await kubectl(["label", "pod", "web", "aadpodidbinding=other"])).code).not.toBe(0);
    await ok(["label", "pod", "web", "aadpodidbinding=legacy", "--overwrite"]);
    await ok(["patch", "pod", "web", "-p", '{"spec":{"containers":[{"name":"main","image":"nginx:2"}]}}']);
    await ok(["patch", "pod", "web", "--type=merge", "-p", '{"metadata":{"annotations":{"note":"x"}}}']);
    await ok(["patch", "pod", "web", "--type=json", "-p", '[{"op":"add","path":"/metadata/labels/tier","value":"front"}]']);
    const stored = server.store.get("pods", "web", "default");
    expect(stored?.metadata["labels"]).toEqual({ app: "web", aadpodidbinding: "legacy", tier: "front" });
    expect(stored?.metadata["annotations"]).toMatchObject({ note: "x" });
    expect(JSON.stringify(stored?.["spec"])).toContain("nginx:2");
    expect(await ok(["get", "pods", "-l", "aadpodidbinding=legacy", "-o", "name"])).toBe("pod/web\n");
    expect(await ok(["get", "pods", "--field-selector", "status.phase=Pending", "-o", "name"])).toBe("pod/web\n");
  });

  it("creates objects with kubectl create generators (protobuf bodies since kubectl 1.33)", async () => {
    await ok(["create", "namespace", "gen"]);
    await ok(["create", "configmap", "settings", "-n", "gen", "--from-literal=mode=fast"]);
    await ok(["create", "secret", "generic", "sp-secret", "-n", "gen", "--from-literal=clientSecret=hunter2"]);
    expect(server.store.get("configmaps", "settings", "gen")?.["data"]).toEqual({ mode: "fast" });
    expect(server.store.get("secrets", "sp-secret", "gen")?.["data"]).toEqual({ clientSecret: Buffer.from("hunter2").toString("base64") });
    expect(await ok(["get", "secrets", "-n", "gen"])).toMatch(/sp-secret\s+Opaque\s+1/);
  });

  it("watches with get -w (bounded) and prints each change", async () => {
    const child = spawn(KUBECTL, ["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "cache"), "get", "pods", "-w", "--output-watch-events"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    try {
      await waitFor("the initial listing", () => /web/.test(out));
      await ok(["label", "pod", "web", "watched=yes"]);
      await ok(["delete", "pod", "web"]);
      await waitFor("the MODIFIED and DELETED events", () => /MODIFIED\s+web/.test(out) && /DELETED\s+web/.test(out));
    } finally {
      clearTimeout(killer);
      child.kill("SIGTERM");
    }
    expect(out).toMatch(/EVENT\s+NAME\s+READY\s+STATUS/);
  });

  it("keeps an object with finalizers Terminating until a merge patch removes them; wait --for=delete returns", async () => {
    const path = manifest(
      "final.yaml",
      "apiVersion: v1\nkind: Pod\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\nspec:\n  containers:\n    - name: main\n      image: nginx\n",
    );
    await ok(["apply", "-f", path]);
    await ok(["delete", "pod", "held", "--wait=false"]);
    expect(await ok(["get", "pod", "held"])).toMatch(/held\s+0\/1\s+Terminating/);
    await ok(["delete", "azureidentity", "legacy-id", "--wait=false"]);
    // legacy-id had no finalizer: gone at once.
    expect((await kubectl(["get", "azureidentity", "legacy-id"])).stderr).toContain("NotFound");
    await ok(["patch", "azureidentity", "modern-id", "-n", "apps", "--type=merge", "-p", '{"metadata":{"finalizers":["example.com/hold"]}}']);
    await ok(["delete", "azureidentity", "modern-id", "-n", "apps", "--wait=false"]);
    const deleting = JSON.parse(await ok(["get", "azureidentity", "modern-id", "-n", "apps", "-o", "json"])) as { metadata: { deletionTimestamp?: string } };
    expect(deleting.metadata.deletionTimestamp).toBeDefined();

    const waiting = kubectl(["wait", "--for=delete", "azureidentity/modern-id", "-n", "apps", "--timeout=15s"]);
    const waitingPod = kubectl(["wait", "--for=delete", "pod/held", "--timeout=15s"]);
    await new Promise((r) => setTimeout(r, 300));
    await ok(["patch", "azureidentity", "modern-id", "-n", "apps", "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    await ok(["patch", "pod", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}']);
    const [idWait, podWait] = await Promise.all([waiting, waitingPod]);
    expect(idWait.code).toBe(0);
    expect(podWait.code).toBe(0);
    expect(server.store.get("pods", "held", "default")).toBeUndefined();
  });

  it("unregisters a resource when its CRD is deleted", async () => {
    await ok(["delete", "crd", "azurepodidentityexceptions.aadpodidentity.k8s.io"]);
    const gone = await kubectl(["get", "azurepodidentityexceptions"]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/doesn't have a resource type|could not find the requested resource/);
    await ok(["apply", "-f", CRDS_PATH]);
    expect((await kubectl(["get", "azurepodidentityexceptions"])).code).toBe(0);
  });

  it("mints service-account tokens with kubectl create token (audience, duration, pod binding; errors)", async () => {
    await ok(["create", "namespace", "wi"]);
    await ok(["create", "serviceaccount", "workload", "-n", "wi"]);
    const podFile = manifest("wi-pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: wi}\nspec:\n  serviceAccountName: workload\n  containers: [{name: app, image: x}]\n");
    await ok(["apply", "-f", podFile]);
    const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.trim().split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
    const token = await ok(["create", "token", "workload", "-n", "wi", "--audience", "api://AzureADTokenExchange", "--duration", "20m", "--bound-object-kind", "Pod", "--bound-object-name", "web"]);
    const claims = claimsOf(token);
    expect(claims).toMatchObject({ sub: "system:serviceaccount:wi:workload", aud: ["api://AzureADTokenExchange"], iss: server.serviceAccountIssuer, "kubernetes.io": { namespace: "wi", pod: { name: "web", uid: server.store.get("pods", "web", "wi")?.metadata["uid"] } } });
    expect((claims["exp"] as number) - (claims["iat"] as number)).toBe(1200);
    // Every namespace has `default`; a token without options gets the API audiences (the issuer).
    expect(claimsOf(await ok(["create", "token", "default", "-n", "wi"]))["aud"]).toEqual([server.serviceAccountIssuer]);
    const missing = await kubectl(["create", "token", "ghost", "-n", "wi"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('serviceaccounts "ghost" not found');
    const tooShort = await kubectl(["create", "token", "workload", "-n", "wi", "--duration", "5m"]);
    expect(tooShort.code).not.toBe(0);
    expect(tooShort.stderr).toContain("may not specify a duration less than 10 minutes");
  });

  it("reports Unauthorized for a wrong token", async () => {
    const wrong = join(dir, "wrong-kubeconfig");
    writeFileSync(wrong, server.kubeconfig().replace("kubectl-token", "wrong-token"));
    const denied = await kubectl(["get", "pods"], wrong);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Unauthorized|must be logged in/);
  });
});
