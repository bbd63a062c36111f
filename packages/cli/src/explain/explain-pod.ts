/**
 * `podid explain pod`: why a pod gets (or does not get) each identity, as a pure function of what was read.
 * Every decision is core's — `matchAssignments` and its skips, `nearMatchingBindings`, `isPodExcepted`,
 * `isNamespacedIdentity`, `managedIdentityKey`, `chooseStandardIdentity` / `chooseManagedIdentity` — and
 * this module only turns them into facts and one verdict line per identity, with the fix to apply.
 * @packageDocumentation
 */
import {
  BINDING_LABEL,
  bindingMatchesPod,
  chooseManagedIdentity,
  chooseStandardIdentity,
  compareByNamespaceName,
  describeValidationError,
  effectiveAssignedState,
  FEDERATED_EVENT,
  isServiceAccountTrusted,
  managedIdentityKey,
  podServiceAccountName,
  matchAssignments,
  nearBindingLabelKeys,
  nearMatchingBindings,
  podBindingLabel,
  selectorNearMiss,
  type AzureAssignedIdentity,
  type AzureIdentity,
  type AzureIdentityBinding,
  type DesiredAssignment,
  type MatchSkip,
  type SelectorNearMiss,
} from "@podid/core";
import type { AssignedIdentityFacts, BindingFacts, EventView, IdentityFacts, NodeFacts, PodExplanation, Verdict } from "./explanation-types.js";
import { applyingExceptions, cmp, describeTarget, eventsOf, latestAssignmentEvent, namespacedFacts, nodeFacts, refusalIn } from "./facts.js";
import { formatAge, formatTimestamp, parsedRef, rawOwner, rawSpecString, type Parsed, type PodReadout } from "./readout.js";

/** How explain reasons: the MIC/NMI flags that change decisions, and the clock for ages. */
export interface ExplainOptions {
  /** `--forceNamespaced` of MIC/NMI. */
  readonly forceNamespaced: boolean;
  /** NMI's `--operationMode`: standard (MIC + AAIs) or managed (identities pre-assigned, no AAIs). */
  readonly mode: "standard" | "managed";
  readonly nowMs: number;
  /** Namespace of podid's deployment, for the hints that point at MIC (default `podid-system`). */
  readonly micNamespace?: string;
}

/**
 * After this long in `Created`, an assignment is overdue (ARM's slow VMSS PATCHes take ~1 min,
 * docs/compatibility.md#published-figures-and-known-problems).
 */
const OVERDUE_MS = 5 * 60_000;

const ref = (meta: { readonly namespace: string; readonly name: string }): string => `${meta.namespace}/${meta.name}`;

const NEAR_MISS_TEXT: Record<SelectorNearMiss, string> = {
  case: "differs only in letter case",
  whitespace: "differs only in whitespace",
  caseAndWhitespace: "differs only in case and whitespace",
  typo: "is a typo away",
};

/** Everything known about one identity while reasoning, before it becomes facts and a verdict. */
interface Candidate {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly parsed?: Parsed<AzureIdentity>;
  readonly exact: AzureIdentityBinding[];
  readonly near: { binding: AzureIdentityBinding; reason: SelectorNearMiss; distance: number }[];
  readonly invalidBindings: { namespace: string; name: string; problem: string; selector: string }[];
  aai?: AzureAssignedIdentity;
  desired?: DesiredAssignment;
  skip?: MatchSkip;
}

function candidate(map: Map<string, Candidate>, namespace: string, name: string, identities: readonly Parsed<AzureIdentity>[]): Candidate {
  const key = `${namespace}/${name}`;
  let found = map.get(key);
  if (found === undefined) {
    const parsed = identities.find((p) => {
      const r = parsedRef(p);
      return r.namespace === namespace && r.name === name;
    });
    found = { key, namespace, name, ...(parsed === undefined ? {} : { parsed }), exact: [], near: [], invalidBindings: [] };
    map.set(key, found);
  }
  return found;
}

function labelCommand(pod: { namespace: string; name: string }, assignment: string, owner: string | null): string {
  const base = `kubectl label pod ${pod.name} -n ${pod.namespace} ${assignment} --overwrite`;
  return owner === null ? base : `${base} (and in the pod template of ${owner}, or the label comes back)`;
}

/** Explains one pod. Pure: the same readout and options always give the same explanation. */
export function explainPod(readout: PodReadout, options: ExplainOptions): PodExplanation {
  const { pod } = readout;
  const podRef = { namespace: pod.metadata.namespace, name: pod.metadata.name };
  const owner = rawOwner(readout.podRaw);
  const hasLabel = Object.hasOwn(pod.metadata.labels, BINDING_LABEL);
  const label = podBindingLabel(pod);
  const forceNamespaced = options.mode === "managed" ? true : options.forceNamespaced;
  const micNamespace = options.micNamespace ?? "podid-system";

  const validIdentities = readout.identities.flatMap((p) => (p.result.ok ? [p.result.value] : []));
  const validBindings = readout.bindings.flatMap((p) => (p.result.ok ? [p.result.value] : []));
  const match = matchAssignments({ pods: [pod], bindings: validBindings, identities: validIdentities }, { forceNamespaced });
  const exact = validBindings.filter((b) => bindingMatchesPod(b, pod)).sort(compareByNamespaceName);
  const near = nearMatchingBindings(pod, validBindings);
  const invalidRelevant = readout.bindings.flatMap((p) => {
    if (p.result.ok || label === "") return [];
    const selector = rawSpecString(p.raw, ["selector", "Selector"]);
    const miss: "exact" | SelectorNearMiss | undefined = selector === label ? "exact" : selectorNearMiss(label, selector)?.reason;
    if (miss === undefined) return [];
    return [{ parsed: p, selector, match: miss, azureIdentity: rawSpecString(p.raw, ["azureIdentity", "AzureIdentity"]), problem: describeValidationError(p.result.error) }];
  });

  // Bindings, as facts.
  const bindings: BindingFacts[] = [
    ...exact.map((b): BindingFacts => ({
      namespace: b.metadata.namespace,
      name: b.metadata.name,
      selector: b.spec.selector,
      azureIdentity: b.spec.azureIdentity,
      match: "exact",
      events: eventsOf(readout.events, "AzureIdentityBinding", b.metadata.namespace, b.metadata.name),
    })),
    ...invalidRelevant.map((i): BindingFacts => {
      const r = parsedRef(i.parsed);
      return { ...r, selector: i.selector, azureIdentity: i.azureIdentity, match: i.match, problem: i.problem, events: eventsOf(readout.events, "AzureIdentityBinding", r.namespace, r.name) };
    }),
    ...near.map((n): BindingFacts => ({
      namespace: n.binding.metadata.namespace,
      name: n.binding.metadata.name,
      selector: n.binding.spec.selector,
      azureIdentity: n.binding.spec.azureIdentity,
      match: n.reason,
      events: eventsOf(readout.events, "AzureIdentityBinding", n.binding.metadata.namespace, n.binding.metadata.name),
    })),
  ];

  // Identity candidates: through exact bindings, invalid bindings, near bindings (only when nothing
  // matches exactly), and the pod's own AzureAssignedIdentities.
  const candidates = new Map<string, Candidate>();
  for (const b of exact) candidate(candidates, b.metadata.namespace, b.spec.azureIdentity, readout.identities).exact.push(b);
  const podBindingProblems: Verdict[] = [];
  for (const i of invalidRelevant) {
    const r = parsedRef(i.parsed);
    if (i.azureIdentity === "") {
      podBindingProblems.push({ kind: "invalid binding", message: i.problem, fix: `kubectl edit azureidentitybinding ${r.name} -n ${r.namespace}` });
      continue;
    }
    candidate(candidates, r.namespace, i.azureIdentity, readout.identities).invalidBindings.push({ ...r, problem: i.problem, selector: i.selector });
  }
  if (exact.length === 0) for (const n of near) candidate(candidates, n.binding.metadata.namespace, n.binding.spec.azureIdentity, readout.identities).near.push(n);
  const ownAssigned = readout.assigned.filter((a) => a.spec.pod === podRef.name && a.spec.podNamespace === podRef.namespace);
  for (const aai of ownAssigned) {
    const c = candidate(candidates, aai.spec.azureIdentityRef.metadata.namespace, aai.spec.azureIdentityRef.metadata.name, readout.identities);
    c.aai ??= aai;
  }
  for (const assignment of match.assignments) {
    const c = candidates.get(ref(assignment.identity.metadata));
    if (c === undefined) continue;
    c.desired = assignment;
    // The object MIC keeps for this pair is found by name, whatever its embedded copy says.
    const stored = readout.assigned.find((a) => a.metadata.namespace === assignment.namespace && a.metadata.name === assignment.name);
    if (stored !== undefined) c.aai = stored;
  }
  for (const skip of match.skipped) {
    const identityRef =
      skip.reason === "identityNotFound"
        ? `${skip.binding.metadata.namespace}/${skip.binding.spec.azureIdentity}`
        : skip.reason === "namespaceMismatch"
          ? ref(skip.identity.metadata)
          : skip.reason === "nameCollision"
            ? ref(skip.dropped.identity.metadata)
            : undefined;
    if (identityRef !== undefined) {
      const c = candidates.get(identityRef);
      if (c !== undefined) c.skip ??= skip;
    } else {
      for (const c of candidates.values()) if (c.exact.length > 0) c.skip ??= skip;
    }
  }

  const node: NodeFacts | null = readout.node === undefined ? null : nodeFacts(readout.node.name, readout.node.view, readout.cloud);
  const exceptions = applyingExceptions(pod, readout.exceptions);
  const assignedIdentityCount = [...candidates.values()].filter((c) => c.aai !== undefined && effectiveAssignedState(c.aai.status) === "Assigned").length;

  const identities: IdentityFacts[] = [];
  const verdicts: Verdict[] = [];
  for (const c of [...candidates.values()].sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name))) {
    const identity = c.parsed?.result.ok === true ? c.parsed.result.value : undefined;
    const key = identity === undefined ? undefined : managedIdentityKey(identity);
    const aaiFacts: AssignedIdentityFacts | undefined =
      c.aai === undefined
        ? undefined
        : {
            namespace: c.aai.metadata.namespace,
            name: c.aai.metadata.name,
            status: c.aai.status,
            ...(c.aai.metadata.creationTimestamp === undefined ? {} : { createdAt: formatTimestamp(c.aai.metadata.creationTimestamp) }),
            node: c.aai.spec.nodeName,
            deleting: c.aai.metadata.deletionTimestamp !== undefined,
            events: eventsOf(readout.events, "AzureAssignedIdentity", c.aai.metadata.namespace, c.aai.metadata.name),
          };
    const attached = key === undefined || node?.cloud?.attached === undefined ? undefined : node.cloud.attached.includes(key);
    const via = [...c.exact, ...c.near.map((n) => n.binding)].map((b) => ref(b.metadata)).concat(c.invalidBindings.map((b) => `${b.namespace}/${b.name}`));
    identities.push({
      namespace: c.namespace,
      name: c.name,
      exists: c.parsed !== undefined,
      ...(c.parsed !== undefined && !c.parsed.result.ok ? { problem: describeValidationError(c.parsed.result.error) } : {}),
      ...(identity === undefined
        ? {}
        : { type: identity.spec.type, clientID: identity.spec.clientID, ...(identity.spec.resourceID === "" ? {} : { resourceID: identity.spec.resourceID }) }),
      namespaced: namespacedFacts(identity, forceNamespaced),
      via: [...new Set(via)].sort(),
      ...(aaiFacts === undefined ? {} : { assignedIdentity: aaiFacts }),
      ...(attached === undefined ? {} : { attached }),
    });

    const bindingEvents = readout.events.filter((e) => e.object.kind === "AzureIdentityBinding");
    verdicts.push(
      verdictFor(c, {
        identity,
        key,
        attached,
        node,
        pod: podRef,
        podNode: pod.nodeName,
        label,
        owner,
        exceptions: exceptions.length > 0 ? exceptions : undefined,
        mode: options.mode,
        forceNamespaced,
        nowMs: options.nowMs,
        micNamespace,
        bindingEvents,
        assignedIdentityEvents: aaiFacts?.events ?? [],
        multipleAssigned: assignedIdentityCount > 1,
        identitiesElsewhere: readout.identities.map(parsedRef).filter((r) => r.name === c.name && r.namespace !== c.namespace).map((r) => r.namespace),
      }),
    );
  }
  verdicts.push(...podBindingProblems);

  if (verdicts.length === 0) {
    if (exceptions.length > 0) {
      const e = exceptions[0];
      verdicts.push({
        kind: "exception",
        message: `pod is excepted by AzurePodIdentityException ${e?.namespace}/${e?.name} (${(e?.matchedLabels ?? []).map((l) => `${l.key}=${l.value}`).join(", ")}): NMI answers it with the node's own identities from IMDS`,
      });
    } else if (!hasLabel) {
      const keys = nearBindingLabelKeys(pod.metadata.labels);
      const misspelt = keys[0];
      if (misspelt !== undefined) {
        const value = pod.metadata.labels[misspelt] ?? "";
        verdicts.push({
          kind: "label key typo",
          message: `pod has label ${misspelt}=${value}, but bindings select pods by the label key ${BINDING_LABEL}`,
          fix: `${labelCommand(podRef, `${BINDING_LABEL}=${value}`, owner)}; then kubectl label pod ${podRef.name} -n ${podRef.namespace} ${misspelt}-`,
        });
      } else {
        const selectors = [...new Set(validBindings.map((b) => b.spec.selector))].sort();
        verdicts.push({
          kind: "no label",
          message: `pod has no ${BINDING_LABEL} label, so no AzureIdentityBinding selects it${selectors.length > 0 ? ` (selectors in use: ${selectors.slice(0, 5).join(", ")}${selectors.length > 5 ? ", …" : ""})` : ""}`,
          fix: labelCommand(podRef, `${BINDING_LABEL}=<selector of the binding you want>`, owner),
        });
      }
    } else {
      verdicts.push({
        kind: "no binding",
        message: `no AzureIdentityBinding has selector ${JSON.stringify(label)} (pod label ${BINDING_LABEL}=${label})`,
        fix: `create an AzureIdentityBinding with spec.selector: ${label} and spec.azureIdentity: <AzureIdentity name> in the identity's namespace${forceNamespaced ? ` (namespaced: ${podRef.namespace})` : ""}`,
      });
    }
  }

  return {
    pod: {
      namespace: podRef.namespace,
      name: podRef.name,
      phase: pod.phase,
      node: pod.nodeName === "" ? null : pod.nodeName,
      podIP: pod.podIP === "" ? null : pod.podIP,
      bindingLabel: hasLabel ? label : null,
      misspeltLabelKeys: nearBindingLabelKeys(pod.metadata.labels),
      owner,
    },
    mode: options.mode,
    forceNamespaced,
    node,
    exceptions,
    bindings,
    identities,
    nmi: nmiView(readout, validBindings, validIdentities, options, forceNamespaced, exceptions.length > 0),
    verdicts,
  };
}

/** What NMI would answer a token request naming no identity, through core's choice functions. */
function nmiView(
  readout: PodReadout,
  bindings: readonly AzureIdentityBinding[],
  identities: readonly AzureIdentity[],
  options: ExplainOptions,
  forceNamespaced: boolean,
  excepted: boolean,
): { outcome: string; identity?: string } {
  if (excepted) return { outcome: "excepted: NMI passes its requests to IMDS (the node's identities)" };
  if (options.mode === "managed") {
    const choice = chooseManagedIdentity(readout.pod, bindings, identities, {});
    return choice.kind === "chosen"
      ? { outcome: `gets ${ref(choice.identity.metadata)} (managed mode; the identity must already be on the VM/VMSS)`, identity: ref(choice.identity.metadata) }
      : { outcome: "404: no binding and identity in the pod's namespace grant it an identity (managed mode)" };
  }
  const choice = chooseStandardIdentity(readout.pod, readout.assigned, { bindings, identities }, {}, { forceNamespaced });
  switch (choice.kind) {
    case "chosen":
      return { outcome: `gets ${ref(choice.identity.metadata)}`, identity: ref(choice.identity.metadata) };
    case "notYetAssigned":
      return { outcome: `waits: ${choice.pending.map((a) => ref(a.spec.azureIdentityRef.metadata)).join(", ")} Created but not Assigned yet (404 if not Assigned within NMI's wait)` };
    case "unbacked":
      return { outcome: `404 at once: ${choice.refused.map((u) => `${ref(u.aai.metadata)} (${u.reason})`).join(", ")} not backed by a live binding and identity` };
    case "unbound":
      return { outcome: "404 at once (\"no AzureIdentityBinding/AzureIdentity found\"): no binding selects the pod, so MIC will assign it nothing" };
    case "noneAssigned":
    case "notFound":
      return { outcome: "waits, then 404 (\"no AzureAssignedIdentity found\"): the pod has no AzureAssignedIdentity" };
  }
}

interface VerdictContext {
  readonly identity: AzureIdentity | undefined;
  readonly key: string | undefined;
  readonly attached: boolean | undefined;
  readonly node: NodeFacts | null;
  readonly pod: { readonly namespace: string; readonly name: string };
  readonly podNode: string;
  readonly label: string;
  readonly owner: string | null;
  readonly exceptions: readonly { readonly namespace: string; readonly name: string; readonly matchedLabels: readonly { key: string; value: string }[] }[] | undefined;
  readonly mode: "standard" | "managed";
  readonly forceNamespaced: boolean;
  readonly nowMs: number;
  readonly micNamespace: string;
  readonly bindingEvents: readonly EventView[];
  /** Events on the pair's AzureAssignedIdentity (federated identities report their credential problems there). */
  readonly assignedIdentityEvents: readonly EventView[];
  readonly multipleAssigned: boolean;
  readonly identitiesElsewhere: readonly string[];
}

/** The one verdict for one identity candidate, checked from the most fundamental problem down. */
function verdictFor(c: Candidate, x: VerdictContext): Verdict {
  const id = c.key;
  const base = { identity: id } as const;
  if (x.exceptions !== undefined) {
    const e = x.exceptions[0];
    const labels = (e?.matchedLabels ?? []).map((l) => `${l.key}=${l.value}`).join(", ");
    return {
      ...base,
      kind: "exception",
      message: `pod is excepted by AzurePodIdentityException ${e?.namespace}/${e?.name} (podLabels ${labels}, compared ignoring case): NMI answers its token requests with the node's own identities from IMDS, never with ${id}`,
      fix: `to use ${id}, remove the matching label (kubectl label pod ${x.pod.name} -n ${x.pod.namespace} ${(e?.matchedLabels[0]?.key ?? "<label>")}-) or the exception (kubectl delete azurepodidentityexception ${e?.name} -n ${e?.namespace})`,
    };
  }
  if (c.exact.length === 0 && c.invalidBindings.length === 0 && c.near.length > 0) {
    const n = c.near[0];
    if (n !== undefined) {
      const b = n.binding;
      const selector = b.spec.selector;
      const fix =
        n.reason === "whitespace" || n.reason === "caseAndWhitespace"
          ? `kubectl patch azureidentitybinding ${b.metadata.name} -n ${b.metadata.namespace} --type merge -p '{"spec":{"selector":${JSON.stringify(selector.replace(/\s/g, ""))}}}'${n.reason === "caseAndWhitespace" ? `, and make the case equal to the pod's label (${x.label})` : ""}`
          : labelCommand(x.pod, `${BINDING_LABEL}=${selector}`, x.owner);
      return {
        ...base,
        kind: "label typo",
        message: `pod has ${BINDING_LABEL}=${x.label}, binding ${ref(b.metadata)} selects ${JSON.stringify(selector)} (${n.reason === "typo" ? `${n.distance} character${n.distance === 1 ? "" : "s"} off` : NEAR_MISS_TEXT[n.reason]}; selectors must match exactly)`,
        fix,
      };
    }
  }
  if (c.exact.length === 0 && c.invalidBindings.length > 0) {
    const b = c.invalidBindings[0];
    return { ...base, kind: "invalid binding", message: b?.problem ?? "", fix: `kubectl edit azureidentitybinding ${b?.name} -n ${b?.namespace}` };
  }
  if (c.parsed === undefined && c.exact.length > 0) {
    const b = c.exact[0] as AzureIdentityBinding;
    const elsewhere = x.identitiesElsewhere;
    return {
      ...base,
      kind: "identity missing",
      message: `binding ${ref(b.metadata)} names AzureIdentity ${c.name} which does not exist in namespace ${c.namespace}${elsewhere.length > 0 ? ` (one exists in ${elsewhere.join(", ")}; a binding only looks in its own namespace)` : ""}`,
      fix:
        elsewhere.length > 0
          ? `create the binding in namespace ${elsewhere[0]} (next to the identity), or create AzureIdentity ${c.name} in namespace ${c.namespace}`
          : `create AzureIdentity ${c.name} in namespace ${c.namespace} (kubectl apply -f <identity>.yaml), or point the binding at an existing one: kubectl edit azureidentitybinding ${b.metadata.name} -n ${b.metadata.namespace}`,
    };
  }
  if (c.parsed !== undefined && !c.parsed.result.ok) {
    const error = c.parsed.result.error;
    const resourceIssue = error.issues.find((i) => i.reason === "malformedResourceID" || i.reason === "missingResourceID");
    if (resourceIssue !== undefined) {
      return {
        ...base,
        kind: "invalid resourceID",
        message: `AzureIdentity ${id} ${resourceIssue.field}: ${resourceIssue.message}; MIC ignores the identity`,
        fix: `kubectl edit azureidentity ${c.name} -n ${c.namespace} and set spec.resourceID to /subscriptions/<subscription>/resourcegroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name> (az identity show -g <group> -n <name> --query id -o tsv)`,
      };
    }
    return { ...base, kind: "invalid identity", message: `${describeValidationError(error)}; MIC ignores the identity`, fix: `kubectl edit azureidentity ${c.name} -n ${c.namespace}` };
  }
  const skip = c.skip;
  if (skip !== undefined && c.desired === undefined) {
    switch (skip.reason) {
      case "podTerminated":
        return { ...base, kind: "terminated", message: `pod phase is ${skip.pod.phase}: podid gives no identity to a pod that can no longer run` };
      case "podNotScheduled":
        return { ...base, kind: "not scheduled", message: `pod has no node yet: MIC assigns ${id} once it is scheduled`, fix: `kubectl describe pod ${x.pod.name} -n ${x.pod.namespace} (why is it not scheduled?)` };
      case "namespaceMismatch": {
        const why = x.mode === "managed" ? "managed mode" : x.forceNamespaced ? "--forceNamespaced" : "annotation aadpodidentity.k8s.io/Behavior: namespaced";
        return {
          ...base,
          kind: "namespace mismatch",
          message: `identity ${id} is namespaced (${why}): pod ${ref(x.pod)}, binding ${ref(skip.binding.metadata)} and identity ${id} must share one namespace`,
          fix: `create the AzureIdentity and its AzureIdentityBinding in namespace ${x.pod.namespace}${!x.forceNamespaced && x.mode === "standard" ? ` (or drop the Behavior annotation from AzureIdentity ${id}, which lets pods of every namespace use it)` : ""}`,
        };
      }
      case "nameCollision":
        return {
          ...base,
          kind: "name collision",
          message: `${id} would get the AzureAssignedIdentity name ${skip.dropped.name}, already used for ${ref(skip.kept.identity.metadata)} (same-named identities in two namespaces, #1065); the first is kept`,
          fix: `rename one of the AzureIdentities (and its binding's spec.azureIdentity)`,
        };
      case "identityNotFound":
        break;
    }
  }
  if (x.mode === "managed") {
    if (x.attached === false) {
      const t = x.node?.target;
      return {
        ...base,
        kind: "not attached",
        message: `managed mode grants ${id}, but it is not on ${t === undefined ? "the node's VM/VMSS" : describeTarget(t)}: IMDS will refuse the token`,
        fix: t === undefined ? "assign the identity to the node's VM/VMSS" : assignCommand(t, x.identity?.spec.resourceID ?? ""),
      };
    }
    return {
      ...base,
      kind: "assigned",
      message: `managed mode: NMI grants ${id} (clientID ${x.identity?.spec.clientID ?? ""}) to pod ${ref(x.pod)}${x.attached === true ? `; attached to ${x.node?.target === undefined ? "its VM/VMSS" : describeTarget(x.node.target)} (checked in ARM)` : "; it must already be on the VM/VMSS (not checked: pass --cloudconfig)"}`,
    };
  }
  const federated = x.identity?.spec.type === 3;
  if (federated && x.identity !== undefined && c.desired !== undefined && !isServiceAccountTrusted(c.desired.pod, x.identity)) {
    const sa = podServiceAccountName(c.desired.pod);
    const listed = x.identity.spec.serviceAccounts;
    const elsewhere = c.desired.pod.metadata.namespace !== x.identity.metadata.namespace;
    return {
      ...base,
      kind: "service account not trusted",
      message: elsewhere
        ? `${id} is a federated identity: it trusts only service accounts of its own namespace ${x.identity.metadata.namespace} (${listed.join(", ")}), and pod ${ref(x.pod)} runs in ${c.desired.pod.metadata.namespace}; MIC writes no AzureAssignedIdentity and NMI answers 403`
        : `${id} is a federated identity trusting service accounts ${listed.join(", ")}; pod ${ref(x.pod)} runs as ${sa}, so MIC writes no AzureAssignedIdentity and NMI answers 403`,
      fix: elsewhere
        ? `use a federated AzureIdentity in namespace ${c.desired.pod.metadata.namespace} that lists service account ${sa}`
        : `kubectl patch azureidentity ${c.name} -n ${c.namespace} --type json -p '[{"op":"add","path":"/spec/serviceAccounts/-","value":${JSON.stringify(sa)}}]' (or run the pod as one of ${listed.join(", ")})`,
    };
  }
  if (!federated && x.node !== null && x.node.problem !== undefined && c.desired !== undefined) {
    return { ...base, kind: "node problem", message: `node ${x.node.name}: ${x.node.problem}`, fix: `kubectl get node ${x.node.name} -o jsonpath='{.spec.providerID}' (the cloud provider sets it)` };
  }
  const aai = c.aai;
  if (c.desired === undefined) {
    if (aai !== undefined) {
      return {
        ...base,
        kind: "stale",
        message: `AzureAssignedIdentity ${ref(aai.metadata)} (${aai.status || "Assigned"}) no longer matches a binding of this pod; MIC removes it on its next pass`,
        fix: `if it stays, check MIC: kubectl -n ${x.micNamespace} logs deploy/podid-mic`,
      };
    }
    return { ...base, kind: "identity missing", message: `identity ${id} is not granted to the pod` };
  }
  const aaiName = `${c.desired.namespace}/${c.desired.name}`;
  if (aai === undefined) {
    return {
      ...base,
      kind: "waiting for MIC",
      message: `no AzureAssignedIdentity ${aaiName} yet: MIC has not processed this pod (not running, not leading, or behind)`,
      fix: `kubectl -n ${x.micNamespace} get pods -l app.kubernetes.io/name=podid-mic; kubectl -n ${x.micNamespace} logs deploy/podid-mic`,
    };
  }
  if (aai.spec.pod !== x.pod.name || aai.spec.podNamespace !== x.pod.namespace) {
    return {
      ...base,
      kind: "name collision",
      message: `AzureAssignedIdentity ${aaiName} belongs to pod ${aai.spec.podNamespace}/${aai.spec.pod} (names are <pod>-<namespace>-<identity>, which can collide)`,
      fix: "rename the pod or the identity",
    };
  }
  const state = effectiveAssignedState(aai.status);
  if (aai.metadata.deletionTimestamp !== undefined || state === "Unassigned") {
    return { ...base, kind: "being removed", message: `AzureAssignedIdentity ${aaiName} is ${state === "Unassigned" ? "Unassigned" : "being deleted"}: MIC is detaching ${id}; a new one follows if still wanted`, fix: "wait for MIC's next pass" };
  }
  if (aai.spec.nodeName !== x.podNode) {
    return { ...base, kind: "waiting for MIC", message: `AzureAssignedIdentity ${aaiName} is for node ${aai.spec.nodeName}, the pod runs on ${x.podNode}: MIC moves it on its next pass` };
  }
  const target = x.node?.target;
  const where = target === undefined ? `node ${x.podNode}` : describeTarget(target);
  if (state === "Created" && federated) return federatedCreatedVerdict(c, x, aaiName, base);
  if (state === "Created") {
    const event = latestAssignmentEvent(x.bindingEvents, id);
    if (event !== undefined && event.reason === "binding apply error") {
      const refusal = refusalIn(event.message, x.key);
      const resourceID = x.identity?.spec.resourceID ?? "<resourceID>";
      if (refusal !== undefined) {
        const fix =
          refusal === "forbidden"
            ? `grant MIC's identity the Managed Identity Operator role on it: az role assignment create --role "Managed Identity Operator" --assignee <MIC client id> --scope ${resourceID}`
            : refusal === "invalid"
              ? `the identity does not exist in Azure (deleted, or recreated with a new client id): az identity show --ids ${resourceID}, then fix AzureIdentity ${id}`
              : `check that it exists (az identity show --ids ${resourceID}) and that MIC's identity has Managed Identity Operator on it; MIC retries when the quarantine ends or the AzureIdentity changes`;
        return {
          ...base,
          kind: "quarantined",
          message: `ARM refused ${id} on ${where} and MIC quarantined it: ${eventDetail(event.message, id)} (Event on binding ${event.object.namespace}/${event.object.name}, ${event.last})`,
          fix,
        };
      }
      return {
        ...base,
        kind: "assignment failing",
        message: `MIC could not attach ${id} to ${where}: ${eventDetail(event.message, id)} (${event.last}); it retries`,
        fix: `kubectl describe azureidentitybinding ${event.object.name} -n ${event.object.namespace}; kubectl -n ${x.micNamespace} logs deploy/podid-mic`,
      };
    }
    const since = aai.metadata.creationTimestamp === undefined ? "" : ` since ${formatTimestamp(aai.metadata.creationTimestamp)} (${formatAge(aai.metadata.creationTimestamp, x.nowMs)})`;
    const overdue = aai.metadata.creationTimestamp !== undefined && x.nowMs - Date.parse(aai.metadata.creationTimestamp) > OVERDUE_MS;
    return {
      ...base,
      kind: "waiting for MIC",
      message: `AzureAssignedIdentity ${aaiName} Created${since}: MIC is attaching ${id} to ${where}${x.attached === true ? " (ARM already shows it attached)" : ""}; this takes 10–20 s on a VM, 40–60 s on a VMSS`,
      fix: overdue
        ? `overdue: kubectl -n ${x.micNamespace} logs deploy/podid-mic; kubectl get events -n ${c.desired.binding.metadata.namespace} --field-selector involvedObject.name=${c.desired.binding.metadata.name}`
        : "wait; NMI holds the pod's token requests until it is Assigned",
    };
  }
  if (x.attached === false && target !== undefined) {
    return {
      ...base,
      kind: "not attached",
      message: `AzureAssignedIdentity ${aaiName} is Assigned but ${id} is not on ${where} (removed outside podid, e.g. by a node-pool upgrade, #633)`,
      fix: `MIC's drift repair re-attaches it within its interval (default 3 min); to fix now: ${assignCommand(target, x.identity?.spec.resourceID ?? "")}`,
    };
  }
  const placement = federated
    ? "(federated: nothing lives on the VM/VMSS; NMI exchanges the pod's own service-account token)"
    : x.key === undefined
      ? "(a service principal: nothing lives on the VM/VMSS)"
      : `on ${where}${x.attached === true ? " (attached, checked in ARM)" : ""}`;
  return {
    ...base,
    kind: "assigned",
    message: `${id} (clientID ${x.identity?.spec.clientID ?? ""}) is Assigned to pod ${ref(x.pod)} ${placement}; NMI serves it`,
    ...(x.multipleAssigned ? { fix: `the pod has several identities: request this one with client_id=${x.identity?.spec.clientID ?? ""}` } : {}),
  };
}

/**
 * A federated identity's `Created` object: MIC is writing its federated identity credential, or cannot — the
 * identity holds 20 credentials already, or MIC does not know the cluster's issuer (Events on the object).
 */
function federatedCreatedVerdict(c: Candidate, x: VerdictContext, aaiName: string, base: { readonly identity: string }): Verdict {
  const latest = (reason: string) => x.assignedIdentityEvents.filter((e) => e.reason === reason).sort((a, b) => cmp(b.last, a.last))[0];
  const limit = latest(FEDERATED_EVENT.credentialLimit);
  if (limit !== undefined) {
    return {
      ...base,
      kind: "federated credential limit",
      message: `${limit.message} (Event on AzureAssignedIdentity ${aaiName}, ${limit.last})`,
      fix: `az identity federated-credential list --identity-name <name> -g <group>: delete credentials no longer used (MIC deletes only its own podid-… ones when unneeded), or use another identity for some service accounts`,
    };
  }
  const issuer = latest(FEDERATED_EVENT.issuerUnknown);
  if (issuer !== undefined) {
    return {
      ...base,
      kind: "assignment failing",
      message: `${issuer.message} (${issuer.last})`,
      fix: `start MIC with --service-account-issuer=<issuer> (kubectl get --raw /.well-known/openid-configuration shows it)`,
    };
  }
  const event = latestAssignmentEvent(x.bindingEvents, c.key);
  if (event !== undefined && event.reason === "binding apply error") {
    return {
      ...base,
      kind: "assignment failing",
      message: `MIC could not write the federated identity credential of ${c.key}: ${eventDetail(event.message, c.key)} (${event.last}); it retries`,
      fix: `check that MIC's Azure identity may read, write and delete federatedIdentityCredentials on ${x.identity?.spec.resourceID ?? "the identity"}; kubectl -n ${x.micNamespace} logs deploy/podid-mic`,
    };
  }
  return {
    ...base,
    kind: "waiting for MIC",
    message: `AzureAssignedIdentity ${aaiName} Created: MIC is writing the federated identity credential of ${c.key} for service account ${c.desired === undefined ? "?" : podServiceAccountName(c.desired.pod)} (one write at a time per identity, about 4 s each)`,
    fix: "wait; NMI holds the pod's token requests until it is Assigned",
  };
}

/** The part of MIC's `identity <id> not assigned to node <n>: <detail>` Event message after the prefix. */
function eventDetail(message: string, id: string): string {
  const prefix = `identity ${id} not assigned to node `;
  if (!message.startsWith(prefix)) return message;
  const colon = message.indexOf(": ", prefix.length);
  return colon < 0 ? message : message.slice(colon + 2);
}

function assignCommand(target: { kind: "vm" | "vmss"; name: string; resourceGroup: string }, resourceID: string): string {
  return `az ${target.kind} identity assign -g ${target.resourceGroup} -n ${target.name} --identities ${resourceID}`;
}
