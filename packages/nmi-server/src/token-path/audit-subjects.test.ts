import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { bindPod, tokenUrl } from "@podid/testkit";
import { createHarness, type NmiHarness } from "../test-support/nmi-harness.js";
import type { NmiRequest } from "./2-routes.js";
import { auditSubject, AuditSubjects, buildAuditRecord, type ServedRequest } from "./7-response-audit.js";

/**
 * Audit subjects are shared by content (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, tenth addendum): a
 * token request decided afresh gets the same subject object as every earlier request with the same caller,
 * identity and resource, so its audit line is written from the subject's kept JSON instead of a whole record
 * passed through `JSON.stringify`.
 */

let h: NmiHarness | undefined;

afterEach(async () => {
  await h?.app.close();
  h = undefined;
});

type SubjectFacts = Parameters<typeof auditSubject>[0];

const facts = fc.record(
  {
    sourceIp: fc.constantFrom("10.0.0.5", "10.0.0.6", "fd00::5"),
    pod: fc.record({ uid: fc.constantFrom("u-1", "u-2", ""), namespace: fc.constantFrom("default", "team-a"), name: fc.constantFrom("app", "web") }),
    identity: fc.constantFrom("default/id-a", "team-a/id-b", "node"),
    clientId: fc.constantFrom("00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"),
    resource: fc.constantFrom("https://vault.azure.net", "https://management.azure.com/", "x"),
  },
  { requiredKeys: ["sourceIp", "pod"] },
) as fc.Arbitrary<SubjectFacts>;

describe("AuditSubjects", () => {
  it("answers a subject equal to a new one, and the same object exactly for equal facts", () => {
    fc.assert(
      fc.property(fc.array(facts, { minLength: 1, maxLength: 30 }), (all) => {
        const subjects = new AuditSubjects();
        const given = all.map((f) => subjects.of(f));
        for (const [i, f] of all.entries()) {
          expect(given[i]).toEqual(auditSubject(f));
          // Different content is never one object.
          for (const [j, g] of all.entries()) {
            if (JSON.stringify(auditSubject(f)) !== JSON.stringify(auditSubject(g))) expect(given[i]).not.toBe(given[j]);
          }
        }
        // Equal content asked again while it is still kept is the very same object.
        const last = all[all.length - 1]!;
        expect(subjects.of(last)).toBe(given[given.length - 1]);
      }),
    );
  });

  it("keeps at most 8 subjects per pod and 1024 pods", () => {
    const subjects = new AuditSubjects();
    const pod = { uid: "u-1", namespace: "default", name: "app" };
    const first = subjects.of({ sourceIp: "10.0.0.5", pod, resource: "r-0" });
    for (let i = 1; i < 8; i++) subjects.of({ sourceIp: "10.0.0.5", pod, resource: `r-${String(i)}` });
    expect(subjects.of({ sourceIp: "10.0.0.5", pod, resource: "r-0" })).toBe(first);
    subjects.of({ sourceIp: "10.0.0.5", pod, resource: "r-8" });
    // The ninth resource pushed the oldest out: an equal subject, made anew.
    const again = subjects.of({ sourceIp: "10.0.0.5", pod, resource: "r-0" });
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    const many = new AuditSubjects();
    const kept = many.of({ sourceIp: "10.0.0.9", pod: { uid: "p-0", namespace: "default", name: "p-0" } });
    for (let i = 1; i < 1024; i++) many.of({ sourceIp: "10.0.0.9", pod: { uid: `p-${String(i)}`, namespace: "default", name: `p-${String(i)}` } });
    expect(many.of({ sourceIp: "10.0.0.9", pod: { uid: "p-0", namespace: "default", name: "p-0" } })).toBe(kept);
    // The 1025th pod empties it.
    many.of({ sourceIp: "10.0.0.9", pod: { uid: "p-1024", namespace: "default", name: "p-1024" } });
    expect(many.of({ sourceIp: "10.0.0.9", pod: { uid: "p-0", namespace: "default", name: "p-0" } })).not.toBe(kept);
  });
});

/** A token request from `remoteAddress` for `resource`, as the HTTP entry hands it to the engine. */
function tokenRequest(requestId: string, remoteAddress: string, resource?: string): NmiRequest {
  return { requestId, method: "GET", rawTarget: tokenUrl(resource), headers: { metadata: "true" }, remoteAddress, onClientGone: () => () => undefined };
}

/** Serves a request and waits for its answer. */
async function served(harness: NmiHarness, request: NmiRequest): Promise<ServedRequest> {
  return await harness.engine.serve(request);
}

describe("token requests decided afresh (decision memo off)", () => {
  it("share one audit subject per caller, identity and resource, with the same records as before", async () => {
    h = createHarness({ config: { memoiseDecisions: false } });
    bindPod(h, { pod: "app", ip: "10.0.0.5", identity: "id-a" });
    bindPod(h, { pod: "other", ip: "10.0.0.6", identity: "id-a" });
    const first = await served(h, tokenRequest("r1", "10.0.0.5"));
    const second = await served(h, tokenRequest("r2", "10.0.0.5"));
    const fromOther = await served(h, tokenRequest("r3", "10.0.0.6"));
    const otherResource = await served(h, tokenRequest("r4", "10.0.0.5", "https://vault.azure.net"));
    expect(second.audit.subject).toBeDefined();
    expect(second.audit.subject).toBe(first.audit.subject);
    expect(fromOther.audit.subject).not.toBe(first.audit.subject);
    expect(otherResource.audit.subject).not.toBe(first.audit.subject);
    // The record read through the subject is the one the request's own facts give.
    for (const s of [first, second, fromOther, otherResource]) {
      const { subject, ...own } = s.audit;
      expect(buildAuditRecord(s.audit)).toEqual(buildAuditRecord(own));
      expect(subject?.podName).toBe(s === fromOther ? "other" : "app");
    }
    expect(buildAuditRecord(second.audit)).toMatchObject({ podName: "app", identity: "default/id-a", resource: "https://management.azure.com/", cache: "hit", status: 200 });
  });
});
