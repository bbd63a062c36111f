import fc from "fast-check";
import { clusterArb } from "@podid/testkit";
import { describe, expect, it } from "vitest";
import { BEHAVIOR_ANNOTATION, BINDING_LABEL } from "../model/constants.js";
import type { AzureIdentity, AzureIdentityBinding, ObjectMeta, PodPhase, PodView } from "../model/types.js";
import { bindingMatchesPod } from "./binding-matches-pod.js";
import { matchAssignments, matchPodAssignments, type MatchInput } from "./desired-assignments.js";
import { indexIdentities } from "./indexes.js";
import { assignedIdentityName, assignedIdentityNamespace, isNamespacedIdentity } from "./namespaced.js";
import { podBindingLabel } from "./pod-binding-label.js";
import { isPodScheduled, isPodTerminated } from "./pod-state.js";
import type { DesiredAssignment, MatchResult, MatchSkip, MatchingOptions } from "./types.js";

// ---------------------------------------------------------------------------------------------------
// Object builders and generators local to this file. They draw names from deliberately tiny pools so
// that the interesting cases (same-named identities in several namespaces, hyphen-ambiguous AAI names,
// label typos, empty selectors) come up in almost every run; a generic cluster arbitrary would rarely
// produce them. Every kind is unique by (namespace, name), as the API server guarantees.
// ---------------------------------------------------------------------------------------------------

const NAMESPACES = ["default", "a", "b", "b-c", "c"] as const;
const POD_NAMES = ["p", "a", "a-b", "web"] as const;
const IDENTITY_NAMES = ["id", "d", "x", "b-c-d"] as const;
const BINDING_NAMES = ["b1", "b2", "b3"] as const;
/** Selectors and labels share this pool; "Sel" and "sel " are the classic typos of "sel". */
const SELECTORS = ["sel", "Sel", "sel ", "other", ""] as const;
const NODES = ["", "node-1", "node-2"] as const;
const PHASES: readonly PodPhase[] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

interface MetaFields {
  readonly uid?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: string;
}

function meta(namespace: string, name: string, fields: MetaFields = {}): ObjectMeta {
  return {
    name,
    namespace,
    labels: fields.labels ?? {},
    annotations: fields.annotations ?? {},
    finalizers: [],
    ...(fields.uid === undefined ? {} : { uid: fields.uid }),
    ...(fields.deletionTimestamp === undefined ? {} : { deletionTimestamp: fields.deletionTimestamp }),
  };
}

interface PodFields {
  readonly label?: string;
  readonly nodeName?: string;
  readonly phase?: PodPhase;
  readonly deleting?: boolean;
  readonly uid?: string;
}

function pod(namespace: string, name: string, fields: PodFields = {}): PodView {
  return {
    kind: "Pod",
    metadata: meta(namespace, name, {
      uid: fields.uid ?? `uid-${namespace}-${name}`,
      labels: fields.label === undefined ? { app: name } : { app: name, [BINDING_LABEL]: fields.label },
      ...(fields.deleting === true ? { deletionTimestamp: "2024-01-01T00:00:00Z" } : {}),
    }),
    nodeName: fields.nodeName ?? "node-1",
    serviceAccountName: "default",
    hostNetwork: false,
    phase: fields.phase ?? "Running",
    podIP: "10.0.0.1",
    podIPs: ["10.0.0.1"],
  };
}

function identity(namespace: string, name: string, behavior?: string): AzureIdentity {
  return {
    kind: "AzureIdentity",
    metadata: meta(namespace, name, behavior === undefined ? {} : { annotations: { [BEHAVIOR_ANNOTATION]: behavior } }),
    spec: {
      type: 0,
      resourceID: `/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
      clientID: "00000000-0000-0000-0000-000000000001",
      tenantID: "",
      auxiliaryTenantIDs: [],
      adEndpoint: "",
      adResourceID: "",
      serviceAccounts: [],
    },
  };
}

function binding(namespace: string, name: string, azureIdentity: string, selector: string): AzureIdentityBinding {
  return { kind: "AzureIdentityBinding", metadata: meta(namespace, name), spec: { azureIdentity, selector } };
}

/** `value` most of the time, otherwise one of `others` (keeps the rare cases without drowning the common one). */
function mostly<T>(value: T, others: readonly T[]): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: fc.constant(value), weight: 3 }, { arbitrary: fc.constantFrom(...others), weight: 1 });
}

const podArb: fc.Arbitrary<PodView> = fc
  .record({
    namespace: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom(...POD_NAMES),
    label: fc.option(mostly<string>("sel", SELECTORS), { nil: undefined, freq: 6 }),
    nodeName: mostly<string>("node-1", NODES),
    phase: mostly<PodPhase>("Running", PHASES),
    deleting: fc.boolean(),
  })
  .map(({ label, ...f }) => pod(f.namespace, f.name, label === undefined ? f : { ...f, label }));

const identityArb: fc.Arbitrary<AzureIdentity> = fc
  .record({
    namespace: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom(...IDENTITY_NAMES),
    // "Namespaced" (capital N) is not the documented value and must not switch namespaced mode on.
    behavior: fc.constantFrom(undefined, undefined, "namespaced", "Namespaced"),
  })
  .map((f) => identity(f.namespace, f.name, f.behavior));

/** A binding, usually pointing at one of `identities` (so that lookups mostly succeed). */
function bindingArb(identities: readonly AzureIdentity[]): fc.Arbitrary<AzureIdentityBinding> {
  const anyTarget = fc.record({
    namespace: fc.constantFrom(...NAMESPACES),
    azureIdentity: fc.constantFrom(...IDENTITY_NAMES, "missing"),
  });
  const target =
    identities.length === 0
      ? anyTarget
      : fc.oneof(
          { arbitrary: anyTarget, weight: 1 },
          {
            arbitrary: fc
              .constantFrom(...identities)
              .map((i) => ({ namespace: i.metadata.namespace, azureIdentity: i.metadata.name })),
            weight: 4,
          },
        );
  return fc
    .record({ target, name: fc.constantFrom(...BINDING_NAMES), selector: mostly<string>("sel", SELECTORS) })
    .map((f) => binding(f.target.namespace, f.name, f.target.azureIdentity, f.selector));
}

const keyOf = (o: { readonly metadata: ObjectMeta }): string => `${o.metadata.namespace}/${o.metadata.name}`;

/** A cluster snapshot: pods, bindings and identities, each unique by (namespace, name). */
const matchInputArb: fc.Arbitrary<MatchInput> = fc
  .uniqueArray(identityArb, { selector: keyOf, maxLength: 8 })
  .chain((identities) =>
    fc.record({
      pods: fc.uniqueArray(podArb, { selector: keyOf, maxLength: 14 }),
      bindings: fc.uniqueArray(bindingArb(identities), { selector: keyOf, maxLength: 10 }),
      identities: fc.constant(identities),
    }),
  );

const optionsArb: fc.Arbitrary<MatchingOptions> = fc.record({ forceNamespaced: fc.boolean() });

/** The same snapshot with every list in a random order. */
function shuffledArb(input: MatchInput): fc.Arbitrary<MatchInput> {
  return fc.record({
    pods: fc.shuffledSubarray([...input.pods], { minLength: input.pods.length }),
    bindings: fc.shuffledSubarray([...input.bindings], { minLength: input.bindings.length }),
    identities: fc.shuffledSubarray([...input.identities], { minLength: input.identities.length }),
  });
}

/**
 * Where the properties draw cluster snapshots from: the local edge-case pools above (collisions, typos,
 * hyphen-ambiguous names) and the shared realistic `clusterArb` of @podid/testkit (uuids, timestamps,
 * unrelated labels, node pools, dangling bindings).
 */
const INPUT_SOURCES: readonly (readonly [string, fc.Arbitrary<MatchInput>, number])[] = [
  ["edge-case pools", matchInputArb, 300],
  [
    "@podid/testkit clusterArb",
    clusterArb({ maxPods: 12, maxBindings: 8, maxIdentities: 6 }).map(({ pods, bindings, identities }) => ({
      pods,
      bindings,
      identities,
    })),
    100,
  ],
];

// ---------------------------------------------------------------------------------------------------
// Helpers for the properties: a naive O(pods × bindings × identities) reading of the rules.
// ---------------------------------------------------------------------------------------------------

/** Every (pod, binding, identity) the rules allow before collision handling, found by brute force. */
type Candidate = [PodView, AzureIdentityBinding, AzureIdentity];

function naiveCandidates(input: MatchInput, options: MatchingOptions): Candidate[] {
  const out: Candidate[] = [];
  for (const p of input.pods) {
    if (p.nodeName === "" || p.phase === "Succeeded" || p.phase === "Failed") continue;
    for (const b of input.bindings) {
      const label = p.metadata.labels[BINDING_LABEL];
      if (label === undefined || label === "" || label !== b.spec.selector) continue;
      const id = input.identities.find(
        (i) => i.metadata.namespace === b.metadata.namespace && i.metadata.name === b.spec.azureIdentity,
      );
      if (id === undefined) continue;
      const ns = p.metadata.namespace;
      if (isNamespacedIdentity(id, options) && (b.metadata.namespace !== ns || id.metadata.namespace !== ns)) continue;
      out.push([p, b, id]);
    }
  }
  return out;
}

/** (pod, binding) pairs that made it into the result either as an assignment or as a dropped collision. */
function coveredPairs(result: MatchResult): DesiredAssignment[] {
  return [
    ...result.assignments,
    ...result.skipped.flatMap((s) => (s.reason === "nameCollision" ? [s.dropped] : [])),
  ];
}

function summarize(result: MatchResult): unknown {
  return {
    assignments: result.assignments.map((a) => [
      [a.namespace, a.name],
      [keyOf(a.pod), keyOf(a.binding), keyOf(a.identity)],
    ]),
    skipped: result.skipped.map((s) => [s.reason, keyOf(s.pod), "binding" in s ? keyOf(s.binding) : "-"]),
  };
}

// ---------------------------------------------------------------------------------------------------

describe.each(INPUT_SOURCES)("matchAssignments properties over %s", (_source, inputArb, numRuns) => {
  const runs = { numRuns };

  it("is sound: every assignment satisfies every matching rule", () => {
    fc.assert(
      fc.property(inputArb, optionsArb, (input, options) => {
        for (const a of matchAssignments(input, options).assignments) {
          expect(input.pods).toContain(a.pod);
          expect(input.bindings).toContain(a.binding);
          expect(input.identities).toContain(a.identity);
          expect(podBindingLabel(a.pod)).not.toBe("");
          expect(podBindingLabel(a.pod)).toBe(a.binding.spec.selector);
          expect(a.identity.metadata.namespace).toBe(a.binding.metadata.namespace);
          expect(a.identity.metadata.name).toBe(a.binding.spec.azureIdentity);
          expect(a.pod.nodeName).not.toBe("");
          expect(a.nodeName).toBe(a.pod.nodeName);
          expect(isPodTerminated(a.pod)).toBe(false);
          if (isNamespacedIdentity(a.identity, options)) {
            expect(a.binding.metadata.namespace).toBe(a.pod.metadata.namespace);
            expect(a.identity.metadata.namespace).toBe(a.pod.metadata.namespace);
          }
          const { name: podName, namespace: podNamespace } = a.pod.metadata;
          expect(a.name).toBe(assignedIdentityName(podName, podNamespace, a.identity.metadata.name));
          expect(a.namespace).toBe(assignedIdentityNamespace(a.identity, options));
        }
      }),
      runs,
    );
  });

  it("is complete: every allowed candidate is an assignment or a reported name collision, exactly once", () => {
    fc.assert(
      fc.property(inputArb, optionsArb, (input, options) => {
        const result = matchAssignments(input, options);
        const covered = coveredPairs(result);
        const candidates = naiveCandidates(input, options);
        expect(covered).toHaveLength(candidates.length);
        for (const [p, b, id] of candidates) {
          const hits = covered.filter((a) => a.pod === p && a.binding === b);
          expect(hits).toHaveLength(1);
          expect(hits[0]?.identity).toBe(id);
        }
      }),
      runs,
    );
  });

  it("reports a collision only against a kept assignment with the same AAI namespace and name", () => {
    fc.assert(
      fc.property(inputArb, optionsArb, (input, options) => {
        const result = matchAssignments(input, options);
        for (const s of result.skipped) {
          if (s.reason !== "nameCollision") continue;
          expect(result.assignments).toContain(s.kept);
          expect(s.dropped.namespace).toBe(s.kept.namespace);
          expect(s.dropped.name).toBe(s.kept.name);
          expect(s.pod).toBe(s.dropped.pod);
        }
      }),
      runs,
    );
  });

  it("justifies every other skip, reports each pod-level skip once, and only for pods a binding selects", () => {
    fc.assert(
      fc.property(inputArb, optionsArb, (input, options) => {
        const result = matchAssignments(input, options);
        const podLevel = new Set<PodView>();
        for (const s of result.skipped) {
          expect(input.pods).toContain(s.pod);
          expect(input.bindings.some((b) => bindingMatchesPod(b, s.pod))).toBe(true);
          switch (s.reason) {
            case "podTerminated":
              expect(isPodTerminated(s.pod)).toBe(true);
              break;
            case "podNotScheduled":
              expect(isPodTerminated(s.pod)).toBe(false);
              expect(isPodScheduled(s.pod)).toBe(false);
              break;
            case "identityNotFound":
              expect(bindingMatchesPod(s.binding, s.pod)).toBe(true);
              expect(
                input.identities.some(
                  (i) =>
                    i.metadata.namespace === s.binding.metadata.namespace &&
                    i.metadata.name === s.binding.spec.azureIdentity,
                ),
              ).toBe(false);
              break;
            case "namespaceMismatch":
              expect(bindingMatchesPod(s.binding, s.pod)).toBe(true);
              expect(isNamespacedIdentity(s.identity, options)).toBe(true);
              expect(s.binding.metadata.namespace === s.pod.metadata.namespace).toBe(false);
              break;
            case "nameCollision":
              break;
          }
          if (s.reason === "podTerminated" || s.reason === "podNotScheduled") {
            expect(podLevel.has(s.pod)).toBe(false);
            podLevel.add(s.pod);
            expect(result.assignments.some((a) => a.pod === s.pod)).toBe(false);
          }
        }
        // Conversely every selected pod that is terminated or unscheduled got its pod-level skip.
        for (const p of input.pods) {
          const selected = input.bindings.some((b) => bindingMatchesPod(b, p));
          expect(podLevel.has(p)).toBe(selected && (isPodTerminated(p) || !isPodScheduled(p)));
        }
      }),
      runs,
    );
  });

  it("is deterministic: shuffling every input list gives the identical result", () => {
    fc.assert(
      fc.property(
        inputArb.chain((input) => fc.tuple(fc.constant(input), shuffledArb(input))),
        optionsArb,
        ([input, shuffled], options) => {
          const expected = matchAssignments(input, options);
          const actual = matchAssignments(shuffled, options);
          expect(summarize(actual)).toEqual(summarize(expected));
          expect(actual.assignments).toEqual(expected.assignments);
          expect(actual.skipped).toEqual(expected.skipped);
        },
      ),
      runs,
    );
  });

  it("produces AAI names unique per namespace, sorted by (namespace, name)", () => {
    fc.assert(
      fc.property(inputArb, optionsArb, (input, options) => {
        const keys = matchAssignments(input, options).assignments.map((a) => [a.namespace, a.name] as const);
        for (let i = 1; i < keys.length; i++) {
          const [prevNs, prevName] = keys[i - 1] ?? ["", ""];
          const [ns, name] = keys[i] ?? ["", ""];
          expect(prevNs < ns || (prevNs === ns && prevName < name)).toBe(true);
        }
      }),
      runs,
    );
  });

  it("forceNamespaced only removes candidates: each of its pairs is also matched without it", () => {
    // Without forceNamespaced a pair can lose a name collision to a cross-namespace binding that
    // forceNamespaced rejects (#1065), so the comparison includes dropped collisions on the right.
    fc.assert(
      fc.property(inputArb, (input) => {
        const forced = coveredPairs(matchAssignments(input, { forceNamespaced: true }));
        const relaxed = coveredPairs(matchAssignments(input, { forceNamespaced: false }));
        for (const a of forced) {
          const same = (r: DesiredAssignment): boolean =>
            r.pod === a.pod && r.binding === a.binding && r.identity === a.identity;
          expect(relaxed.some(same)).toBe(true);
        }
        // And its assignments are all namespaced: they live in the identity's namespace.
        for (const a of matchAssignments(input, { forceNamespaced: true }).assignments) {
          expect(a.namespace).toBe(a.identity.metadata.namespace);
        }
      }),
      runs,
    );
  });

  it("lists skips in processing order: pods by (namespace, name), then bindings by (namespace, name)", () => {
    fc.assert(
      fc.property(inputArb, optionsArb, (input, options) => {
        const order = (s: MatchSkip): [string, string, string, string] => {
          const b = s.reason === "nameCollision" ? s.dropped.binding : "binding" in s ? s.binding : undefined;
          return [s.pod.metadata.namespace, s.pod.metadata.name, b?.metadata.namespace ?? "", b?.metadata.name ?? ""];
        };
        const keys = matchAssignments(input, options).skipped.map(order);
        const sorted = [...keys].sort((x, y) => (x.join("\u0000") < y.join("\u0000") ? -1 : 1));
        expect(keys.map((k) => k.join("\u0000"))).toEqual(sorted.map((k) => k.join("\u0000")));
      }),
      runs,
    );
  });
});

describe("matchAssignments (documented cases)", () => {
  const off: MatchingOptions = { forceNamespaced: false };
  const forced: MatchingOptions = { forceNamespaced: true };

  it("assigns a pod to its binding's identity, in `default` under the `<pod>-<ns>-<identity>` name", () => {
    const p = pod("app", "web-0", { label: "web", nodeName: "node-7" });
    const b = binding("app", "web-binding", "web-id", "web");
    const id = identity("app", "web-id");
    const result = matchAssignments({ pods: [p], bindings: [b], identities: [id] }, off);
    expect(result.skipped).toEqual([]);
    expect(result.assignments).toEqual([
      { name: "web-0-app-web-id", namespace: "default", pod: p, nodeName: "node-7", identity: id, binding: b },
    ]);
  });

  it("ignores a label typo silently (case, whitespace): selectors are compared exactly", () => {
    const b = binding("app", "bind", "id", "web");
    const id = identity("app", "id");
    for (const label of ["Web", "web ", " web", "WEB", "we"]) {
      const result = matchAssignments({ pods: [pod("app", "p", { label })], bindings: [b], identities: [id] }, off);
      expect(result).toEqual({ assignments: [], skipped: [] });
    }
  });

  it("never matches an empty or missing label, even against an empty selector", () => {
    const b = binding("app", "bind", "id", "");
    const id = identity("app", "id");
    const pods = [
      pod("app", "empty", { label: "" }),
      pod("app", "missing"),
      pod("app", "unscheduled", { label: "", nodeName: "" }),
    ];
    expect(matchAssignments({ pods, bindings: [b], identities: [id] }, off)).toEqual({ assignments: [], skipped: [] });
  });

  it("matches a binding in another namespace by default, but not when namespaced", () => {
    const p = pod("team-a", "p", { label: "shared" });
    const b = binding("team-b", "bind", "id", "shared");
    const plain = identity("team-b", "id");
    const annotated = identity("team-b", "id", "namespaced");

    const open = matchAssignments({ pods: [p], bindings: [b], identities: [plain] }, off);
    expect(open.assignments.map((a) => [a.namespace, a.name])).toEqual([["default", "p-team-a-id"]]);

    const viaAnnotation = matchAssignments({ pods: [p], bindings: [b], identities: [annotated] }, off);
    expect(viaAnnotation).toEqual({
      assignments: [],
      skipped: [{ reason: "namespaceMismatch", pod: p, binding: b, identity: annotated }],
    });

    const viaFlag = matchAssignments({ pods: [p], bindings: [b], identities: [plain] }, forced);
    expect(viaFlag.skipped).toEqual([{ reason: "namespaceMismatch", pod: p, binding: b, identity: plain }]);
  });

  it("puts an annotated (namespaced) identity's assignment in the identity's namespace", () => {
    const p = pod("team-a", "p", { label: "mine" });
    const b = binding("team-a", "bind", "id", "mine");
    const annotated = identity("team-a", "id", "namespaced");
    const other = identity("team-a", "id2", "Namespaced"); // wrong case: not namespaced
    const b2 = binding("team-a", "bind2", "id2", "mine");
    const result = matchAssignments({ pods: [p], bindings: [b, b2], identities: [annotated, other] }, off);
    expect(result.assignments.map((a) => [a.namespace, a.name])).toEqual([
      ["default", "p-team-a-id2"],
      ["team-a", "p-team-a-id"],
    ]);
  });

  it("skips a binding whose identity is missing from the binding's namespace (identityNotFound)", () => {
    const p = pod("app", "p", { label: "s" });
    const b = binding("app", "bind", "id", "s");
    const elsewhere = identity("other", "id");
    const result = matchAssignments({ pods: [p], bindings: [b], identities: [elsewhere] }, off);
    expect(result).toEqual({ assignments: [], skipped: [{ reason: "identityNotFound", pod: p, binding: b }] });
  });

  it("keeps the first of two same-named identities from different namespaces and reports the other (#1065)", () => {
    const p = pod("ns-c", "p", { label: "s" });
    const bA = binding("ns-a", "bind", "id", "s");
    const bB = binding("ns-b", "bind", "id", "s");
    const idA = identity("ns-a", "id");
    const idB = identity("ns-b", "id");
    for (const [bindings, identities] of [
      [[bA, bB], [idA, idB]],
      [[bB, bA], [idB, idA]],
    ] as const) {
      const result = matchAssignments({ pods: [p], bindings, identities }, off);
      expect(result.assignments).toHaveLength(1);
      const kept = result.assignments[0];
      expect(kept?.binding).toBe(bA);
      expect(kept?.identity).toBe(idA);
      expect(result.skipped).toHaveLength(1);
      const skip = result.skipped[0];
      expect(skip?.reason).toBe("nameCollision");
      if (skip?.reason !== "nameCollision") return;
      expect(skip.kept).toBe(kept);
      expect(skip.dropped.binding).toBe(bB);
      expect(skip.dropped.identity).toBe(idB);
      expect(skip.dropped.name).toBe("p-ns-c-id");
    }
  });

  it("gives both same-named identities when they are namespaced: their AAIs live in different namespaces", () => {
    const p = pod("default", "p", { label: "s" });
    const bDefault = binding("default", "bind", "id", "s");
    const bA = binding("ns-a", "bind", "id", "s");
    const idDefault = identity("default", "id", "namespaced");
    const idA = identity("ns-a", "id", "namespaced");
    const result = matchAssignments({ pods: [p], bindings: [bDefault, bA], identities: [idDefault, idA] }, off);
    expect(result.assignments.map((a) => [a.namespace, a.name])).toEqual([["default", "p-default-id"]]);
    expect(result.skipped.map((s) => s.reason)).toEqual(["namespaceMismatch"]);
  });

  it("detects hyphen-ambiguous AAI names across different pods and keeps the first pod in order", () => {
    const first = pod("b-c", "a", { label: "s" }); // a-b-c-d
    const second = pod("c", "a-b", { label: "s" }); // a-b-c-d as well
    const b = binding("x", "bind", "d", "s");
    const id = identity("x", "d");
    const result = matchAssignments({ pods: [second, first], bindings: [b], identities: [id] }, off);
    expect(result.assignments.map((a) => [a.name, a.pod])).toEqual([["a-b-c-d", first]]);
    expect(result.skipped).toEqual([
      {
        reason: "nameCollision",
        pod: second,
        kept: result.assignments[0],
        dropped: expect.objectContaining({ pod: second, name: "a-b-c-d", namespace: "default" }),
      },
    ]);
  });

  it("reports a duplicate binding of the same identity as a collision instead of overwriting", () => {
    const p = pod("app", "p", { label: "s" });
    const b1 = binding("app", "b1", "id", "s");
    const b2 = binding("app", "b2", "id", "s");
    const result = matchAssignments({ pods: [p], bindings: [b2, b1], identities: [identity("app", "id")] }, off);
    expect(result.assignments.map((a) => a.binding)).toEqual([b1]);
    expect(result.skipped.map((s) => (s.reason === "nameCollision" ? s.dropped.binding : undefined))).toEqual([b2]);
  });

  it("reports unscheduled pods only when a binding selects them", () => {
    const b = binding("app", "bind", "id", "s");
    const id = identity("app", "id");
    const waiting = pod("app", "waiting", { label: "s", nodeName: "" });
    const unrelated = pod("app", "unrelated", { label: "nope", nodeName: "" });
    const unlabelled = pod("app", "unlabelled", { nodeName: "" });
    const result = matchAssignments({ pods: [waiting, unrelated, unlabelled], bindings: [b], identities: [id] }, off);
    expect(result).toEqual({ assignments: [], skipped: [{ reason: "podNotScheduled", pod: waiting }] });
  });

  it("drops terminated pods but keeps deleting, pending and unknown-phase pods", () => {
    const b = binding("app", "bind", "id", "s");
    const id = identity("app", "id");
    const succeeded = pod("app", "job-ok", { label: "s", phase: "Succeeded" });
    const failed = pod("app", "job-failed", { label: "s", phase: "Failed", nodeName: "" });
    const deleting = pod("app", "shutting-down", { label: "s", deleting: true });
    const pending = pod("app", "pending", { label: "s", phase: "Pending" });
    const unknown = pod("app", "lost", { label: "s", phase: "Unknown" });
    const result = matchAssignments(
      { pods: [succeeded, failed, deleting, pending, unknown], bindings: [b], identities: [id] },
      off,
    );
    expect(result.assignments.map((a) => a.pod)).toEqual([unknown, pending, deleting]);
    expect(result.skipped).toEqual([
      { reason: "podTerminated", pod: failed },
      { reason: "podTerminated", pod: succeeded },
    ]);
  });

  it("returns nothing when there are no bindings", () => {
    const input = { pods: [pod("a", "p", { label: "s" })], bindings: [], identities: [identity("a", "id")] };
    const result = matchAssignments(input, off);
    expect(result).toEqual({ assignments: [], skipped: [] });
  });

  it("handles 10,000 pods × 200 identities well within budget", () => {
    const namespaces = Array.from({ length: 20 }, (_, i) => `ns-${i}`);
    const identities = Array.from({ length: 200 }, (_, i) =>
      identity(namespaces[i % 20] ?? "", `id-${i}`, i % 3 === 0 ? "namespaced" : undefined),
    );
    // 200 bindings over 100 selectors: every selected pod gets two identities.
    const bindings = identities.map((id, i) =>
      binding(id.metadata.namespace, `bind-${i}`, id.metadata.name, `sel-${i % 100}`),
    );
    const pods = Array.from({ length: 10_000 }, (_, i) =>
      pod(namespaces[(i * 7) % 20] ?? "", `pod-${i}`, {
        ...(i % 10 === 9 ? {} : { label: `sel-${i % 100}` }),
        nodeName: i % 50 === 0 ? "" : `node-${i % 100}`,
      }),
    );
    const input = { pods, bindings, identities };
    matchAssignments(input, off); // warm up the JIT
    const timings: number[] = [];
    let result: MatchResult | undefined;
    for (let run = 0; run < 5; run++) {
      const start = performance.now();
      result = matchAssignments(input, off);
      timings.push(performance.now() - start);
    }
    expect(result?.assignments.length).toBeGreaterThan(10_000);
    // The target is < 50 ms; the bound is loose so a busy 2-core CI runner cannot make it flaky, while
    // an accidental pods × bindings × identities scan (~400 M steps) would still blow through it.
    const best = Math.min(...timings);
    expect(best).toBeLessThan(250);
  });
});

describe("matchPodAssignments (one pod at a time, as NMI checks a caller)", () => {
  it("is exactly matchAssignments of that pod alone, for every pod, binding and identity mix", () => {
    fc.assert(
      fc.property(matchInputArb, optionsArb, (input, options) => {
        const identities = indexIdentities(input.identities);
        for (const p of input.pods) {
          expect(matchPodAssignments(p, input.bindings, identities, options)).toEqual(matchAssignments({ pods: [p], bindings: input.bindings, identities: input.identities }, options));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("keeps the first of two same-keyed assignments of one pod and reports the second as a collision", () => {
    // Two bindings of one identity select the pod: the AAI key repeats; binding order (namespace, name) decides.
    const id = identity("a", "id");
    const p = pod("a", "p", { label: "sel", nodeName: "node-1", phase: "Running" });
    const b2 = binding("a", "b2", "id", "sel");
    const b1 = binding("a", "b1", "id", "sel");
    const result = matchPodAssignments(p, [b2, b1], indexIdentities([id]), { forceNamespaced: false });
    expect(result.assignments.map((a) => a.binding.metadata.name)).toEqual(["b1"]);
    expect(result.skipped).toMatchObject([{ reason: "nameCollision", kept: { binding: b1 }, dropped: { binding: b2 } }]);
  });
});
