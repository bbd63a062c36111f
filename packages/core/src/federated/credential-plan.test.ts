import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { FederatedCredential } from "../ports/federated-credential.port.js";
import { planFederatedCredentials, planIdentityCredentials } from "./credential-plan.js";
import { federatedCredentialName } from "./credential-name.js";
import { isPodidOwnedCredential } from "./ownership.js";
import { FEDERATED_TOKEN_AUDIENCE, serviceAccountSubject } from "./service-account-subject.js";

const ISSUER = "https://kubernetes.default.svc.cluster.local";
const OTHER_ISSUER = "https://oidc.other.example/";
const subjects = (n: number) => Array.from({ length: n }, (_, i) => serviceAccountSubject("team-a", `sa-${String(i).padStart(2, "0")}`));
const ours = (subject: string, issuer = ISSUER): FederatedCredential => ({
  name: federatedCredentialName(issuer, subject),
  issuer,
  subject,
  audiences: [FEDERATED_TOKEN_AUDIENCE],
});
const theirs = (subject: string, name: string, issuer = ISSUER): FederatedCredential => ({ name, issuer, subject, audiences: [FEDERATED_TOKEN_AUDIENCE] });

describe("planIdentityCredentials — examples", () => {
  it("creates one credential per needed subject with podid's name, issuer, subject and the exchange audience", () => {
    const [s1] = subjects(1);
    const plan = planIdentityCredentials({ issuer: ISSUER, neededSubjects: [s1!, s1!], existing: [] });
    expect(plan).toStrictEqual({ creates: [ours(s1!)], deletes: [], reused: [], refused: [] });
  });

  it("reuses a credential someone else created for the same issuer and subject, whatever its name", () => {
    const [s1] = subjects(1);
    const existing = [theirs(s1!, "hand-made")];
    expect(planIdentityCredentials({ issuer: ISSUER, neededSubjects: [s1!], existing })).toStrictEqual({
      creates: [],
      deletes: [],
      reused: [{ subject: s1!, credential: existing[0] }],
      refused: [],
    });
  });

  it("does not reuse a credential of another issuer (issuer matching is exact)", () => {
    const [s1] = subjects(1);
    const plan = planIdentityCredentials({ issuer: ISSUER, neededSubjects: [s1!], existing: [theirs(s1!, "x", `${ISSUER}/`)] });
    expect(plan.creates.map((c) => c.subject)).toStrictEqual([s1]);
  });

  it("deletes only its own credentials nobody needs", () => {
    const [s1, s2, s3] = subjects(3);
    const existing = [ours(s1!), ours(s2!), theirs(s3!, "someone-elses"), ours(s3!, OTHER_ISSUER)];
    const plan = planIdentityCredentials({ issuer: ISSUER, neededSubjects: [s1!], existing });
    expect(plan.deletes).toStrictEqual([ours(s2!)]);
  });

  it("refuses the 21st subject when 20 credentials are held and none matches", () => {
    const held = subjects(20).map((s, i) => theirs(s, `foreign-${i}`));
    const wanted = serviceAccountSubject("team-b", "late");
    const plan = planIdentityCredentials({ issuer: ISSUER, neededSubjects: [wanted], existing: held });
    expect(plan).toStrictEqual({ creates: [], deletes: [], reused: [], refused: [wanted] });
  });

  it("fills up to the cap, refuses the rest in sorted order, and frees room by deleting unneeded own credentials", () => {
    const all = subjects(22);
    const fresh = planIdentityCredentials({ issuer: ISSUER, neededSubjects: [...all].reverse(), existing: [] });
    expect(fresh.creates.map((c) => c.subject)).toStrictEqual(all.slice(0, 20));
    expect(fresh.refused).toStrictEqual(all.slice(20));
    const stale = subjects(20).map((s) => ours(s.replace("team-a", "team-z")));
    const freed = planIdentityCredentials({ issuer: ISSUER, neededSubjects: all.slice(0, 3), existing: stale });
    expect(freed.deletes).toHaveLength(20);
    expect(freed.creates).toHaveLength(3);
  });
});

const credentialArb = (pool: readonly string[]) =>
  fc.oneof(
    fc.constantFrom(...pool).map((s) => ours(s)),
    fc.tuple(fc.constantFrom(...pool), fc.stringMatching(/^[a-z][a-z0-9-]{2,10}$/)).map(([s, name]) => theirs(s, name)),
    fc.constantFrom(...pool).map((s) => ours(s, OTHER_ISSUER)),
  );

describe("planIdentityCredentials — properties", () => {
  const pool = subjects(26);
  const inputArb = fc.record({
    neededSubjects: fc.array(fc.constantFrom(...pool), { maxLength: 26 }),
    existing: fc.uniqueArray(credentialArb(pool), { maxLength: 20, selector: (c) => c.name }).map((list) => {
      // Entra ID keeps issuer+subject unique per identity.
      const seen = new Set<string>();
      return list.filter((c) => (seen.has(`${c.issuer}\n${c.subject}`) ? false : (seen.add(`${c.issuer}\n${c.subject}`), true)));
    }),
  });

  it("every needed subject is exactly one of reused, created or refused", () => {
    fc.assert(
      fc.property(inputArb, ({ neededSubjects, existing }) => {
        const plan = planIdentityCredentials({ issuer: ISSUER, neededSubjects, existing });
        const accounted = [...plan.reused.map((r) => r.subject), ...plan.creates.map((c) => c.subject), ...plan.refused].sort();
        expect(accounted).toStrictEqual([...new Set(neededSubjects)].sort());
      }),
      { numRuns: 300 },
    );
  });

  it("never exceeds the cap and refuses only when the cap is reached", () => {
    fc.assert(
      fc.property(inputArb, ({ neededSubjects, existing }) => {
        const plan = planIdentityCredentials({ issuer: ISSUER, neededSubjects, existing });
        const after = existing.length - plan.deletes.length + plan.creates.length;
        expect(after).toBeLessThanOrEqual(20);
        if (plan.refused.length > 0) expect(after).toBe(20);
      }),
      { numRuns: 300 },
    );
  });

  it("deletes only credentials podid owns that no needed subject uses; reuses only this issuer's credentials", () => {
    fc.assert(
      fc.property(inputArb, ({ neededSubjects, existing }) => {
        const plan = planIdentityCredentials({ issuer: ISSUER, neededSubjects, existing });
        for (const deleted of plan.deletes) {
          expect(isPodidOwnedCredential(deleted, ISSUER)).toBe(true);
          expect(neededSubjects.includes(deleted.subject)).toBe(false);
          expect(existing).toContain(deleted);
        }
        for (const r of plan.reused) expect([r.credential.issuer, r.credential.subject]).toStrictEqual([ISSUER, r.subject]);
        for (const c of plan.creates) expect(isPodidOwnedCredential(c, ISSUER)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("is a fixed point: applying the plan and planning again asks for nothing new", () => {
    fc.assert(
      fc.property(inputArb, ({ neededSubjects, existing }) => {
        const plan = planIdentityCredentials({ issuer: ISSUER, neededSubjects, existing });
        const after = [...existing.filter((c) => !plan.deletes.includes(c)), ...plan.creates];
        const again = planIdentityCredentials({ issuer: ISSUER, neededSubjects, existing: after });
        expect(again.creates).toStrictEqual([]);
        expect(again.deletes).toStrictEqual([]);
        expect(again.refused).toStrictEqual(plan.refused);
      }),
      { numRuns: 200 },
    );
  });
});

describe("planFederatedCredentials", () => {
  it("plans every identity needed or holding credentials; an identity nobody needs loses only its own credentials", () => {
    const [s1, s2] = subjects(2);
    const plans = planFederatedCredentials({
      issuer: ISSUER,
      needed: new Map([["id-a", [s1!]]]),
      existing: new Map([["id-b", [ours(s2!), theirs(s2!, "keep-me", OTHER_ISSUER)]]]),
    });
    expect([...plans.keys()]).toStrictEqual(["id-a", "id-b"]);
    expect(plans.get("id-a")?.creates.map((c) => c.subject)).toStrictEqual([s1]);
    expect(plans.get("id-b")?.deletes).toStrictEqual([ours(s2!)]);
  });
});
