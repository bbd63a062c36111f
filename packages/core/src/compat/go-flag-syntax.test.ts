import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normaliseGoStyleArgs, parseGoBool } from "./go-flag-syntax.js";

const flagName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{1,20}$/);

describe("Go flag syntax", () => {
  it("gives single-dash long flags their second dash and leaves everything else alone", () => {
    fc.assert(
      fc.property(flagName, fc.option(fc.string(), { nil: undefined }), (name, value) => {
        const arg = value === undefined ? `-${name}` : `-${name}=${value}`;
        expect(normaliseGoStyleArgs([arg])).toEqual([`-${arg}`]);
        expect(normaliseGoStyleArgs([`-${arg}`])).toEqual([`-${arg}`]);
        expect(normaliseGoStyleArgs(["--", arg])).toEqual(["--", arg]);
      }),
    );
    expect(normaliseGoStyleArgs(["-v", "4", "-v=4", "value", "-"])).toEqual(["-v", "4", "--v=4", "value", "-"]);
  });

  it("reads Go's boolean spellings and nothing else", () => {
    for (const t of ["1", "t", "T", "TRUE", "true", "True"]) expect(parseGoBool(t)).toBe(true);
    for (const f of ["0", "f", "F", "FALSE", "false", "False"]) expect(parseGoBool(f)).toBe(false);
    for (const other of ["yes", "tRUE", "", " true"]) expect(parseGoBool(other)).toBeUndefined();
  });
});
