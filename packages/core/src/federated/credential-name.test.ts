import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FEDERATED_CREDENTIAL_NAME_PATTERN, federatedCredentialName } from "./credential-name.js";
import { fnv1a64Hex } from "./fnv1a64.js";
import { isPodidOwnedCredential } from "./ownership.js";
import { parseServiceAccountSubject, serviceAccountSubject } from "./service-account-subject.js";

const ISSUER = "https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/";
const nameArb = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,70}[a-z0-9])?$/);

describe("fnv1a64Hex", () => {
  it("matches the published FNV-1a 64-bit test vectors", () => {
    expect(fnv1a64Hex("")).toBe("cbf29ce484222325");
    expect(fnv1a64Hex("a")).toBe("af63dc4c8601ec8c");
    expect(fnv1a64Hex("foobar")).toBe("85944171f73967e8");
  });

  it("hashes UTF-8 bytes (a non-ASCII character is not its UTF-16 code unit)", () => {
    expect(fnv1a64Hex("é")).not.toBe(fnv1a64Hex("\u00e9".normalize("NFD")));
    expect(fnv1a64Hex("é")).toHaveLength(16);
  });

  it("is always 16 lower-case hex digits", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => {
      expect(fnv1a64Hex(s)).toMatch(/^[0-9a-f]{16}$/);
    }), { numRuns: 300 });
  });
});

describe("serviceAccountSubject", () => {
  it("is the subject kube-apiserver writes into service-account tokens", () => {
    expect(serviceAccountSubject("team-a", "web")).toBe("system:serviceaccount:team-a:web");
  });

  it("parses back exactly what it formats, and nothing else", () => {
    fc.assert(
      fc.property(nameArb, nameArb, (ns, sa) => {
        expect(parseServiceAccountSubject(serviceAccountSubject(ns, sa))).toStrictEqual({ namespace: ns, serviceAccount: sa });
      }),
      { numRuns: 200 },
    );
    for (const other of ["system:serviceaccount:ns", "system:serviceaccount::sa", "system:serviceaccount:ns:", "user:x:y", "system:serviceaccount:a:b:c"]) {
      expect(parseServiceAccountSubject(other)).toBeUndefined();
    }
  });
});

describe("federatedCredentialName (docs/adr/0021-federated-identities.md)", () => {
  it("is podid-<ns>-<sa>-<FNV-1a of issuer and subject>", () => {
    const subject = serviceAccountSubject("team-a", "web");
    expect(federatedCredentialName(ISSUER, subject)).toBe(`podid-team-a-web-${fnv1a64Hex(`${ISSUER}\n${subject}`)}`);
    expect(federatedCredentialName(ISSUER, serviceAccountSubject("team-a", "batch.runner"))).toMatch(/^podid-team-a-batch-runner-[0-9a-f]{16}$/);
  });

  it("always satisfies Entra ID's name rule, for any issuer and subject", () => {
    fc.assert(
      fc.property(fc.string(), fc.oneof(fc.string({ unit: "grapheme", maxLength: 300 }), fc.tuple(nameArb, nameArb).map(([n, s]) => serviceAccountSubject(n, s))), (issuer, subject) => {
        const name = federatedCredentialName(issuer, subject);
        expect(name).toMatch(FEDERATED_CREDENTIAL_NAME_PATTERN);
        expect(name.length).toBeLessThanOrEqual(113);
      }),
      { numRuns: 300 },
    );
  });

  it("differs for different issuers or subjects, even when the readable part is cut off", () => {
    const long = "n".repeat(63);
    const a = federatedCredentialName(ISSUER, serviceAccountSubject(long, `${long}-a`));
    const b = federatedCredentialName(ISSUER, serviceAccountSubject(long, `${long}-b`));
    expect(a.slice(0, -17)).toBe(b.slice(0, -17));
    expect(a).not.toBe(b);
    fc.assert(
      fc.property(fc.string(), fc.string(), nameArb, nameArb, (i1, i2, ns, sa) => {
        fc.pre(i1 !== i2);
        const subject = serviceAccountSubject(ns, sa);
        expect(federatedCredentialName(i1, subject)).not.toBe(federatedCredentialName(i2, subject));
      }),
      { numRuns: 200 },
    );
  });
});

describe("isPodidOwnedCredential", () => {
  const credential = (issuer: string, subject: string, name = federatedCredentialName(issuer, subject)) => ({
    name,
    issuer,
    subject,
    audiences: ["api://AzureADTokenExchange"],
  });

  it("owns exactly the credentials whose name podid computes from their issuer and subject, for its own issuer", () => {
    fc.assert(
      fc.property(nameArb, nameArb, fc.string({ minLength: 1 }), (ns, sa, otherIssuer) => {
        fc.pre(otherIssuer !== ISSUER);
        const subject = serviceAccountSubject(ns, sa);
        expect(isPodidOwnedCredential(credential(ISSUER, subject), ISSUER)).toBe(true);
        // Another cluster's podid wrote it for its own issuer: not ours to delete.
        expect(isPodidOwnedCredential(credential(otherIssuer, subject), ISSUER)).toBe(false);
        // Someone else's name for the same trust: reused, never deleted.
        expect(isPodidOwnedCredential(credential(ISSUER, subject, `my-${sa}`), ISSUER)).toBe(false);
        // A podid-looking name that does not hash what the credential trusts.
        const foreign = credential(ISSUER, subject, federatedCredentialName(ISSUER, serviceAccountSubject(ns, `${sa}x`)));
        expect(isPodidOwnedCredential(foreign, ISSUER)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
