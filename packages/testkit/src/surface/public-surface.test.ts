import { describe, expect, it } from "vitest";
import { publicSurfaceOf } from "./public-surface.js";

describe("publicSurfaceOf", () => {
  it("lists the runtime exports sorted", () => {
    expect(publicSurfaceOf("", { zeta: 1, Alpha: 2, beta: 3 }).values).toEqual(["Alpha", "beta", "zeta"]);
  });

  it("reads type names from `export type { … }` and `type X` entries of `export { … }`", () => {
    const source = [
      'export type { Beta, Alpha } from "./a.js";',
      "export {",
      "  makeThing,",
      "  type Thing,",
      "  type Internal as Gamma,",
      '} from "./b.js";',
      'export type { Original as Delta } from "./c.js";',
      'export { value } from "./d.js";',
    ].join("\n");
    expect(publicSurfaceOf(source, {}).types).toEqual(["Alpha", "Beta", "Delta", "Gamma", "Thing"]);
  });

  it("ignores exports inside comments and keeps `//` inside strings", () => {
    const source = [
      "/** An example: export type { NotReal } from \"./x.js\"; */",
      '// export type { AlsoNotReal } from "./y.js";',
      'export type { Real } from "./z.js"; // trailing comment with export * from "./w.js"',
      'export { url } from "http://example/mod.js";',
    ].join("\n");
    expect(publicSurfaceOf(source, {})).toEqual({ values: [], types: ["Real"], wildcardExports: [] });
  });

  it("reports every `export *` and `export type *`", () => {
    const source = ['export * from "./a.js";', 'export type * from "./b.js";', 'export * as ns from "./c.js";', 'export { x } from "./d.js";'].join("\n");
    expect(publicSurfaceOf(source, { x: 1 }).wildcardExports).toEqual([
      'export * from "./a.js";',
      'export type * from "./b.js";',
      'export * as ns from "./c.js";',
    ]);
  });
});
