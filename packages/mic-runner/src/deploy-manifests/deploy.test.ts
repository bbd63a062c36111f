/**
 * deploy/: the kustomize base and the managed overlay render with the real kubectl on PATH (override with
 * PODID_KUBECTL=/path/to/kubectl; CI installs Debian's kubectl 1.20, whose built-in kustomize is v2, and
 * newer ones render the same objects), the rendered objects apply to the fake kube-apiserver with
 * `kubectl apply` (CRDs first) and apply again unchanged, the MIC Deployment's args parse with
 * `parseMicFlags` and agree with its ports and probes, RBAC grants MIC exactly what podid-mic calls, the
 * namespace carries the Pod Security Admission labels NMI needs, every overlay (the original chart's knobs:
 * custom cloud, admin secret, immutable identities, managed mode) renders, applies and configures MIC the
 * way podid-mic and adapter-azure read it, and each image runs the bundle of the entry point its bin
 * launches.
 *
 * kubectl runs asynchronously (the fake lives in this process) with this file's own `--cache-dir`.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { environmentAzureConfig, loadAzureConfig } from "@podid/adapter-azure";
import { FakeKubeApiServer } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseMicFlags } from "../config/parse-mic-flags.js";
import { MIC_WATCHED_RESOURCES } from "../composition/compose-mic.js";
import { buildProbeApp } from "@podid/daemon-shell";

const KUBECTL = process.env["PODID_KUBECTL"] ?? "kubectl";
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const probe = spawnSync(KUBECTL, ["version", "--client"], { encoding: "utf8", timeout: 20_000 });
const suite = probe.status === 0 ? describe : describe.skip;

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, unknown>;
interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let server: FakeKubeApiServer;
let dir = "";
let kubeconfig = "";

function kubectl(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(KUBECTL, ["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "cache"), ...args], { timeout: timeoutMs, encoding: "utf8", maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
  });
}

async function render(path: string): Promise<{ docs: Obj[]; text: string }> {
  const result = await kubectl(["kustomize", join(ROOT, path)]);
  if (result.code !== 0) throw new Error(`kubectl kustomize ${path} failed: ${result.stderr}`);
  const docs = parseAllDocuments(result.stdout).map((d) => d.toJSON() as Obj | null);
  // kustomize v2 turns a deleted resource into an empty document; kubectl apply would refuse it.
  expect(docs.every((d) => d !== null && typeof d.kind === "string" && d.kind !== "")).toBe(true);
  return { docs: docs as Obj[], text: result.stdout };
}

const find = (docs: readonly Obj[], kind: string, name: string): Obj | undefined => docs.find((d) => d.kind === kind && d.metadata.name === name);
const kinds = (docs: readonly Obj[]) => docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();

/** Applies `docs` with kubectl: CRDs first (a custom resource cannot be created in the apply that registers its CRD). */
async function apply(name: string, docs: readonly Obj[]): Promise<string> {
  const crds = docs.filter((d) => d.kind === "CustomResourceDefinition");
  const rest = docs.filter((d) => d.kind !== "CustomResourceDefinition");
  let out = "";
  for (const [suffix, part] of [["crds", crds], ["rest", rest]] as const) {
    if (part.length === 0) continue;
    const path = join(dir, `${name}-${suffix}.json`);
    writeFileSync(path, JSON.stringify({ apiVersion: "v1", kind: "List", items: part }));
    const result = await kubectl(["apply", "-f", path]);
    if (result.code !== 0) throw new Error(`kubectl apply (${name} ${suffix}) failed: ${result.stderr}`);
    out += result.stdout;
  }
  return out;
}

beforeAll(async () => {
  server = await FakeKubeApiServer.start();
  dir = mkdtempSync(join(tmpdir(), "podid-deploy-"));
  kubeconfig = join(dir, "kubeconfig");
  await server.writeKubeconfig(kubeconfig);
});

afterAll(async () => {
  await server?.close();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

suite("deploy/ (kustomize, kubectl apply)", { timeout: 60_000 }, () => {
  it("renders the standard install: CRDs, NMI and MIC with their RBAC, in podid-system, images pinned", async () => {
    const { docs } = await render("deploy");
    expect(kinds(docs)).toEqual(
      [
        "AzurePodIdentityException/podid-mic",
        "ClusterRole/podid-mic",
        "ClusterRole/podid-nmi",
        "ClusterRole/podid-nmi-secrets",
        "ClusterRoleBinding/podid-mic",
        "ClusterRoleBinding/podid-nmi",
        "ClusterRoleBinding/podid-nmi-secrets",
        "CustomResourceDefinition/azureassignedidentities.aadpodidentity.k8s.io",
        "CustomResourceDefinition/azureidentities.aadpodidentity.k8s.io",
        "CustomResourceDefinition/azureidentitybindings.aadpodidentity.k8s.io",
        "CustomResourceDefinition/azurepodidentityexceptions.aadpodidentity.k8s.io",
        "DaemonSet/podid-nmi",
        "Deployment/podid-mic",
        "Namespace/podid-system",
        "PodDisruptionBudget/podid-mic",
        "Role/podid-mic-leader-election",
        "RoleBinding/podid-mic-leader-election",
        "ServiceAccount/podid-mic",
        "ServiceAccount/podid-nmi",
      ].sort(),
    );
    const clusterScoped = new Set(["Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"]);
    for (const doc of docs) {
      if (!clusterScoped.has(doc.kind)) expect(doc.metadata.namespace, `${doc.kind}/${doc.metadata.name}`).toBe("podid-system");
      expect(doc.metadata.labels?.["app.kubernetes.io/part-of"], `${doc.kind}/${doc.metadata.name}`).toBe("podid");
    }
    const images = docs.flatMap((d) => ((d["spec"] as { template?: { spec?: { containers?: { image: string }[] } } } | undefined)?.template?.spec?.containers ?? []).map((c) => c.image));
    expect(images.sort()).toEqual(["ghcr.io/podid/mic:0.1.0", "ghcr.io/podid/nmi:0.1.0"]);
    expect((find(docs, "Deployment", "podid-mic")?.["spec"] as { replicas: number }).replicas).toBe(2);
  });

  it("renders the managed overlay: NMI alone, in managed and namespaced mode, no MIC objects", async () => {
    const { docs } = await render("deploy/overlays/managed");
    expect(kinds(docs).filter((k) => /mic/i.test(k))).toEqual([]);
    expect(kinds(docs)).toEqual(["ClusterRole/podid-nmi", "ClusterRole/podid-nmi-secrets", "ClusterRoleBinding/podid-nmi", "ClusterRoleBinding/podid-nmi-secrets", "DaemonSet/podid-nmi", "Namespace/podid-system", "ServiceAccount/podid-nmi"]);
    const args = (find(docs, "DaemonSet", "podid-nmi")?.["spec"] as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]?.args ?? [];
    expect(args).toEqual(expect.arrayContaining(["--operation-mode=managed", "--forceNamespaced=true"]));
  });

  it("applies to the fake kube-apiserver with kubectl (CRDs first), and again without changes", async () => {
    const { docs } = await render("deploy");
    const first = await apply("standard", docs);
    expect(first).toMatch(/deployment.apps\/podid-mic created/);
    expect(first).toMatch(/azurepodidentityexception.aadpodidentity.k8s.io\/podid-mic created/);
    for (const doc of docs) {
      const resource = doc.kind === "CustomResourceDefinition" ? "customresourcedefinitions" : doc.kind;
      expect(server.store.get(resource, doc.metadata.name, doc.metadata.namespace), `${doc.kind}/${doc.metadata.name}`).toBeDefined();
    }
    const again = await apply("standard", docs);
    expect(again).not.toMatch(/created/);
    expect(again).toMatch(/deployment.apps\/podid-mic (unchanged|configured)/);

    // Switching to managed mode on top: kubectl reports the NMI DaemonSet reconfigured.
    const managed = await apply("managed", (await render("deploy/overlays/managed")).docs);
    expect(managed).toMatch(/daemonset.apps\/podid-nmi configured/);
    const nmi = server.store.get("daemonsets", "podid-nmi", "podid-system") as { spec: { template: { spec: { containers: { args: string[]; image: string }[] } } } } | undefined;
    expect(nmi?.spec.template.spec.containers).toHaveLength(1);
    expect(nmi?.spec.template.spec.containers[0]?.args).toContain("--operation-mode=managed");
    expect(nmi?.spec.template.spec.containers[0]?.image).toBe("ghcr.io/podid/nmi:0.1.0");
  });

  it("runs MIC with args podid-mic parses, on the ports its probes and containerPorts name", async () => {
    const { docs } = await render("deploy");
    const deployment = find(docs, "Deployment", "podid-mic") as { spec: { template: { spec: { containers: MicContainer[]; volumes: { name: string; hostPath?: { path: string } }[] } } } } | undefined;
    type MicContainer = {
      args: string[];
      env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
      ports: { name: string; containerPort: number }[];
      livenessProbe: { httpGet: { path: string; port: string | number } };
      readinessProbe: { httpGet: { path: string; port: string | number } };
      volumeMounts: { name: string; mountPath: string }[];
    };
    const container = deployment?.spec.template.spec.containers[0];
    if (container === undefined) throw new Error("no MIC container");
    // The kubelet expands $(VAR) from the container's env; MIC_POD_NAMESPACE is the pod's namespace.
    expect(container.env.find((e) => e.name === "MIC_POD_NAMESPACE")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace");
    const argv = container.args.map((a) => a.replaceAll("$(MIC_POD_NAMESPACE)", "podid-system"));
    const parsed = parseMicFlags(argv, {}, { hostname: "podid-mic-5d8c7b9f4-x2x7q" });
    if (!parsed.ok || parsed.value.kind !== "run") throw new Error(`MIC args do not parse: ${parsed.ok ? parsed.value.kind : parsed.error.message}`);
    const config = parsed.value.config;
    expect(parsed.value.notices).toEqual([]);
    expect(config.leaderElection).toMatchObject({ namespace: "podid-system", name: "aad-pod-identity-mic", instance: "podid-mic-5d8c7b9f4-x2x7q" });

    const portOf = (port: string | number) => (typeof port === "number" ? port : container.ports.find((p) => p.name === port)?.containerPort);
    expect(portOf(container.livenessProbe.httpGet.port)).toBe(config.probePort);
    expect(portOf(container.readinessProbe.httpGet.port)).toBe(config.probePort);
    expect(portOf("metrics")).toBe(config.prometheusPort);
    // The probe paths exist on podid-mic's probe server (and the metrics path on the metrics server).
    const { Registry } = await import("prom-client");
    const app = buildProbeApp({ probes: { active: () => false, readiness: [] }, metrics: { registry: new Registry() } });
    for (const path of [container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path, "/metrics"]) {
      expect((await app.inject({ method: "GET", url: path })).statusCode, path).toBe(200);
    }
    await app.close();
    // azure.json is mounted where --cloudconfig points.
    const mount = container.volumeMounts.find((m) => m.mountPath === config.cloudconfig);
    expect(deployment?.spec.template.spec.volumes.find((v) => v.name === mount?.name)?.hostPath?.path).toBe("/etc/kubernetes/azure.json");
  });

  it("grants MIC exactly what podid-mic calls, and secrets only to NMI's separate role", async () => {
    const { docs } = await render("deploy");
    type Rule = { apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[]; verbs: string[] };
    const rules = (kind: string, name: string) => ((find(docs, kind, name) as { rules: Rule[] } | undefined)?.rules ?? []);
    const grants = (list: readonly Rule[]) =>
      new Set(list.flatMap((r) => [...(r.resources ?? []), ...(r.nonResourceURLs ?? [])].flatMap((res) => r.verbs.map((v) => `${res}:${v}`))));
    const mic = grants(rules("ClusterRole", "podid-mic"));
    for (const resource of MIC_WATCHED_RESOURCES) for (const verb of ["list", "watch"]) expect(mic.has(`${resource}:${verb}`), `${resource}:${verb}`).toBe(true);
    for (const verb of ["get", "create", "update", "patch", "delete"]) expect(mic.has(`azureassignedidentities:${verb}`)).toBe(true);
    expect(mic.has("events:create") && mic.has("events:patch")).toBe(true);
    // The issuer of federated identities when --service-account-issuer is not set (docs/adr/0021-federated-identities.md).
    expect(mic.has("/.well-known/openid-configuration:get")).toBe(true);
    expect([...mic].filter((g) => g.startsWith("secrets") || g.includes("*") || g.startsWith("customresourcedefinitions"))).toEqual([]);
    expect(grants(rules("Role", "podid-mic-leader-election"))).toEqual(new Set(["leases:get", "leases:create", "leases:update"]));
    expect([...grants(rules("ClusterRole", "podid-nmi"))].filter((g) => g.startsWith("secrets"))).toEqual([]);
    expect(grants(rules("ClusterRole", "podid-nmi-secrets"))).toEqual(new Set(["secrets:get"]));
    // The scoped /host/token GETs single SecretProviderClasses and never watches them (docs/adr/0019-scoped-host-token.md).
    const nmiSpc = rules("ClusterRole", "podid-nmi").filter((r) => r.resources?.includes("secretproviderclasses") === true);
    expect(nmiSpc).toEqual([{ apiGroups: ["secrets-store.csi.x-k8s.io"], resources: ["secretproviderclasses"], verbs: ["get"] }]);
  });

  it("keeps deploy/crds.yaml the only copy of the CRDs", () => {
    const text = readFileSync(join(ROOT, "deploy/crds.yaml"), "utf8");
    expect(parseAllDocuments(text).filter((d) => (d.toJSON() as Obj | null)?.kind === "CustomResourceDefinition")).toHaveLength(4);
  });
});

type Container = {
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }[];
  volumeMounts: { name: string; mountPath: string }[];
  securityContext: { runAsUser?: number; runAsNonRoot?: boolean };
};
type PodSpecOf = { spec: { template: { spec: { containers: Container[]; volumes: { name: string; hostPath?: { path: string } }[] } } } };
const micOf = (docs: readonly Obj[]) => {
  const spec = (find(docs, "Deployment", "podid-mic") as PodSpecOf | undefined)?.spec.template.spec;
  const container = spec?.containers[0];
  if (spec === undefined || container === undefined) throw new Error("no MIC Deployment");
  return { container, volumes: spec.volumes };
};
/** MIC's argv as the kubelet passes it: `$(VAR)` expanded from `vars`. */
const expandArgs = (args: readonly string[], vars: Readonly<Record<string, string>>) => args.map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_m, name: string) => vars[name] ?? `$(${name})`));
const parseMic = (args: readonly string[]) => {
  const parsed = parseMicFlags([...args], {}, { hostname: "podid-mic-0" });
  if (!parsed.ok || parsed.value.kind !== "run") throw new Error(`MIC args do not parse: ${parsed.ok ? parsed.value.kind : parsed.error.message}`);
  expect(parsed.value.notices).toEqual([]);
  return parsed.value.config;
};

suite("deploy/ knobs (Pod Security Admission, overlays)", { timeout: 60_000 }, () => {
  it("labels the namespace for Pod Security Admission: NMI needs the privileged level (enforce, audit and warn)", async () => {
    for (const path of ["deploy", "deploy/overlays/managed"]) {
      const labels = find((await render(path)).docs, "Namespace", "podid-system")?.metadata.labels ?? {};
      for (const mode of ["enforce", "audit", "warn"]) {
        expect(labels[`pod-security.kubernetes.io/${mode}`], `${path} ${mode}`).toBe("privileged");
        expect(labels[`pod-security.kubernetes.io/${mode}-version`], `${path} ${mode}-version`).toBe("latest");
      }
    }
    // What makes baseline impossible for NMI, so that the label is needed at all.
    const nmi = (find((await render("deploy")).docs, "DaemonSet", "podid-nmi") as { spec: { template: { spec: { hostNetwork: boolean; containers: { securityContext: { capabilities: { add: string[] } } }[] } } } } | undefined)?.spec.template.spec;
    expect(nmi?.hostNetwork).toBe(true);
    expect(nmi?.containers[0]?.securityContext.capabilities.add).toContain("NET_ADMIN");
  });

  it("renders every overlay and applies it to the fake kube-apiserver with kubectl", async () => {
    const overlays = readdirSync(join(ROOT, "deploy/overlays")).sort();
    expect(overlays).toEqual(["admin-secret", "custom-cloud", "immutable-identities", "managed"]);
    await apply("crds", (await render("deploy")).docs.filter((d) => d.kind === "CustomResourceDefinition"));
    for (const overlay of overlays) {
      const { docs } = await render(`deploy/overlays/${overlay}`);
      for (const doc of docs) expect(doc.metadata.labels?.["app.kubernetes.io/part-of"], `${overlay}: ${doc.kind}/${doc.metadata.name}`).toBe("podid");
      expect(await apply(overlay, docs)).toMatch(/daemonset.apps\/podid-nmi (created|configured|unchanged)/);
    }
  });

  it("custom-cloud: MIC reads the node's akscustom.json through AZURE_ENVIRONMENT_FILEPATH, and adapter-azure resolves the cloud from it", async () => {
    const { container, volumes } = micOf((await render("deploy/overlays/custom-cloud")).docs);
    const variable = container.env.find((e) => e.name === "AZURE_ENVIRONMENT_FILEPATH");
    const mount = container.volumeMounts.find((m) => m.mountPath === variable?.value);
    expect(volumes.find((v) => v.name === mount?.name)?.hostPath?.path).toBe("/etc/kubernetes/akscustom.json");
    const config = parseMic(expandArgs(container.args, { MIC_POD_NAMESPACE: "podid-system" }));
    expect(config.cloudconfig).toBe("/etc/kubernetes/azure.json");
    // The files as they would be on an Azure Stack Hub node, read the way MIC reads them.
    const node = join(dir, "stack-node");
    mkdirSync(node, { recursive: true });
    writeFileSync(join(node, "akscustom.json"), JSON.stringify({ name: "AzureStackCloud", resourceManagerEndpoint: "https://management.local.azurestack.external/", activeDirectoryEndpoint: "https://login.microsoftonline.com/", tokenAudience: "https://management.adfs.azurestack.local/0c0a7b9e" }));
    writeFileSync(join(node, "azure.json"), JSON.stringify({ cloud: "AzureStackCloud", tenantId: "72f988bf-0000-4000-8000-000000000001", aadClientId: "5d2c1f3e-0000-4000-8000-000000000002", aadClientSecret: "s", subscriptionId: "00000000-0000-4000-8000-000000000003" }));
    const loaded = await loadAzureConfig({ path: join(node, "azure.json"), env: { [variable?.name ?? "?"]: join(node, "akscustom.json") } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    expect(loaded.value.cloud).toMatchObject({ resourceManagerEndpoint: "https://management.local.azurestack.external", custom: true });
  });

  it("admin-secret: MIC runs without --cloudconfig or host files, as non-root, with the original's variables from podid-admin-secret", async () => {
    const { container, volumes } = micOf((await render("deploy/overlays/admin-secret")).docs);
    const config = parseMic(expandArgs(container.args, { MIC_POD_NAMESPACE: "podid-system" }));
    expect(config.cloudconfig).toBe("");
    expect(volumes.filter((v) => v.hostPath !== undefined)).toEqual([]);
    expect(container.volumeMounts).toEqual([]);
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    // The Secret's keys are the original chart's; fill them as an operator would and read the result as MIC does.
    const secret: Record<string, string> = {
      Cloud: "AzurePublicCloud", SubscriptionID: "00000000-0000-4000-8000-000000000003", ResourceGroup: "MC_rg", VMType: "vmss",
      TenantID: "72f988bf-0000-4000-8000-000000000001", ClientID: "5d2c1f3e-0000-4000-8000-000000000002", ClientSecret: "s3cret", UseMSI: "false", UserAssignedMSIClientID: "",
    };
    const env: Record<string, string> = {};
    for (const e of container.env) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref === undefined) continue;
      expect(ref.name).toBe("podid-admin-secret");
      expect(Object.keys(secret)).toContain(ref.key);
      env[e.name] = secret[ref.key] ?? "";
    }
    expect(Object.keys(env)).toHaveLength(Object.keys(secret).length);
    const loaded = await environmentAzureConfig(env);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
    expect(loaded.value).toMatchObject({ source: "environment", subscriptionId: secret["SubscriptionID"], vmType: "vmss", credential: { kind: "servicePrincipal", clientId: secret["ClientID"], clientSecret: "s3cret" } });
  });

  it("immutable-identities: the ConfigMap's list reaches --immutable-user-msis", async () => {
    const { docs } = await render("deploy/overlays/immutable-identities");
    const { container } = micOf(docs);
    const ref = container.env.find((e) => e.name === "IMMUTABLE_USER_MSIS")?.valueFrom?.configMapKeyRef;
    const configMap = docs.find((d) => d.kind === "ConfigMap" && d.metadata.name === ref?.name) as (Obj & { data: Record<string, string> }) | undefined;
    expect(configMap?.metadata.namespace).toBe("podid-system");
    expect(configMap?.data[ref?.key ?? "?"]).toBe("");
    expect(parseMic(expandArgs(container.args, { MIC_POD_NAMESPACE: "podid-system", IMMUTABLE_USER_MSIS: "" })).immutableUserMsis).toEqual([]);
    const listed = parseMic(expandArgs(container.args, { MIC_POD_NAMESPACE: "podid-system", IMMUTABLE_USER_MSIS: "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11,0c1f2e3d-0000-4000-8000-00000000a9e7" }));
    expect(listed.immutableUserMsis.map((id) => id.toLowerCase())).toEqual(["6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11", "0c1f2e3d-0000-4000-8000-00000000a9e7"]);
  });

  it("knobs stack: an operator's kustomization on the custom-cloud overlay with the admin-secret patch gets both", async () => {
    // kustomize takes bases only as relative paths.
    const own = join(dir, "my-podid");
    mkdirSync(own, { recursive: true });
    writeFileSync(join(own, "mic-admin-secret.yaml"), readFileSync(join(ROOT, "deploy/overlays/admin-secret/mic-admin-secret.yaml")));
    writeFileSync(
      join(own, "kustomization.yaml"),
      ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "bases:", `  - ${relative(own, join(ROOT, "deploy/overlays/custom-cloud"))}`, "patchesJson6902:", "  - target: {group: apps, version: v1, kind: Deployment, name: podid-mic}", "    path: mic-admin-secret.yaml", ""].join("\n"),
    );
    const result = await kubectl(["kustomize", own]);
    if (result.code !== 0) throw new Error(result.stderr);
    const { container, volumes } = micOf(parseAllDocuments(result.stdout).map((d) => d.toJSON() as Obj));
    expect(container.env.map((e) => e.name)).toEqual(expect.arrayContaining(["AZURE_ENVIRONMENT_FILEPATH", "CLIENT_SECRET"]));
    expect(volumes.map((v) => v.hostPath?.path)).toEqual(["/etc/kubernetes/akscustom.json"]);
    expect(parseMic(expandArgs(container.args, { MIC_POD_NAMESPACE: "podid-system" })).cloudconfig).toBe("");
  });
});

describe("Dockerfiles", () => {
  for (const [runner, bin, image] of [["mic-runner", "podid-mic", "mic"], ["nmi-server", "podid-nmi", "nmi"]] as const) {
    it(`${runner}: the image runs the bundle of the entry point its bin launches`, () => {
      const dockerfile = readFileSync(join(ROOT, "packages", runner, "Dockerfile"), "utf8");
      const manifest = JSON.parse(readFileSync(join(ROOT, "packages", runner, "package.json"), "utf8")) as { bin: Record<string, string> };
      const launcher = readFileSync(join(ROOT, "packages", runner, manifest.bin[bin] ?? "?"), "utf8");
      expect(launcher).toContain(`await import("../dist/main.js")`);
      // The build stage bundles packages/<runner>/dist/main.js into /out/<image> (docs/adr/0012-container-images.md);
      // harness/src/images checks what the built image holds and runs it.
      const bundler = readFileSync(join(ROOT, "scripts/images/bundle.mjs"), "utf8");
      expect(bundler).toContain(`{ runner: "${runner}", image: "${image}" }`);
      expect(dockerfile).toContain(`COPY --from=build /out/${image} /app`);
      // Node flags may sit between the binary and the bundle (NMI's V8 settings: docs/adr/0017-nmi-as-shipped-footprint.md).
      expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/node", (?:"--[^"]+", )*"\/app\/main\.mjs"\]$/m);
    });
  }
});

