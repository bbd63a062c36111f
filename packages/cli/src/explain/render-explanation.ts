/**
 * The text forms of `podid explain pod` and `podid explain identity`: fixed sections, sorted content, no
 * colours, so the output is stable and golden-testable. Each ends with the verdicts, one line per identity:
 * `<kind>: <what is wrong or right> → <the fix>`.
 * @packageDocumentation
 */
import type { BindingFacts, CloudFacts, EventView, IdentityExplanation, IdentityFacts, NodeFacts, PodExplanation, Verdict } from "./explanation-types.js";
import { describeTarget } from "./facts.js";

const MATCH_TEXT: Record<BindingFacts["match"], string> = {
  exact: "selects the pod",
  case: "near miss: differs only in letter case",
  whitespace: "near miss: differs only in whitespace",
  caseAndWhitespace: "near miss: differs in case and whitespace",
  typo: "near miss: a typo away",
};

function eventLine(event: EventView): string {
  return `${event.last} ${event.type} ${event.reason}${event.count > 1 ? ` (x${event.count})` : ""}: ${event.message}`;
}

/** `kind: message → fix`. */
export function verdictLine(verdict: Verdict): string {
  return `${verdict.kind}: ${verdict.message}${verdict.fix === undefined ? "" : ` → ${verdict.fix}`}`;
}

function cloudText(cloud: CloudFacts | undefined): string {
  if (cloud === undefined) return "not checked (pass --cloudconfig <azure.json> to read the VM/VMSS)";
  if (cloud.error !== undefined) return `read failed: ${cloud.error}`;
  const n = cloud.attached?.length ?? 0;
  return `${cloud.type ?? ""}, ${n} user-assigned identit${n === 1 ? "y" : "ies"} attached`;
}

function nodeText(node: NodeFacts): string[] {
  const lines: string[] = [];
  if (node.target !== undefined) {
    lines.push(`  node:       ${node.name} → ${describeTarget(node.target)}${node.target.instanceId === undefined ? "" : `, instance ${node.target.instanceId}`}`);
    lines.push(`  ARM:        ${cloudText(node.cloud)}`);
  } else {
    lines.push(`  node:       ${node.name} (${node.problem ?? "unknown VM"})`);
  }
  return lines;
}

function bindingLines(b: BindingFacts, showMatch = true): string[] {
  const lines = [`  ${b.namespace}/${b.name}  selector ${JSON.stringify(b.selector)} → AzureIdentity ${b.azureIdentity}${showMatch ? `  [${MATCH_TEXT[b.match]}]` : ""}`];
  if (b.problem !== undefined) lines.push(`    invalid: ${b.problem}`);
  for (const event of b.events) lines.push(`    event ${eventLine(event)}`);
  return lines;
}

function identityLines(i: IdentityFacts, withVia: boolean): string[] {
  const lines: string[] = [];
  const head = !i.exists
    ? "does not exist"
    : i.problem !== undefined
      ? "invalid"
      : `type ${i.type ?? "?"} (${i.type === 0 ? "user-assigned identity" : i.type === 3 ? "federated identity" : "service principal"}), clientID ${i.clientID ?? ""}`;
  lines.push(`  ${i.namespace}/${i.name}  ${head}${withVia && i.via.length > 0 ? `, via ${i.via.join(", ")}` : ""}`);
  if (i.problem !== undefined) lines.push(`    problem: ${i.problem}`);
  if (i.resourceID !== undefined) lines.push(`    resourceID: ${i.resourceID}`);
  if (i.exists && i.problem === undefined) {
    const why = [i.namespaced.global ? "--forceNamespaced" : "", i.namespaced.annotation ? "annotation aadpodidentity.k8s.io/Behavior: namespaced" : ""].filter((w) => w !== "");
    lines.push(`    namespaced: ${why.length === 0 ? "no (pods of every namespace may use it)" : `yes (${why.join(", ")})`}`);
  }
  const aai = i.assignedIdentity;
  if (aai !== undefined) {
    lines.push(
      `    AzureAssignedIdentity ${aai.namespace}/${aai.name}: ${aai.status === "" ? "\"\" (legacy, treated as Assigned)" : aai.status}${aai.deleting ? ", being deleted" : ""}` +
        `${aai.createdAt === undefined ? "" : `, created ${aai.createdAt}`}, node ${aai.node}`,
    );
    for (const event of aai.events) lines.push(`      event ${eventLine(event)}`);
  } else if (withVia && i.exists && i.problem === undefined) {
    lines.push("    AzureAssignedIdentity: none");
  }
  if (i.attached !== undefined) lines.push(`    on the VM/VMSS: ${i.attached ? "attached" : "NOT attached"}`);
  return lines;
}

/** Renders `explain pod` (ends with a newline). */
export function renderPodExplanation(e: PodExplanation): string {
  const lines: string[] = [];
  const p = e.pod;
  lines.push(`Pod ${p.namespace}/${p.name}  (${p.phase}${p.podIP === null ? "" : `, IP ${p.podIP}`})`);
  lines.push(`  label:      ${p.bindingLabel === null ? "no aadpodidbinding label" : `aadpodidbinding=${p.bindingLabel}`}${p.misspeltLabelKeys.length > 0 ? ` (look-alike label keys: ${p.misspeltLabelKeys.join(", ")})` : ""}`);
  if (p.owner !== null) lines.push(`  owner:      ${p.owner}`);
  if (e.node === null) lines.push("  node:       none (not scheduled)");
  else lines.push(...nodeText(e.node));
  lines.push(`  mode:       ${e.mode}; namespaced matching ${e.forceNamespaced ? "forced for every identity" : "only for identities annotated aadpodidentity.k8s.io/Behavior: namespaced"}`);
  lines.push(
    `  exceptions: ${e.exceptions.length === 0 ? "none apply" : e.exceptions.map((x) => `${x.namespace}/${x.name} (${x.matchedLabels.map((l) => `${l.key}=${l.value}`).join(", ")})`).join("; ")}`,
  );
  lines.push("", "Bindings");
  if (e.bindings.length === 0) lines.push("  none select the pod or nearly do");
  for (const b of e.bindings) lines.push(...bindingLines(b));
  lines.push("", "Identities");
  if (e.identities.length === 0) lines.push("  none");
  for (const i of e.identities) lines.push(...identityLines(i, true));
  lines.push("", `NMI (token request without client_id): ${e.nmi.outcome}`);
  lines.push("", "Verdict");
  for (const v of e.verdicts) lines.push(`  ${verdictLine(v)}`);
  return `${lines.join("\n")}\n`;
}

/** Renders `explain identity` (ends with a newline). */
export function renderIdentityExplanation(e: IdentityExplanation): string {
  const lines: string[] = [];
  lines.push(`AzureIdentity ${e.identity.namespace}/${e.identity.name}`);
  const [head = "", ...details] = identityLines(e.identity, false);
  lines.push(`  ${head.slice(`  ${e.identity.namespace}/${e.identity.name}  `.length)}`);
  lines.push(...details.map((l) => l.replace(/^ {4}/, "  ")));
  lines.push(`  mode:       ${e.mode}`);
  lines.push("", "Bindings");
  if (e.bindings.length === 0) lines.push("  none");
  for (const b of e.bindings) lines.push(...bindingLines(b, false));
  lines.push("", "Pods");
  if (e.pods.length === 0) lines.push("  none");
  for (const p of e.pods) {
    const where = p.node === null ? "no node" : `node ${p.node}${p.target === undefined ? "" : ` (${p.target.kind === "vm" ? "VM" : "VMSS"} ${p.target.name})`}`;
    lines.push(`  ${p.namespace}/${p.name}  ${where}${p.binding === "" ? "" : `, via ${p.binding}`}: ${p.state}${p.attached === undefined ? "" : p.attached ? ", attached" : ", NOT attached"}`);
  }
  lines.push("", "VMs and scale sets");
  if (e.targets.length === 0) lines.push("  none");
  for (const t of e.targets) {
    lines.push(`  ${describeTarget(t)}: ${t.pods} pod${t.pods === 1 ? "" : "s"}; ARM: ${cloudText(t.cloud)}${t.attached === undefined ? "" : t.attached ? "; this identity attached" : "; this identity NOT attached"}`);
  }
  if (e.stale.length > 0) {
    lines.push("", "AzureAssignedIdentities no longer wanted (MIC removes them)");
    for (const s of e.stale) lines.push(`  ${s.namespace}/${s.name}: ${s.status || "\"\""} for pod ${s.pod}`);
  }
  lines.push("", "Verdict");
  for (const v of e.verdicts) lines.push(`  ${verdictLine(v)}`);
  return `${lines.join("\n")}\n`;
}
