import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { exitCodeOf, failure, INIT_SUCCESS, notSupported, sanitiseMessage } from "./flex-status.js";

describe("FlexVolume status", () => {
  it("init answers Success without attach", () => {
    expect(JSON.stringify(INIT_SUCCESS)).toBe(`{"status":"Success","capabilities":{"attach":false}}`);
    expect(exitCodeOf(INIT_SUCCESS)).toBe(0);
  });

  it("Failure and Not supported exit 1", () => {
    expect(exitCodeOf(failure("x"))).toBe(1);
    expect(exitCodeOf(notSupported("x"))).toBe(1);
  });

  it("keeps a message on one line without backslashes", () => {
    expect(sanitiseMessage(`C:\\path "quoted"\r\nsecond\tline`)).toBe(`C:path 'quoted' second line`);
  });

  it("property: any message prints as JSON with no backslash, carriage return or newline", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (message) => {
        const printed = JSON.stringify(failure(message));
        expect(printed).not.toMatch(/[\\\r\n]/);
        expect(JSON.parse(printed).status).toBe("Failure");
      }),
    );
  });
});
