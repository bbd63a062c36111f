import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EMPTY_QUARANTINE, IdentityQuarantine, isQuarantined, quarantineIdentities, releaseIdentities } from "./quarantine.js";

const policy = { initialMs: 1_000, maxMs: 8_000 };

describe("quarantine", () => {
  it("holds an identity until its period ends, with doubling periods capped at maxMs", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.nat(1_000_000), (strikes, start) => {
        let state = EMPTY_QUARANTINE;
        let now = start;
        for (let i = 0; i < strikes; i++) {
          state = quarantineIdentities(state, ["/X"], "forbidden", "no", now, policy);
          now += 1;
        }
        const entry = state.get("/x");
        expect(entry?.strikes).toBe(strikes);
        const period = Math.min(policy.maxMs, policy.initialMs * 2 ** (strikes - 1));
        expect(entry?.untilMs).toBe(now - 1 + period);
        expect(isQuarantined(state, "/X", now - 1 + period - 1)).toBe(true);
        expect(isQuarantined(state, "/x", now - 1 + period)).toBe(false);
      }),
    );
  });

  it("release forgets identities, case-insensitively, and leaves others alone", () => {
    let state = quarantineIdentities(EMPTY_QUARANTINE, ["/a", "/b"], "invalid", "gone", 0, policy);
    state = releaseIdentities(state, ["/A"]);
    expect(isQuarantined(state, "/a", 1)).toBe(false);
    expect(isQuarantined(state, "/b", 1)).toBe(true);
    expect(releaseIdentities(state, ["/zzz"])).toBe(state);
  });

  it("IdentityQuarantine holds one state that refusals and releases change in place, leaving earlier snapshots alone", () => {
    const book = new IdentityQuarantine(EMPTY_QUARANTINE, policy);
    book.refuse(["/A"], "forbidden", "no", 0);
    const snapshot = book.state;
    book.refuse(["/a", "/b"], "invalid", "gone", 10);
    expect(book.state.get("/a")).toMatchObject({ strikes: 2, sinceMs: 0, untilMs: 10 + 2_000, reason: "invalid" });
    expect(isQuarantined(book.state, "/b", 10)).toBe(true);
    expect(snapshot.get("/a")?.strikes).toBe(1); // what a plan already read does not change under it
    book.release(["/A"]);
    expect([...book.state.keys()]).toEqual(["/b"]);
  });
});
