import type { AzureAssignedIdentity } from "../model/types.js";
import { managedIdentityKey } from "./assignment-comparison.js";
import type { ReconcilePlan } from "./plan.js";

const nameOf = (aai: AzureAssignedIdentity): string => `${aai.metadata.namespace}/${aai.metadata.name}`;

/**
 * The order in which to create a plan's new AzureAssignedIdentities so that every VM/VMSS can start its
 * PATCH as early as the crash-safe order allows (a PATCH may attach an identity once one `Created` object
 * on that VM/VMSS names it, see docs/adr/0013-pipelined-assignment-and-client-qps.md):
 *
 * 1. the *covering* creates: for each VM/VMSS, smallest first, one create per identity it attaches that
 *    no existing `Created` object on it names yet;
 * 2. the rest of each VM/VMSS's creates, smallest VM/VMSS first, in its `attach` order;
 * 3. creates no VM/VMSS attaches (held or service-principal identities), in plan order.
 *
 * Returns a permutation of `plan.creates`; pure.
 */
export function orderCreates(plan: Pick<ReconcilePlan, "creates" | "targets">): AzureAssignedIdentity[] {
  const pending = new Map(plan.creates.map((aai) => [nameOf(aai), aai]));
  const createNames = new Set(pending.keys());
  const createsOf = (attach: readonly AzureAssignedIdentity[]) => attach.filter((aai) => pending.has(nameOf(aai)));
  const targets = plan.targets
    .map((target) => ({ key: target.key, attach: target.attach, creates: createsOf(target.attach).length }))
    .sort((a, b) => a.creates - b.creates || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const ordered: AzureAssignedIdentity[] = [];
  const take = (aai: AzureAssignedIdentity): void => {
    if (pending.delete(nameOf(aai))) ordered.push(aai);
  };
  for (const target of targets) {
    const covered = new Set<string>();
    // Objects created by earlier passes already make their identity safe to attach.
    for (const aai of target.attach) {
      const key = managedIdentityKey(aai.spec.azureIdentityRef);
      if (key !== undefined && !createNames.has(nameOf(aai))) covered.add(key);
    }
    for (const aai of createsOf(target.attach)) {
      const key = managedIdentityKey(aai.spec.azureIdentityRef);
      if (key === undefined || covered.has(key)) continue;
      covered.add(key);
      take(aai);
    }
  }
  for (const target of targets) for (const aai of target.attach) take(aai);
  for (const aai of plan.creates) take(aai);
  return ordered;
}
