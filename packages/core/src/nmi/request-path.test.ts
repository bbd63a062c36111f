import { posix } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { classifyRequestPath, type RequestRoute } from "./request-path.js";
import { isCanonicalTokenPath, looksLikeTokenPath, TOKEN_PATH } from "./token-path.js";

/** The path part of a target (before the first `?`). */
function pathOf(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

/** Test oracle, written independently of the implementation: what a lenient server could make of a path. */
function lenientServerView(path: string): string {
  let text = path;
  for (let i = 0; i < 4; i += 1) {
    const next = text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === text) break;
    text = next;
  }
  text = text.normalize("NFKC").toLowerCase().replace(/\\/g, "/");
  text = text
    .split("/")
    .map((segment) => segment.split(";")[0] ?? "")
    .join("/");
  return posix.normalize(text).replace(/\/+$/, "");
}

/** One edit applied to a path. */
type Mutation =
  | { readonly op: "flipCase"; readonly at: number }
  | { readonly op: "slashToBackslash"; readonly at: number }
  | { readonly op: "doubleSlash"; readonly at: number }
  | { readonly op: "dotSegment"; readonly at: number }
  | { readonly op: "dotDotSegment"; readonly at: number; readonly name: string }
  | { readonly op: "percentEncode"; readonly at: number; readonly upper: boolean }
  | { readonly op: "homoglyph"; readonly at: number; readonly encoded: boolean }
  | { readonly op: "insertUnicode"; readonly at: number; readonly text: string; readonly encoded: boolean }
  | { readonly op: "insertPunctuation"; readonly at: number; readonly text: string }
  | { readonly op: "matrixParam"; readonly at: number; readonly junk: string }
  | { readonly op: "appendJunk"; readonly junk: string };

const JUNK = fc.string({
  unit: fc.constantFrom("a", "Z", "0", "/", ".", ";", "%", "2", "f", "?", "&", "=", "\\", " ", "#", "~", "-", "_", "\u0000", "é"),
  maxLength: 8,
});

/** Code points that do not fold to ASCII letters or digits under NFKC + lower-casing. */
const UNICODE = fc.constantFrom("é", "\u200b", "\u00a0", "☃", "\u{1F600}", "ß", "\u0301", "\u3000", "\u0000", "\u007f");

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flipCase" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("slashToBackslash" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("doubleSlash" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("dotSegment" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("dotDotSegment" as const), at: fc.nat(), name: fc.constantFrom("x", "token", "..", "metadata") }),
  fc.record({ op: fc.constant("percentEncode" as const), at: fc.nat(), upper: fc.boolean() }),
  fc.record({ op: fc.constant("homoglyph" as const), at: fc.nat(), encoded: fc.boolean() }),
  fc.record({ op: fc.constant("insertUnicode" as const), at: fc.nat(), text: UNICODE, encoded: fc.boolean() }),
  fc.record({ op: fc.constant("insertPunctuation" as const), at: fc.nat(), text: fc.constantFrom("-", "_", "~", ".", "!", "$", "'", "(", "*", ",", ":", "@", "+") }),
  fc.record({ op: fc.constant("matrixParam" as const), at: fc.nat(), junk: fc.stringMatching(/^[a-z0-9=]{0,4}$/) }),
  fc.record({ op: fc.constant("appendJunk" as const), junk: JUNK }),
);

/** Positions of `/` in `path` (at least the leading one). */
function slashes(path: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < path.length; i += 1) if (path[i] === "/") out.push(i);
  return out;
}

/** Percent-encodes the UTF-8 bytes of `text`. */
function encodeAll(text: string, upper = true): string {
  const hex = [...Buffer.from(text, "utf8")].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
  return upper ? hex.toUpperCase() : hex;
}

function applyMutation(path: string, m: Mutation): string {
  const len = path.length;
  const at = "at" in m ? m.at % Math.max(1, len) : 0;
  const slashPositions = slashes(path);
  const slashAt = slashPositions.length > 0 ? (slashPositions[("at" in m ? m.at : 0) % slashPositions.length] ?? 0) : 0;
  switch (m.op) {
    case "flipCase": {
      const c = path[at] ?? "";
      if (!/[a-z]/i.test(c)) return path;
      const flipped = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
      return path.slice(0, at) + flipped + path.slice(at + 1);
    }
    case "slashToBackslash":
      return path.slice(0, slashAt) + "\\" + path.slice(slashAt + 1);
    case "doubleSlash":
      return path.slice(0, slashAt) + "//" + path.slice(slashAt + 1);
    case "dotSegment":
      return path.slice(0, slashAt + 1) + "./" + path.slice(slashAt + 1);
    case "dotDotSegment":
      return path.slice(0, slashAt + 1) + `${m.name}/../` + path.slice(slashAt + 1);
    case "percentEncode": {
      const c = path[at] ?? "";
      return c === "" ? path : path.slice(0, at) + encodeAll(c, m.upper) + path.slice(at + 1);
    }
    case "homoglyph": {
      const c = path[at] ?? "";
      if (!/[a-z0-9]/i.test(c)) return path;
      const full = String.fromCodePoint((c.codePointAt(0) ?? 0) - 0x21 + 0xff01);
      return path.slice(0, at) + (m.encoded ? encodeAll(full) : full) + path.slice(at + 1);
    }
    case "insertUnicode":
      return path.slice(0, at) + (m.encoded ? encodeAll(m.text) : m.text) + path.slice(at);
    case "insertPunctuation":
      return path.slice(0, at) + m.text + path.slice(at);
    case "matrixParam": {
      const next = path.indexOf("/", slashAt + 1);
      const end = next < 0 ? path.length : next;
      return `${path.slice(0, end)};${m.junk}${path.slice(end)}`;
    }
    case "appendJunk":
      return path + m.junk;
  }
}

/**
 * Character insertions first, structural edits after: an insertion landing inside an earlier `x/../` would
 * turn it into an ordinary segment (`x/.-./`), a genuine change of path rather than a disguise.
 */
function ordered(mutations: readonly Mutation[]): Mutation[] {
  const rank = (m: Mutation) => (m.op === "insertUnicode" || m.op === "insertPunctuation" ? 0 : 1);
  return [...mutations].sort((a, b) => rank(a) - rank(b));
}

/** The canonical token path, a case variant of its `/metadata` segment, maybe with a trailing slash. */
const canonicalTokenPathArb = fc
  .tuple(fc.mixedCase(fc.constant("metadata")), fc.boolean())
  .map(([metadata, slash]) => `/${metadata}/identity/oauth2/token${slash ? "/" : ""}`);

const mutatedTokenTargetArb = fc
  .tuple(canonicalTokenPathArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.constantFrom("", "?resource=https%3A%2F%2Fvault.azure.net&api-version=2018-02-01"))
  .map(([base, mutations, query]) => ordered(mutations).reduce(applyMutation, base) + query);

describe("classifyRequestPath: token-path look-alikes", () => {
  it("classifies a mutated token path as token only when its path is exactly canonical, otherwise rejected — never proxy or hostToken", () => {
    fc.assert(
      fc.property(mutatedTokenTargetArb, (target) => {
        const route = classifyRequestPath(target);
        expect(["token", "rejected"]).toContain(route.route);
        if (route.route === "token") expect(isCanonicalTokenPath(pathOf(target))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it("rejects every look-alike whatever the mutation, when the path is not canonical", () => {
    fc.assert(
      fc.property(mutatedTokenTargetArb, (target) => {
        fc.pre(!isCanonicalTokenPath(pathOf(target)));
        expect(classifyRequestPath(target).route).toBe("rejected");
      }),
      { numRuns: 1500 },
    );
  });

  it("never forwards or serves as host token anything a lenient server would read as the token path (independent oracle)", () => {
    const anyTargetArb = fc.oneof(
      mutatedTokenTargetArb,
      fc.string({ unit: "grapheme-ascii", maxLength: 40 }).map((s) => `/${s}`),
      fc.string({ maxLength: 30 }).map((s) => `/metadata/${s}`),
    );
    fc.assert(
      fc.property(anyTargetArb, (target) => {
        const route = classifyRequestPath(target);
        if (route.route === "token") expect(isCanonicalTokenPath(pathOf(target))).toBe(true);
        if (lenientServerView(pathOf(target)).startsWith(TOKEN_PATH)) expect(["token", "rejected"]).toContain(route.route);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps canonical token paths (any case of /metadata, optional trailing slash) on the token route", () => {
    fc.assert(
      fc.property(canonicalTokenPathArb, (path) => {
        expect(classifyRequestPath(`${path}?resource=r`).route).toBe("token");
      }),
      { numRuns: 100 },
    );
  });

  it("never throws on arbitrary input and only routes exact paths to token and hostToken", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (target) => {
        const route = classifyRequestPath(target);
        if (route.route === "token") expect(isCanonicalTokenPath(pathOf(target))).toBe(true);
        if (route.route === "hostToken") expect(["/host/token", "/host/token/"]).toContain(pathOf(target));
        if (route.route === "proxy" || route.route === "instance") {
          expect(route.target).toBe(target);
          expect(looksLikeTokenPath(route.path)).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects host-token look-alikes", () => {
    const hostArb = fc
      .tuple(fc.constantFrom("/host/token", "/host/token/"), fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
      .map(([base, ms]) => ordered(ms).reduce(applyMutation, base));
    fc.assert(
      fc.property(hostArb, (target) => {
        const route = classifyRequestPath(target);
        expect(["hostToken", "rejected"]).toContain(route.route);
        if (route.route === "hostToken") expect(["/host/token", "/host/token/"]).toContain(pathOf(target));
      }),
      { numRuns: 1000 },
    );
  });
});

/** Route name only, for table tests. */
function routeOf(target: string): RequestRoute["route"] {
  return classifyRequestPath(target).route;
}

describe("classifyRequestPath: the original's TestRouterPathPrefix cases", () => {
  // [url, the original's handler, podid's route]
  const cases: readonly (readonly [string, string, RequestRoute["route"]])[] = [
    ["/metadata/identity/oauth2/token/", "token", "token"],
    ["/metadata/identity/oauth2/token", "token", "token"],
    ["/Metadata/identity/oauth2/token/", "token", "token"],
    // The original proxied this to IMDS, trusting IMDS to refuse it; podid rejects it itself.
    ["/metadata/Identity/oauth2/token/", "default", "rejected"],
    ["/host/token/", "hostToken", "hostToken"],
    ["/host/token", "hostToken", "hostToken"],
    ["/metadata/instance", "instance", "instance"],
    ["/Metadata/instance", "instance", "instance"],
    ["/Metadata/instance/", "instance", "instance"],
    ["/metadata/", "default", "proxy"],
    ["/metadata/identity\\oauth2/token/", "invalid", "rejected"],
    ["/metadata/identity/oauth2\\token/", "invalid", "rejected"],
    ["/metadata/identity\\oauth2\\token/", "invalid", "rejected"],
    ["/metadata/identity/\\oauth2\\token/", "invalid", "rejected"],
    ["/metadata/identity\\\\\\oauth2\\\\token/", "invalid", "rejected"],
  ];
  it.each(cases)("%s (original: %s handler) → %s", (url, _original, expected) => {
    expect(routeOf(url)).toBe(expected);
  });
});

describe("classifyRequestPath: documented examples", () => {
  it.each([
    ["/metadata/identity\\oauth2\\token", "backslash"],
    ["/Metadata/Identity/OAuth2/Token", "nonCanonicalTokenPath"],
    ["/metadata/identity/oauth2/token/../token", "dotSegment"],
    ["/metadata/identity/oauth2/token/./", "dotSegment"],
    ["/metadata//identity/oauth2/token", "emptySegment"],
    ["/metadata/identity/oauth2/token//", "emptySegment"],
    ["/metadata/identity/oauth2/%74oken", "nonCanonicalTokenPath"],
    ["/metadata/identity/oauth2%2ftoken", "encodedDelimiter"],
    ["/metadata/identity/oauth2%5Ctoken", "encodedDelimiter"],
    ["/metadata/identity/oauth2/token%2e", "encodedDelimiter"],
    ["/metadata/identity/oauth2/%2574oken", "encodedDelimiter"],
    ["/metadata/identity/oauth2/token%00", "encodedDelimiter"],
    ["/metadata/identity/oauth2/token%zz", "invalidPercentEncoding"],
    ["/metadata/identity/oauth2/token%c3%28", "encodedNonAscii"],
    ["/metadata/identity/oauth2/token;x", "nonCanonicalTokenPath"],
    ["/metadata;x/identity/oauth2/token", "nonCanonicalTokenPath"],
    ["/metadata/identity/oauth2/tokenX", "nonCanonicalTokenPath"],
    ["/metadata/identity/oauth2/token/extra", "nonCanonicalTokenPath"],
    ["/metadata/identity/oauth2/t%EF%BD%8Fken", "encodedNonAscii"],
    ["/metadata/ide%CC%81ntity/o%C3%A9auth2/token", "encodedNonAscii"],
    ["/caf%C3%A9", "encodedNonAscii"],
    ["/metadata/identity/oauth2/token\u0000", "invalidCharacter"],
    ["/metadata/identity/oauth2/tökén", "invalidCharacter"],
    ["/metadata/identity/oauth2/token#frag", "invalidCharacter"],
    ["/metadata/identity/oauth2/token?resource=a b", "invalidCharacter"],
    ["http://169.254.169.254/metadata/identity/oauth2/token", "notOriginForm"],
    ["169.254.169.254:80", "notOriginForm"],
    ["*", "notOriginForm"],
    ["", "notOriginForm"],
    ["/metadata/identity/oauth2/token?resource=%zz", "malformedQuery"],
    ["/HOST/TOKEN", "nonCanonicalHostTokenPath"],
    ["/host/token/x", "nonCanonicalHostTokenPath"],
    ["/host/%74oken", "nonCanonicalHostTokenPath"],
    ["/metadata/instance/../identity", "dotSegment"],
    ["/metadata/identity/oauth2/token%20", "encodedDelimiter"],
    ["/x/..;/metadata/identity/oauth2/token", "dotSegment"],
    ["/metadata/identity/oauth2/..;/..;/token", "dotSegment"],
  ])("%j is rejected (%s)", (target, reason) => {
    expect(classifyRequestPath(target)).toEqual({ route: "rejected", reason });
  });

  it("parses the query of token requests, keeping repeated keys for the token rules to refuse", () => {
    const route = classifyRequestPath("/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&client_id=a&client_id=b");
    expect(route.route).toBe("token");
    if (route.route !== "token") return;
    expect(route.query.get("resource")).toEqual(["https://vault.azure.net"]);
    expect(route.query.get("client_id")).toEqual(["a", "b"]);
  });

  it("routes instance metadata case-insensitively, also when encoded, and proxies the rest unchanged", () => {
    expect(classifyRequestPath("/METADATA/INSTANCE/compute?api-version=2021-02-01")).toEqual({
      route: "instance",
      path: "/METADATA/INSTANCE/compute",
      target: "/METADATA/INSTANCE/compute?api-version=2021-02-01",
    });
    expect(routeOf("/metadata/%69nstance")).toBe("instance");
    expect(classifyRequestPath("/doesnotexist?x=%zz")).toEqual({ route: "proxy", path: "/doesnotexist", target: "/doesnotexist?x=%zz" });
    expect(routeOf("/metadata/identity/info")).toBe("proxy");
    expect(routeOf("/")).toBe("proxy");
  });
});
