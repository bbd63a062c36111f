/**
 * `podid plan` offline: the seed example manifests (`examples/demo` + the node and scale-set documents of
 * `examples/plan`) with their exact output, exit codes (0 / 1 / 2), FILE:LINE positions for malformed YAML
 * and for invalid objects, ≤150-identity PATCH chunks, current AzureAssignedIdentities and identity sets as
 * input, `--immutable`, `--quarantined`, stdin.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { expectGolden } from "../test-support/golden.js";
import { REPO_ROOT, runCli } from "../test-support/run-cli.js";
import type { OfflinePlan } from "./offline-plan.js";

const SUB = "00000000-0000-4000-8000-00000000d3e0";
const VMSS_ID = `/subscriptions/${SUB}/resourceGroups/MC_demo_podid_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-demo-12345678-vmss`;
const DEMO_ID = `/subscriptions/${SUB}/resourceGroups/rg-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/demo-kv-reader`;
const NODE = "aks-demo-12345678-vmss000001";
const DEMO_ARGS = ["plan", "-f", "examples/demo", "-f", "examples/plan", "--assume-node", NODE];

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "podid-plan-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("podid plan on the example manifests", () => {
  it("prints the AzureAssignedIdentity to create and the exact PATCH for the demo scale set", async () => {
    const run = await runCli(DEMO_ARGS);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expectGolden("plan-demo.txt", run.stdout);
  });

  it("gives the same plan as JSON, with the PATCH body ARM receives", async () => {
    const run = await runCli([...DEMO_ARGS, "-o", "json"]);
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as OfflinePlan;
    expect(plan.assignedIdentities).toEqual([
      {
        action: "create",
        namespace: "default",
        name: "demo-app-default-demo-kv-reader",
        pod: "default/demo-app",
        node: NODE,
        identity: "default/demo-kv-reader",
        binding: "default/demo-kv-reader-binding",
        resultingStatus: "Assigned",
        detail: "attached to VMSS aks-demo-12345678-vmss",
      },
    ]);
    expect(plan.targets).toHaveLength(1);
    expect(plan.targets[0]?.id).toBe(VMSS_ID);
    expect(plan.targets[0]?.patches).toEqual([
      { identity: { type: "SystemAssigned, UserAssigned", userAssignedIdentities: { [DEMO_ID.toLowerCase()]: {} } } },
    ]);
    expect(plan.summary).toEqual({ create: 1, update: 0, delete: 0, patches: 1, invalid: 0, quarantined: 0 });
  });

  it("without a node for the pod, says how to give one (spec.nodeName or --assume-node)", async () => {
    const run = await runCli(["plan", "-f", "examples/demo"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("pod default/demo-app is not scheduled (no spec.nodeName): MIC assigns nothing until it is; set spec.nodeName or pass --assume-node <node>");
    const noNode = await runCli(["plan", "-f", "examples/demo", "--assume-node", NODE]);
    expect(noNode.stdout).toContain(`node ${NODE} is not in the manifests: add a Node with spec.providerID to plan its pods`);
  });

  it("reads manifests from stdin with -f -", async () => {
    const stdin = ["examples/demo/identity.yaml", "examples/demo/binding.yaml"].map((p) => readFileSync(join(REPO_ROOT, p), "utf8")).join("---\n");
    const run = await runCli(["plan", "-f", "-", "-f", "examples/demo/pod.yaml", "-f", "examples/plan", "--assume-node", NODE, "-o", "json"], { stdin });
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as OfflinePlan;
    expect(plan.assignedIdentities.map((r) => `${r.action} ${r.namespace}/${r.name}`)).toEqual(["create default/demo-app-default-demo-kv-reader"]);
  });
});

describe("podid plan findings and errors", () => {
  it("an invalid resourceID exits 2 and points at the field's FILE:LINE (legacy PascalCase too)", async () => {
    const path = file(
      "bad-identity.yaml",
      [
        "apiVersion: aadpodidentity.k8s.io/v1",
        "kind: AzureIdentity",
        "metadata:",
        "  name: demo-kv-reader",
        "spec:",
        "  type: 0",
        "  ClientID: 6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11",
        "  ResourceID: /subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/identities/demo",
        "",
      ].join("\n"),
    );
    const run = await runCli(["plan", "-f", path, "-f", "examples/demo/binding.yaml", "-f", "examples/demo/pod.yaml", "-f", "examples/plan", "--assume-node", NODE]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(`Invalid objects\n  ${path}:8: AzureIdentity default/demo-kv-reader is invalid: spec.resourceID: `);
    expect(run.stdout).toContain(`pod default/demo-app: binding default/demo-kv-reader-binding names AzureIdentity default/demo-kv-reader, which is invalid (${path}:8)`);
    expect(run.stdout).toContain("plan has findings (exit code 2): 1 invalid object, 0 quarantined identities");
  });

  it("a quarantined identity is held back from the PATCH and exits 2", async () => {
    const run = await runCli([...DEMO_ARGS, "--quarantined", DEMO_ID, "-o", "json"]);
    expect(run.code).toBe(2);
    const plan = JSON.parse(run.stdout) as OfflinePlan;
    expect(plan.assignedIdentities.map((r) => [r.action, r.resultingStatus])).toEqual([["hold", "Created"]]);
    expect(plan.targets).toEqual([]);
    expect(plan.quarantined).toEqual([DEMO_ID.toLowerCase()]);
    expect(plan.summary.create).toBe(1);
  });

  it("malformed YAML exits 1 with FILE:LINE:COLUMN", async () => {
    const path = file("broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: {a: b\n");
    const run = await runCli(["plan", "-f", path]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(new RegExp(`^podid: ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: malformed YAML: `));
  });

  it("an unreadable path or an empty directory exits 1", async () => {
    expect((await runCli(["plan", "-f", join(dir, "missing.yaml")])).stderr).toContain("cannot read");
    const empty = join(dir, "empty");
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, "note.txt"), "not a manifest");
    const run = await runCli(["plan", "-f", empty]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no manifests (*.yaml, *.yml, *.json) in ${empty}`);
  });

  it("notes kinds it does not read and duplicate objects (the later one wins)", async () => {
    const path = file(
      "extra.yaml",
      [
        stringify({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web" } }),
        stringify({ apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentityBinding", metadata: { name: "demo-kv-reader-binding" }, spec: { azureIdentity: "demo-kv-reader", selector: "other" } }),
      ].join("---\n"),
    );
    const run = await runCli(["plan", "-f", "examples/demo", "-f", path, "-f", "examples/plan", "--assume-node", NODE]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${path}:1: Deployment (apps/v1) skipped`);
    expect(run.stdout).toContain(`${path}:6: AzureIdentityBinding default/demo-kv-reader-binding also defined at examples/demo/binding.yaml:1; the later one is used`);
    expect(run.stdout).toContain("Plan: 0 to create");
  });
});

describe("podid plan against current state", () => {
  it("splits more than 150 identities into PATCHes of at most 150 (#813)", async () => {
    const docs: unknown[] = [];
    for (let i = 0; i < 151; i++) {
      docs.push({ apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentity", metadata: { name: `id-${i}` }, spec: { type: 0, clientID: `c-${i}`, resourceID: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${i}` } });
      docs.push({ apiVersion: "aadpodidentity.k8s.io/v1", kind: "AzureIdentityBinding", metadata: { name: `b-${i}` }, spec: { azureIdentity: `id-${i}`, selector: "many" } });
    }
    docs.push({ apiVersion: "v1", kind: "Pod", metadata: { name: "greedy", labels: { aadpodidbinding: "many" } }, spec: { nodeName: NODE } });
    const path = file("many.yaml", docs.map((d) => stringify(d)).join("---\n"));
    const run = await runCli(["plan", "-f", path, "-f", "examples/plan", "-o", "json"]);
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as OfflinePlan;
    const patches = plan.targets[0]?.patches ?? [];
    expect(patches.map((p) => Object.keys(p.identity.userAssignedIdentities ?? {}).length)).toEqual([150, 1]);
    expect(plan.targets[0]?.resulting.userAssignedIdentityIds).toHaveLength(151);
    expect(plan.summary).toMatchObject({ create: 151, patches: 2 });
  });

  it("detaches the identity of a pod that went, unless it is immutable; reads `az vmss show` JSON as the current set", async () => {
    // The AzureAssignedIdentity MIC made for the demo pod, as `kubectl get azureassignedidentity -o yaml` shows it.
    const aai = {
      apiVersion: "aadpodidentity.k8s.io/v1",
      kind: "AzureAssignedIdentity",
      metadata: { name: "demo-app-default-demo-kv-reader", namespace: "default", labels: { nodename: NODE }, finalizers: ["azureassignedidentity.finalizers.aadpodidentity.k8s.io"] },
      spec: {
        azureIdentityRef: { metadata: { name: "demo-kv-reader", namespace: "default" }, spec: { type: 0, resourceID: DEMO_ID, clientID: "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11" } },
        azureBindingRef: { metadata: { name: "demo-kv-reader-binding", namespace: "default" }, spec: { azureIdentity: "demo-kv-reader", selector: "demo-kv-access" } },
        pod: "demo-app",
        podNamespace: "default",
        nodename: NODE,
      },
      status: { status: "Assigned" },
    };
    const vmss = { id: VMSS_ID, name: "aks-demo-12345678-vmss", type: "Microsoft.Compute/virtualMachineScaleSets", identity: { type: "SystemAssigned, UserAssigned", principalId: "p", userAssignedIdentities: { [DEMO_ID]: { clientId: "c", principalId: "p" } } } };
    const aaiPath = file("aai.yaml", stringify(aai));
    const vmssPath = file("vmss.json", JSON.stringify(vmss, null, 2));
    const base = ["plan", "-f", "examples/demo/identity.yaml", "-f", "examples/demo/binding.yaml", "-f", "examples/plan/node.yaml", "-f", aaiPath, "-f", vmssPath];
    const detach = JSON.parse((await runCli([...base, "-o", "json"])).stdout) as OfflinePlan;
    expect(detach.assignedIdentities.map((r) => [r.action, r.detail])).toEqual([["delete", "detached from VMSS aks-demo-12345678-vmss"]]);
    expect(detach.targets[0]?.currentFrom).toBe(`${vmssPath}:1`);
    expect(detach.targets[0]?.patches).toEqual([{ identity: { type: "SystemAssigned" } }]);

    const kept = JSON.parse((await runCli([...base, "-o", "json", "--immutable", "6b4c2a10-0d3e-4f60-9d5e-2f0a3c1d7e11"])).stdout) as OfflinePlan;
    expect(kept.assignedIdentities.map((r) => [r.action, r.detail])).toEqual([["delete", "immutable identity: stays attached"]]);
    expect(kept.targets).toEqual([]);
    expect(kept.unchangedTargets).toEqual([{ kind: "vmss", name: "aks-demo-12345678-vmss", id: VMSS_ID }]);

    // The pod re-created under its name on instance 2 of the same scale set: the object moves, ARM is untouched.
    const other = "aks-demo-12345678-vmss000002";
    const otherNode = file("other-node.yaml", stringify({ apiVersion: "v1", kind: "Node", metadata: { name: other }, spec: { providerID: `azure://${VMSS_ID}/virtualMachines/2` } }));
    const moved = JSON.parse((await runCli([...base, "-f", "examples/demo/pod.yaml", "-f", otherNode, "--assume-node", other, "-o", "json"])).stdout) as OfflinePlan;
    expect(moved.assignedIdentities.map((r) => [r.action, r.node, r.resultingStatus, r.detail])).toEqual([
      ["update", other, "Assigned", `pod now on node ${other}, same VM/VMSS as ${NODE}: moved in place, nothing to attach or detach`],
    ]);
    expect(moved.targets).toEqual([]);
  });

  it("rejects a compute document whose id is not a VM or scale set, with its FILE:LINE", async () => {
    const path = file("wrong-compute.yaml", `kind: VirtualMachineScaleSetIdentities\nid: /subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1\nuserAssignedIdentities: []\n`);
    const run = await runCli(["plan", "-f", path]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(`${path}:2: id: /subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1 is not a virtual machine scale set; use kind VirtualMachineIdentities`);
  });
});
