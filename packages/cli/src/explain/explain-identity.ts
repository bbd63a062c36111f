/**
 * `podid explain identity`: which pods use an AzureIdentity, on which nodes and VMs/VMSS, in which
 * AzureAssignedIdentity state — and what stands in the way — as a pure function of what was read.
 * @packageDocumentation
 */
import {
  BINDING_LABEL,
  computeTargetKey,
  describeValidationError,
  effectiveAssignedState,
  isPodExcepted,
  managedIdentityKey,
  matchAssignments,
  parseProviderId,
  selectorCanMatchPodLabel,
  selectorNearMiss,
  type AzureIdentity,
  type NodeView,
} from "@podid/core";
import type { IdentityExplanation, IdentityFacts, IdentityPodFacts, IdentityTargetFacts, TargetFacts, Verdict } from "./explanation-types.js";
import { cmp, describeTarget, eventsOf, latestAssignmentEvent, namespacedFacts, refusalIn } from "./facts.js";
import type { ExplainOptions } from "./explain-pod.js";
import type { IdentityReadout } from "./cluster-reader.js";
import { parsedRef, rawSpecString } from "./readout.js";

function targetOf(node: NodeView | undefined): { facts: TargetFacts; key: string } | undefined {
  if (node === undefined) return undefined;
  const parsed = parseProviderId(node.providerID);
  if (!parsed.ok) return undefined;
  const t = parsed.value.target;
  return {
    facts: { kind: t.kind, name: t.name, resourceGroup: t.resourceGroup, subscriptionId: t.subscriptionId, ...(parsed.value.instanceId === undefined ? {} : { instanceId: parsed.value.instanceId }) },
    key: computeTargetKey(t),
  };
}

/** Explains one identity. Pure. */
export function explainIdentity(readout: IdentityReadout, options: ExplainOptions): IdentityExplanation {
  const { namespace, name } = readout;
  const id = `${namespace}/${name}`;
  const forceNamespaced = options.mode === "managed" ? true : options.forceNamespaced;
  const parsed = readout.identities.find((p) => {
    const r = parsedRef(p);
    return r.namespace === namespace && r.name === name;
  });
  const identity: AzureIdentity | undefined = parsed?.result.ok === true ? parsed.result.value : undefined;
  const key = identity === undefined ? undefined : managedIdentityKey(identity);

  const own = readout.bindings.filter((p) => {
    const r = parsedRef(p);
    return r.namespace === namespace && (p.result.ok ? p.result.value.spec.azureIdentity : rawSpecString(p.raw, ["azureIdentity", "AzureIdentity"])) === name;
  });
  const validOwn = own.flatMap((p) => (p.result.ok ? [p.result.value] : []));
  const bindings = own
    .map((p) => {
      const r = parsedRef(p);
      const selector = p.result.ok ? p.result.value.spec.selector : rawSpecString(p.raw, ["selector", "Selector"]);
      const problem = !p.result.ok
        ? describeValidationError(p.result.error)
        : !selectorCanMatchPodLabel(selector)
          ? `selector ${JSON.stringify(selector)} is not a valid label value, so no pod can carry it`
          : undefined;
      return {
        ...r,
        selector,
        azureIdentity: name,
        match: "exact" as const,
        ...(problem === undefined ? {} : { problem }),
        events: eventsOf(readout.events, "AzureIdentityBinding", r.namespace, r.name),
      };
    })
    .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));

  const nodesByName = new Map(readout.nodes.map((n) => [n.metadata.name, n]));
  const validIdentities = readout.identities.flatMap((p) => (p.result.ok ? [p.result.value] : []));
  const validBindings = readout.bindings.flatMap((p) => (p.result.ok ? [p.result.value] : []));
  const match = matchAssignments({ pods: readout.pods, bindings: validBindings, identities: validIdentities }, { forceNamespaced });
  const desired = match.assignments.filter((a) => a.identity.metadata.namespace === namespace && a.identity.metadata.name === name);
  const desiredNames = new Set(desired.map((d) => `${d.namespace}/${d.name}`));
  const aaiByName = new Map(readout.assigned.map((a) => [`${a.metadata.namespace}/${a.metadata.name}`, a]));
  const selectors = new Set(validOwn.map((b) => b.spec.selector));

  const pods: IdentityPodFacts[] = [];
  const cloudAttached = (targetKey: string | undefined): boolean | undefined => {
    if (targetKey === undefined || key === undefined) return undefined;
    const facts = readout.cloud.get(targetKey);
    return facts?.attached === undefined ? undefined : facts.attached.includes(key);
  };
  for (const d of desired) {
    const target = targetOf(nodesByName.get(d.nodeName));
    const aai = aaiByName.get(`${d.namespace}/${d.name}`);
    const excepted = isPodExcepted(d.pod, readout.exceptions);
    const state = excepted ? "excepted (NMI serves it from IMDS)" : aai === undefined ? "no AzureAssignedIdentity yet" : effectiveAssignedState(aai.status) + (aai.status === "" ? " (legacy empty status)" : "");
    const attached = cloudAttached(target?.key);
    pods.push({
      namespace: d.pod.metadata.namespace,
      name: d.pod.metadata.name,
      node: d.nodeName,
      ...(target === undefined ? {} : { target: target.facts }),
      binding: `${d.binding.metadata.namespace}/${d.binding.metadata.name}`,
      state,
      ...(aai === undefined ? {} : { assignedIdentity: { namespace: aai.metadata.namespace, name: aai.metadata.name, status: aai.status } }),
      ...(attached === undefined ? {} : { attached }),
    });
  }
  for (const skip of match.skipped) {
    const binding = "binding" in skip ? skip.binding : skip.reason === "nameCollision" ? skip.dropped.binding : undefined;
    const concerns =
      skip.reason === "namespaceMismatch"
        ? skip.identity.metadata.namespace === namespace && skip.identity.metadata.name === name
        : skip.reason === "nameCollision"
          ? skip.dropped.identity.metadata.namespace === namespace && skip.dropped.identity.metadata.name === name
          : skip.reason === "identityNotFound"
            ? skip.binding.metadata.namespace === namespace && skip.binding.spec.azureIdentity === name
            : selectors.has(skip.pod.metadata.labels[BINDING_LABEL] ?? "");
    if (!concerns) continue;
    const state =
      skip.reason === "namespaceMismatch"
        ? `namespace mismatch (identity is namespaced; pod in ${skip.pod.metadata.namespace})`
        : skip.reason === "nameCollision"
          ? `name collision with ${skip.kept.identity.metadata.namespace}/${skip.kept.identity.metadata.name}`
          : skip.reason === "identityNotFound"
            ? "identity invalid: MIC ignores it"
            : skip.reason === "podNotScheduled"
              ? "not scheduled"
              : `terminated (${skip.pod.phase})`;
    const via = binding ?? validOwn.find((b) => b.spec.selector === (skip.pod.metadata.labels[BINDING_LABEL] ?? ""));
    const target = targetOf(nodesByName.get(skip.pod.nodeName));
    pods.push({
      namespace: skip.pod.metadata.namespace,
      name: skip.pod.metadata.name,
      node: skip.pod.nodeName === "" ? null : skip.pod.nodeName,
      ...(target === undefined ? {} : { target: target.facts }),
      binding: via === undefined ? "" : `${via.metadata.namespace}/${via.metadata.name}`,
      state,
    });
  }
  // Pods whose label is a near miss of one of this identity's selectors.
  for (const pod of readout.pods) {
    const label = pod.metadata.labels[BINDING_LABEL] ?? "";
    if (selectors.has(label)) continue;
    const near = validOwn.find((b) => selectorNearMiss(label, b.spec.selector) !== undefined);
    if (near === undefined) continue;
    const target = targetOf(nodesByName.get(pod.nodeName));
    pods.push({
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      node: pod.nodeName === "" ? null : pod.nodeName,
      ...(target === undefined ? {} : { target: target.facts }),
      binding: `${near.metadata.namespace}/${near.metadata.name}`,
      state: `label typo: ${BINDING_LABEL}=${label}, binding selects ${near.spec.selector}`,
    });
  }
  pods.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.binding, b.binding));

  const targets = new Map<string, IdentityTargetFacts>();
  const assignedOn = new Set<string>();
  for (const d of desired) {
    const target = targetOf(nodesByName.get(d.nodeName));
    if (target === undefined) continue;
    const aai = aaiByName.get(`${d.namespace}/${d.name}`);
    if (aai !== undefined && effectiveAssignedState(aai.status) === "Assigned") assignedOn.add(target.key);
    const current = targets.get(target.key);
    const cloud = readout.cloud.get(target.key);
    const attached = cloudAttached(target.key);
    const { kind, name: targetName, resourceGroup, subscriptionId } = target.facts;
    targets.set(target.key, {
      kind,
      name: targetName,
      resourceGroup,
      subscriptionId,
      pods: (current?.pods ?? 0) + 1,
      ...(cloud === undefined ? {} : { cloud }),
      ...(attached === undefined ? {} : { attached }),
    });
  }
  const targetEntries = [...targets.entries()].sort(([, a], [, b]) => cmp(a.kind, b.kind) || cmp(a.name, b.name));
  const targetList = targetEntries.map(([, t]) => t);

  const stale = readout.assigned
    .filter((a) => a.spec.azureIdentityRef.metadata.namespace === namespace && a.spec.azureIdentityRef.metadata.name === name && !desiredNames.has(`${a.metadata.namespace}/${a.metadata.name}`))
    .map((a) => ({ namespace: a.metadata.namespace, name: a.metadata.name, status: a.status, pod: `${a.spec.podNamespace}/${a.spec.pod}` }))
    .sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name));

  const facts: IdentityFacts = {
    namespace,
    name,
    exists: parsed !== undefined,
    ...(parsed !== undefined && !parsed.result.ok ? { problem: describeValidationError(parsed.result.error) } : {}),
    ...(identity === undefined ? {} : { type: identity.spec.type, clientID: identity.spec.clientID, ...(identity.spec.resourceID === "" ? {} : { resourceID: identity.spec.resourceID }) }),
    namespaced: namespacedFacts(identity, forceNamespaced),
    via: bindings.map((b) => `${b.namespace}/${b.name}`),
  };

  const verdicts: Verdict[] = [];
  if (parsed !== undefined && !parsed.result.ok) {
    const error = parsed.result.error;
    const resourceIssue = error.issues.find((i) => i.reason === "malformedResourceID" || i.reason === "missingResourceID");
    verdicts.push(
      resourceIssue !== undefined
        ? {
            kind: "invalid resourceID",
            identity: id,
            message: `AzureIdentity ${id} ${resourceIssue.field}: ${resourceIssue.message}; MIC ignores the identity`,
            fix: `kubectl edit azureidentity ${name} -n ${namespace} and set spec.resourceID to /subscriptions/<subscription>/resourcegroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>`,
          }
        : { kind: "invalid identity", identity: id, message: `${describeValidationError(error)}; MIC ignores the identity`, fix: `kubectl edit azureidentity ${name} -n ${namespace}` },
    );
  }
  if (bindings.length === 0) {
    verdicts.push({
      kind: "no binding",
      identity: id,
      message: `no AzureIdentityBinding in namespace ${namespace} names AzureIdentity ${name} (a binding only resolves identities of its own namespace)`,
      fix: `create an AzureIdentityBinding in namespace ${namespace} with spec.azureIdentity: ${name} and spec.selector: <label value>`,
    });
  }
  for (const b of bindings) {
    if (b.problem !== undefined) verdicts.push({ kind: "invalid binding", identity: id, message: `binding ${b.namespace}/${b.name}: ${b.problem}`, fix: `kubectl edit azureidentitybinding ${b.name} -n ${b.namespace}` });
  }
  if (bindings.length > 0 && pods.length === 0) {
    verdicts.push({
      kind: "no label",
      identity: id,
      message: `no pod carries ${[...selectors].map((s) => `${BINDING_LABEL}=${s}`).join(" or ") || "a matching label"}`,
      fix: `label the pods that should use it: kubectl label pod <pod> -n <namespace> ${BINDING_LABEL}=${[...selectors][0] ?? "<selector>"}`,
    });
  }
  const mismatched = pods.filter((p) => p.state.startsWith("namespace mismatch"));
  if (mismatched.length > 0) {
    verdicts.push({
      kind: "namespace mismatch",
      identity: id,
      message: `${id} is namespaced: ${mismatched.map((p) => `${p.namespace}/${p.name}`).join(", ")} in other namespaces cannot use it`,
      fix: `create an AzureIdentity and binding in each pod's namespace`,
    });
  }
  const typos = pods.filter((p) => p.state.startsWith("label typo"));
  for (const p of typos) {
    const selector = p.state.slice(p.state.lastIndexOf(" ") + 1);
    verdicts.push({ kind: "label typo", identity: id, message: `pod ${p.namespace}/${p.name} has ${p.state.slice("label typo: ".length)}`, fix: `kubectl label pod ${p.name} -n ${p.namespace} ${BINDING_LABEL}=${selector} --overwrite` });
  }
  const bindingEvents = readout.events.filter((e) => e.object.kind === "AzureIdentityBinding");
  const created = desired.filter((d) => effectiveAssignedState(aaiByName.get(`${d.namespace}/${d.name}`)?.status ?? "Assigned") === "Created");
  if (created.length > 0) {
    const event = latestAssignmentEvent(bindingEvents, id);
    if (event?.reason === "binding apply error") {
      const refusal = refusalIn(event.message, key);
      verdicts.push(
        refusal !== undefined
          ? {
              kind: "quarantined",
              identity: id,
              message: `ARM refused ${id} and MIC quarantined it: ${event.message} (${event.last}); ${created.length} AzureAssignedIdentit${created.length === 1 ? "y stays" : "ies stay"} Created`,
              fix:
                refusal === "invalid"
                  ? `the identity does not exist in Azure: az identity show --ids ${identity?.spec.resourceID ?? "<resourceID>"}`
                  : `grant MIC's identity Managed Identity Operator on ${identity?.spec.resourceID ?? "<resourceID>"} (az role assignment create --role "Managed Identity Operator" --assignee <MIC client id> --scope ${identity?.spec.resourceID ?? "<resourceID>"})`,
            }
          : { kind: "assignment failing", identity: id, message: `MIC could not attach ${id}: ${event.message} (${event.last}); it retries` },
      );
    }
  }
  for (const [targetKey, target] of targetEntries) {
    if (target.attached !== false) continue;
    // Standard mode: only a problem once MIC says Assigned (while Created, MIC is still attaching it).
    if (options.mode === "standard" && !assignedOn.has(targetKey)) continue;
    verdicts.push({
      kind: "not attached",
      identity: id,
      message: `${id} is not on ${describeTarget(target)} although ${target.pods} pod${target.pods === 1 ? "" : "s"} there use${target.pods === 1 ? "s" : ""} it${options.mode === "standard" ? " (removed outside podid, #633)" : " (managed mode: the operator assigns identities)"}`,
      fix: `${options.mode === "standard" ? "MIC's drift repair re-attaches it within 3 min; now: " : ""}az ${target.kind} identity assign -g ${target.resourceGroup} -n ${target.name} --identities ${identity?.spec.resourceID ?? "<resourceID>"}`,
    });
  }
  const users = pods.filter((p) => !p.state.startsWith("label typo"));
  if (identity !== undefined && bindings.length > 0 && users.length > 0) {
    const counts = new Map<string, number>();
    for (const p of users) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
    const states = [...counts].sort(([a], [b]) => cmp(a, b)).map(([state, n]) => `${n} ${state}`).join(", ");
    verdicts.unshift({
      kind: desired.length > 0 && desired.every((d) => effectiveAssignedState(aaiByName.get(`${d.namespace}/${d.name}`)?.status ?? "Created") === "Assigned") ? "assigned" : "waiting for MIC",
      identity: id,
      message: `${id} is wanted by ${users.length} pod${users.length === 1 ? "" : "s"} on ${targetList.length} VM/VMSS (${states})`,
    });
  }
  return {
    identity: facts,
    bindings,
    pods,
    targets: targetList,
    stale,
    mode: options.mode,
    forceNamespaced,
    verdicts,
  };
}
