/**
 * The text form of `podid plan`: stable (sorted, no clocks, no random ids) so it can be diffed in review
 * and golden-tested.
 * @packageDocumentation
 */
import type { ComputeIdentityState } from "@podid/core";
import { formatLocation } from "../manifests/load-manifests.js";
import { planHasFindings, type OfflinePlan, type PlannedTarget } from "./offline-plan.js";

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function describeBlock(state: ComputeIdentityState): string {
  const n = state.userAssignedIdentityIds.length;
  return `${state.type}, ${plural(n, "user-assigned identity", "user-assigned identities")}${state.provisioningState === undefined ? "" : `, provisioningState ${state.provisioningState}`}`;
}

function indent(text: string, spaces: number): string {
  const pad = " ".repeat(spaces);
  return text
    .split("\n")
    .map((line) => (line === "" ? line : pad + line))
    .join("\n");
}

function renderTarget(target: PlannedTarget): string[] {
  const lines: string[] = [];
  lines.push(`  ${target.kind === "vm" ? "VM" : "VMSS"} ${target.name} (resource group ${target.resourceGroup}, subscription ${target.subscriptionId})`);
  lines.push(`    current (${target.currentFrom}): ${describeBlock(target.current)}`);
  for (const id of [...target.current.userAssignedIdentityIds].sort()) lines.push(`      ${id}`);
  for (const key of target.add) lines.push(`    attach ${key}`);
  for (const key of target.remove) lines.push(`    detach ${key}`);
  if (target.blockedBy === "deleting") lines.push(`    no PATCH: the ${target.kind === "vm" ? "VM" : "scale set"} is being deleted`);
  else if (target.patches.length === 0) lines.push("    no PATCH needed: already in the wanted state");
  target.patches.forEach((patch, index) => {
    lines.push(`    PATCH ${target.id}${target.patches.length > 1 ? `  (${index + 1} of ${target.patches.length})` : ""}`);
    lines.push(indent(JSON.stringify(patch, null, 2), 6));
  });
  lines.push(`    result: ${describeBlock(target.resulting)}`);
  return lines;
}

/** Renders a plan as text (ends with a newline). */
export function renderPlan(plan: OfflinePlan): string {
  const lines: string[] = [];
  const s = plan.summary;
  lines.push(
    `Plan: ${s.create} to create, ${s.update} to update, ${s.delete} to delete; ${plural(s.patches, "ARM PATCH", "ARM PATCHes")}` +
      (s.invalid + s.quarantined > 0 ? `; ${plural(s.invalid, "invalid object")}, ${plural(s.quarantined, "quarantined identity", "quarantined identities")}` : ""),
  );

  lines.push("", "AzureAssignedIdentities");
  if (plan.assignedIdentities.length === 0) lines.push("  (no changes)");
  for (const aai of plan.assignedIdentities) {
    lines.push(`  ${aai.action.padEnd(8)}${aai.namespace}/${aai.name}`);
    lines.push(`          pod ${aai.pod} on node ${aai.node}, identity ${aai.identity} via binding ${aai.binding}`);
    lines.push(`          → ${aai.resultingStatus}: ${aai.detail}`);
  }

  lines.push("", "ARM identity PATCHes");
  if (plan.targets.length === 0) lines.push("  (none)");
  for (const target of plan.targets) lines.push(...renderTarget(target));
  for (const target of plan.unchangedTargets) lines.push(`  ${target.kind === "vm" ? "VM" : "VMSS"} ${target.name}: unchanged`);

  if (plan.skipped.length > 0 || plan.unresolvedNodes.length > 0) {
    lines.push("", "Not assigned");
    for (const skip of plan.skipped) lines.push(`  ${skip.message}`);
    for (const node of plan.unresolvedNodes) lines.push(`  ${node.message}`);
  }
  if (plan.quarantined.length > 0) {
    lines.push("", "Quarantined identities (held back from every PATCH)");
    for (const key of plan.quarantined) lines.push(`  ${key}`);
  }
  if (plan.invalid.length > 0) {
    lines.push("", "Invalid objects");
    for (const invalid of plan.invalid) lines.push(`  ${formatLocation(invalid.at)}: ${invalid.message}`);
  }
  if (plan.notes.length > 0) {
    lines.push("", "Notes");
    for (const note of plan.notes) lines.push(`  ${note}`);
  }
  if (planHasFindings(plan)) {
    lines.push("", `plan has findings (exit code 2): ${plural(s.invalid, "invalid object")}, ${plural(s.quarantined, "quarantined identity", "quarantined identities")}`);
  }
  return `${lines.join("\n")}\n`;
}
