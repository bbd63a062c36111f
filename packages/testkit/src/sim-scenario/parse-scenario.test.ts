import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseScenario, parseScenarioYaml } from "./parse-scenario.js";
import { envFileText, simAzureJson, simEnvironmentFile } from "./scenario-outputs.js";
import { describeScenarioProblems, nodeProviderId } from "./scenario.js";
import { scenarioFaultHook } from "./start-scenario-cloud.js";

const SEED = fileURLToPath(new URL("../../../../examples/scenarios/seed.yaml", import.meta.url));
const SUB = "00000000-0000-4000-8000-00000000000a";

/** A small valid scenario; tests break one field at a time. */
function minimal(): Record<string, unknown> {
  return {
    subscriptions: [
      {
        id: SUB,
        identities: [{ name: "id-a", resourceGroup: "rg-ids" }],
        scaleSets: [{ name: "vmss-a", resourceGroup: "rg-nodes", identities: ["id-a"], instances: [0, 1] }],
        vms: [{ name: "vm-a", resourceGroup: "rg-nodes" }],
      },
    ],
    nodes: [
      { name: "node-0", scaleSet: "vmss-a", instance: 0 },
      { name: "node-vm", vm: "vm-a" },
    ],
  };
}

function problemsOf(raw: unknown): { path: string; message: string }[] {
  const result = parseScenario(raw);
  if (result.ok) throw new Error("expected problems, got a scenario");
  return [...result.error];
}

describe("parseScenario", () => {
  it("reads the example seed: targets, instances, attached identities, nodes and the 429 fault", () => {
    const result = parseScenarioYaml(readFileSync(SEED, "utf8"));
    if (!result.ok) throw new Error(describeScenarioProblems("seed.yaml", result.error));
    const seed = result.value;
    expect(seed.targets.map((t) => `${t.target.kind}/${t.target.name}`)).toEqual(["vmss/aks-demo-12345678-vmss", "vm/aks-legacy-12345678-0"]);
    expect(seed.targets[0]?.instances).toEqual(["0", "1", "2"]);
    expect(seed.targets[0]?.identities[0]).toMatch(/\/userAssignedIdentities\/aks-demo-agentpool$/);
    expect(seed.nodes.map((n) => n.name)).toHaveLength(4);
    expect(seed.arm.faults).toEqual([expect.objectContaining({ operation: "vmssPatch", nth: 1, status: 429, code: "TooManyRequests", retryAfterSeconds: 2 })]);
    // The seed mirrors examples/demo/identity.yaml.
    const demoIdentity = readFileSync(fileURLToPath(new URL("../../../../examples/demo/identity.yaml", import.meta.url)), "utf8");
    const reader = seed.identities.find((i) => i.name === "demo-kv-reader");
    expect(demoIdentity).toContain(`ResourceID: ${reader?.id}`);
    expect(demoIdentity).toContain(`ClientID: ${reader?.clientId}`);
  });

  it("fills defaults and writes the providerIDs the kubelet writes", () => {
    const result = parseScenario(minimal());
    if (!result.ok) throw new Error(describeScenarioProblems("minimal", result.error));
    const { nodes, arm, imdsAddress, targets } = result.value;
    expect(nodeProviderId(nodes[0] ?? fail())).toBe(`azure:///subscriptions/${SUB}/resourceGroups/rg-nodes/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-a/virtualMachines/0`);
    expect(nodeProviderId(nodes[1] ?? fail())).toBe(`azure:///subscriptions/${SUB}/resourceGroups/rg-nodes/providers/Microsoft.Compute/virtualMachines/vm-a`);
    expect(arm).toEqual({ patchLatencyMs: 1000, getLatencyMs: 0, faults: [] });
    expect(imdsAddress).toBe("127.0.0.1");
    expect(targets.map((t) => t.systemAssigned)).toEqual([true, false]);
  });

  it.each<[string, (s: Record<string, unknown>) => void, string, RegExp]>([
    ["a misspelt top-level field", (s) => (s["node"] = []), "node", /unknown field/],
    ["a subscription id that is no GUID", (s) => (sub(s)["id"] = "my-sub"), "subscriptions[0].id", /not a GUID/],
    ["an identity nobody declared", (s) => (scaleSet(s)["identities"] = ["id-b"]), "subscriptions[0].scaleSets[0].identities[0]", /no identity named "id-b".*known: id-a/],
    ["a scale set without instances", (s) => delete scaleSet(s)["instances"], "subscriptions[0].scaleSets[0].instances", /required/],
    ["a negative instance", (s) => (scaleSet(s)["instances"] = [0, -1]), "subscriptions[0].scaleSets[0].instances[1]", /whole number/],
    ["a duplicate instance", (s) => (scaleSet(s)["instances"] = [1, 1]), "subscriptions[0].scaleSets[0].instances[1]", /duplicate instance id "1"/],
    ["a node on an unknown instance", (s) => (node(s, 0)["instance"] = 7), "nodes[0].instance", /one of vmss-a's instances \(0, 1\)/],
    ["a node on an unknown scale set", (s) => (node(s, 0)["scaleSet"] = "vmss-b"), "nodes[0].scaleSet", /no scale set named "vmss-b" \(known: vmss-a\)/],
    ["a node with both scaleSet and vm", (s) => (node(s, 1)["scaleSet"] = "vmss-a"), "nodes[1]", /exactly one of scaleSet/],
    ["two nodes on one instance", (s) => (s["nodes"] as unknown[]).push({ name: "node-x", scaleSet: "vmss-a", instance: 0 }), "nodes[2]", /same instance as node "node-0"/],
    ["an upper-case node name", (s) => (node(s, 0)["name"] = "Node-0"), "nodes[0].name", /lower-case DNS subdomain/],
    ["a string latency", (s) => (s["arm"] = { patchLatencyMs: "2s" }), "arm.patchLatencyMs", /whole number from 0 to 600000, got "2s"/],
    ["an unknown fault operation", (s) => (s["arm"] = { faults: [{ operation: "vmssPut", nth: 1, status: 429 }] }), "arm.faults[0].operation", /one of vmssPatch/],
    ["a fault without nth", (s) => (s["arm"] = { faults: [{ operation: "vmssPatch", status: 429 }] }), "arm.faults[0].nth", /required/],
    ["a fault status below 400", (s) => (s["arm"] = { faults: [{ operation: "vmPatch", nth: 1, status: 200 }] }), "arm.faults[0].status", /from 400 to 599/],
    ["an IMDS address that is a host name", (s) => (s["imds"] = { address: "localhost" }), "imds.address", /IPv4 address/],
    ["two targets on one IMDS port", (s) => { scaleSet(s)["imds"] = { port: 18080 }; vm(s)["imds"] = { port: 18080 }; }, "subscriptions[0].vms[0].imds.port", /duplicate IMDS port/],
    ["a duplicate target name", (s) => (vm(s)["name"] = "VMSS-A"), "subscriptions[0].vms[0]", /duplicate scale set\/VM name/],
    ["a label value that is a number", (s) => (node(s, 0)["labels"] = { tier: 3 }), "nodes[0].labels.tier", /quote it/],
    ["no subscriptions", (s) => delete s["subscriptions"], "subscriptions", /required/],
  ])("refuses %s, naming the field", (_what, mutate, path, message) => {
    const scenario = minimal();
    mutate(scenario);
    const problems = problemsOf(scenario);
    expect(problems).toContainEqual({ path, message: expect.stringMatching(message) as unknown as string });
  });

  it("reports every problem at once, not only the first", () => {
    const scenario = minimal();
    sub(scenario)["id"] = "x";
    node(scenario, 1)["vm"] = "nope";
    scenario["arm"] = { patchLatencyMs: -1 };
    expect(problemsOf(scenario).map((p) => p.path)).toEqual(expect.arrayContaining(["subscriptions[0].id", "arm.patchLatencyMs"]));
  });

  it("refuses non-mappings and broken YAML with a line number instead of throwing", () => {
    expect(problemsOf([1, 2])).toEqual([{ path: "", message: "must be a mapping, got a list" }]);
    expect(problemsOf(null)).toEqual([{ path: "", message: "must be a mapping, got null" }]);
    const broken = parseScenarioYaml("name: x\nsubscriptions:\n  - id: [unclosed\n");
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.error[0]?.message).toMatch(/^not valid YAML: .* at line \d+, column \d+$/);
    const twice = parseScenarioYaml("name: a\nname: b\n");
    expect(twice.ok).toBe(false);
    expect(parseScenarioYaml(stringify(minimal())).ok).toBe(true);
  });
});

describe("scenario outputs", () => {
  it("azure.json names a non-built-in cloud so MIC reads the environment file; the env file is KEY=value lines", () => {
    const result = parseScenario(minimal());
    if (!result.ok) throw new Error("minimal scenario invalid");
    expect(simAzureJson(result.value)).toMatchObject({ cloud: "AzureStackCloud", subscriptionId: SUB, resourceGroup: "rg-nodes", vmType: "vmss" });
    expect(simEnvironmentFile(result.value, { armUrl: "https://127.0.0.1:1", aadUrl: "https://127.0.0.1:2/" })).toMatchObject({
      resourceManagerEndpoint: "https://127.0.0.1:1/",
      activeDirectoryEndpoint: "https://127.0.0.1:2/",
    });
    expect(envFileText({ A: "/x y", B: "2" })).toBe("A=/x y\nB=2\n");
    expect(() => envFileText({ A: "x\ny" })).toThrow(/spans lines/);
  });

  it("the fault hook fails exactly the nth request of its operation", () => {
    const hook = scenarioFaultHook([{ operation: "vmssPatch", nth: 2, status: 429, code: "TooManyRequests", message: "m", retryAfterSeconds: 3 }]);
    const answers = ["vmssPatch", "vmssGet", "vmssPatch", "vmssPatch"].map((operation) => hook({ operation: operation as "vmssPatch" }));
    expect(answers.map((a) => a?.status)).toEqual([undefined, undefined, 429, undefined]);
    expect(answers[2]?.headers).toEqual({ "retry-after": "3" });
  });
});

type Mutable = Record<string, unknown>;
const sub = (s: Mutable) => (s["subscriptions"] as Mutable[])[0] as Mutable;
const scaleSet = (s: Mutable) => (sub(s)["scaleSets"] as Mutable[])[0] as Mutable;
const vm = (s: Mutable) => (sub(s)["vms"] as Mutable[])[0] as Mutable;
const node = (s: Mutable, i: number) => (s["nodes"] as Mutable[])[i] as Mutable;
function fail(): never {
  throw new Error("missing");
}
