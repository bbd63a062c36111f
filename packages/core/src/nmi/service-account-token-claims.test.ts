import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkServiceAccountTokenClaims } from "./service-account-token-claims.js";

const NOW_MS = 1_800_000_000_000;
const EXPECTED = { podUid: "uid-1", namespace: "team-a", serviceAccountName: "app" };

/** Claims as a real API server writes them for a projected token of `EXPECTED`'s pod. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    aud: ["api://AzureADTokenExchange"],
    exp: NOW_MS / 1000 + 3600,
    iat: NOW_MS / 1000 - 60,
    iss: "https://oidc.example/cluster",
    nbf: NOW_MS / 1000 - 60,
    sub: "system:serviceaccount:team-a:app",
    "kubernetes.io": { namespace: "team-a", pod: { name: "app-0", uid: "uid-1" }, serviceaccount: { name: "app", uid: "sa-uid" } },
    ...overrides,
  };
}

describe("checkServiceAccountTokenClaims", () => {
  it("accepts the calling pod's own token and reports its expiry", () => {
    expect(checkServiceAccountTokenClaims(claims(), EXPECTED, NOW_MS)).toEqual({ ok: true, value: { expiresAtMs: NOW_MS + 3_600_000 } });
    expect(checkServiceAccountTokenClaims(claims({ aud: "api://AzureADTokenExchange" }), EXPECTED, NOW_MS).ok).toBe(true);
  });

  it("names the first claim that is not the pod's", () => {
    const mismatch = (o: Record<string, unknown>) => {
      const r = checkServiceAccountTokenClaims(claims(o), EXPECTED, NOW_MS);
      return r.ok ? "ok" : r.error.kind === "mismatch" ? r.error.claim : r.error.kind;
    };
    expect(mismatch({ sub: "system:serviceaccount:team-a:other" })).toBe("sub");
    expect(mismatch({ sub: "system:serviceaccount:team-b:app" })).toBe("sub");
    expect(mismatch({ "kubernetes.io": { pod: { uid: "uid-2" } } })).toBe("podUid");
    expect(mismatch({ "kubernetes.io": undefined })).toBe("podUid");
    expect(mismatch({ aud: ["https://kubernetes.default.svc"] })).toBe("aud");
    expect(mismatch({ aud: "API://AzureADTokenExchange" })).toBe("aud");
    expect(mismatch({ exp: "9999999999" })).toBe("exp");
    expect(mismatch({ exp: NOW_MS / 1000 })).toBe("expired");
    expect(checkServiceAccountTokenClaims("x", EXPECTED, NOW_MS)).toMatchObject({ ok: false, error: { kind: "unreadable" } });
  });

  it("accepts exactly when sub, pod uid and audience are the pod's and exp is later than now", () => {
    const pick = <T>(...values: T[]) => fc.constantFrom(...values);
    fc.assert(
      fc.property(
        pick("system:serviceaccount:team-a:app", "system:serviceaccount:team-a:app2", "system:serviceaccount:team-a", "", undefined),
        pick("uid-1", "uid-2", "", undefined),
        pick<unknown>(["api://AzureADTokenExchange"], ["x", "api://AzureADTokenExchange"], "api://AzureADTokenExchange", ["x"], [], undefined),
        fc.integer({ min: -10_000, max: 10_000 }),
        (sub, uid, aud, expOffsetSeconds) => {
          const exp = NOW_MS / 1000 + expOffsetSeconds;
          const payload = { sub, aud, exp, "kubernetes.io": { pod: { uid } } };
          const accepted = checkServiceAccountTokenClaims(payload, EXPECTED, NOW_MS).ok;
          const audOk = aud === "api://AzureADTokenExchange" || (Array.isArray(aud) && aud.includes("api://AzureADTokenExchange"));
          expect(accepted).toBe(sub === "system:serviceaccount:team-a:app" && uid === "uid-1" && audOk && expOffsetSeconds > 0);
        },
      ),
    );
  });
});
