/**
 * Small shared steps of `podid explain`: turning nodes, events, bindings and identities into facts, and
 * recognising what MIC's Events say about an identity. All rules come from @podid/core.
 * @packageDocumentation
 */
import {
  BINDING_EVENT,
  classifyArmError,
  isNamespacedIdentity,
  isPodExcepted,
  parseProviderId,
  type AzureIdentity,
  type AzurePodIdentityException,
  type NodeView,
  type PodView,
} from "@podid/core";
import type { CloudFacts, EventView, ExceptionFacts, NodeFacts, TargetFacts } from "./explanation-types.js";

/** How many Events per object explain shows (the newest). */
export const EVENTS_PER_OBJECT = 5;

/** The VM/VMSS of a node, or why there is none. */
export function nodeFacts(name: string, view: NodeView | undefined, cloud: CloudFacts | undefined): NodeFacts {
  if (view === undefined) return { name, exists: false, providerID: "", problem: `node ${name} does not exist (deleted?); MIC deletes AzureAssignedIdentities of vanished nodes` };
  const parsed = parseProviderId(view.providerID);
  if (!parsed.ok) return { name, exists: true, providerID: view.providerID, problem: parsed.error.message };
  const t = parsed.value.target;
  const target: TargetFacts = {
    kind: t.kind,
    name: t.name,
    resourceGroup: t.resourceGroup,
    subscriptionId: t.subscriptionId,
    ...(parsed.value.instanceId === undefined ? {} : { instanceId: parsed.value.instanceId }),
  };
  return { name, exists: true, providerID: view.providerID, target, ...(cloud === undefined ? {} : { cloud }) };
}

/** `VMSS aks-pool-vmss (resource group rg)`. */
export function describeTarget(target: TargetFacts): string {
  return `${target.kind === "vm" ? "VM" : "VMSS"} ${target.name} (resource group ${target.resourceGroup})`;
}

/** The events about one object, oldest first, at most {@link EVENTS_PER_OBJECT} (the newest). */
export function eventsOf(events: readonly EventView[], kind: string, namespace: string, name: string): EventView[] {
  return events
    .filter((e) => e.object.kind === kind && e.object.namespace === namespace && e.object.name === name)
    .sort((a, b) => cmp(a.last, b.last) || cmp(a.reason, b.reason) || cmp(a.message, b.message))
    .slice(-EVENTS_PER_OBJECT);
}

/**
 * The newest `binding applied` / `binding apply error` Event MIC recorded about `identity` (`ns/name`)
 * among `events`. MIC's messages name the identity as `identity <ns>/<name>` (see core's
 * `identityLabel`), which is how one binding's Events are told apart per identity.
 */
export function latestAssignmentEvent(events: readonly EventView[], identity: string): EventView | undefined {
  const mentions = events.filter(
    (e) => (e.reason === BINDING_EVENT.applied || e.reason === BINDING_EVENT.applyError) && e.message.includes(`identity ${identity} `),
  );
  return mentions.sort((a, b) => cmp(a.last, b.last))[mentions.length - 1];
}

/** Why ARM refused an identity, as far as an Event message tells. */
export type Refusal = "forbidden" | "invalid" | "refused";

/**
 * Reads an apply-error message: when it carries ARM's `LinkedAuthorizationFailed` /
 * `FailedIdentityOperation` text naming the identity, core's `classifyArmError` says which; MIC's own
 * "refused by ARM and quarantined" wording gives `refused`. Anything else (throttling, timeouts) is not a
 * refusal of this identity.
 */
export function refusalIn(message: string, identityKey: string | undefined): Refusal | undefined {
  const code = /LinkedAuthorizationFailed/i.test(message)
    ? "LinkedAuthorizationFailed"
    : /FailedIdentityOperation/i.test(message)
      ? "FailedIdentityOperation"
      : undefined;
  if (code !== undefined && identityKey !== undefined) {
    const classified = classifyArmError({ statusCode: 0, code, message }, 0);
    if (classified.kind === "forbiddenIdentities" && classified.identityKeys.includes(identityKey)) return "forbidden";
    if (classified.kind === "invalidIdentities" && classified.identityKeys.includes(identityKey)) return "invalid";
  }
  return /quarantin|refused by ARM/i.test(message) ? "refused" : undefined;
}

/** The exceptions that apply to the pod (core's `isPodExcepted`), each with the labels that made it apply. */
export function applyingExceptions(pod: PodView, exceptions: readonly AzurePodIdentityException[]): ExceptionFacts[] {
  return exceptions
    .filter((exception) => isPodExcepted(pod, [exception]))
    .map((exception) => ({
      namespace: exception.metadata.namespace,
      name: exception.metadata.name,
      matchedLabels: Object.entries(exception.spec.podLabels)
        .filter(([key, value]) => isPodExcepted(pod, [{ ...exception, spec: { podLabels: { [key]: value } } }]))
        .map(([key, value]) => ({ key, value }))
        .sort((a, b) => cmp(a.key, b.key)),
    }))
    .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
}

/** Whether namespaced matching applies to the identity, and why. */
export function namespacedFacts(identity: AzureIdentity | undefined, forceNamespaced: boolean): { global: boolean; annotation: boolean } {
  return { global: forceNamespaced, annotation: identity !== undefined && isNamespacedIdentity(identity, { forceNamespaced: false }) };
}

/** Plain code-unit comparison. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
