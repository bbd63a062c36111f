import { isIPv6 } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { HttpHeaders } from "./headers.js";
import { parseHostTokenRequest } from "./host-token-request.js";
import type { QueryParams } from "./query.js";
import { parseQuery } from "./query.js";
import { checkForwardedHeaders, checkMetadataHeader } from "./request-headers.js";
import { parseTokenRequest } from "./token-request.js";

function query(raw: string): QueryParams {
  const parsed = parseQuery(raw);
  if (!parsed.ok) throw new Error(`bad test query ${raw}`);
  return parsed.value;
}

const required = { metadataHeaderRequired: true };
const META = { Metadata: "true" };

/** Every case spelling of a header name. */
const nameCaseArb = (name: string) => fc.mixedCase(fc.constant(name));

describe("Metadata header rule", () => {
  it("accepts exactly one header named Metadata in any case whose value is exactly 'true'", () => {
    fc.assert(
      fc.property(nameCaseArb("metadata"), (name) => {
        expect(checkMetadataHeader({ [name]: "true" }, required).ok).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it("refuses any other value, a repeated header, or no header, unless not required", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }).filter((v) => v !== "true"), (value) => {
        expect(checkMetadataHeader({ metadata: value }, required)).toEqual({ ok: false, error: { kind: "metadataHeaderMissing" } });
        expect(checkMetadataHeader({ metadata: value }, { metadataHeaderRequired: false }).ok).toBe(true);
      }),
      { numRuns: 200 },
    );
    expect(checkMetadataHeader({ metadata: ["true", "true"] }, required).ok).toBe(false);
    expect(checkMetadataHeader({ Metadata: "true", metadata: "true" }, required).ok).toBe(false);
    expect(checkMetadataHeader({ metadata: "True" }, required).ok).toBe(false);
    expect(checkMetadataHeader({}, required).ok).toBe(false);
  });

  it("runs before the resource check, as in the original (e): no header and no resource → metadata error", () => {
    const rawQueries = fc.constantFrom("", "resource=", "api-version=2018-02-01", "client_id=a&object_id=b", "resource=a&resource=b");
    fc.assert(
      fc.property(rawQueries, fc.option(fc.constantFrom("false", "", "TRUE"), { nil: undefined }), (raw, value) => {
        const headers: HttpHeaders = value === undefined ? {} : { Metadata: value };
        expect(parseTokenRequest(query(raw), headers, required)).toEqual({ ok: false, error: { kind: "metadataHeaderMissing" } });
      }),
      { numRuns: 100 },
    );
    expect(parseTokenRequest(query(""), META, required)).toEqual({ ok: false, error: { kind: "missingResource" } });
  });
});

describe("forwarding headers", () => {
  it("refuses X-Forwarded-For and Forwarded in any case, with any value", () => {
    fc.assert(
      fc.property(fc.constantFrom("x-forwarded-for", "forwarded"), fc.string({ maxLength: 8 }), (header, value) => {
        const result = parseTokenRequest(query("resource=r"), { ...META, [header.toUpperCase()]: value }, required);
        expect(result.ok).toBe(false);
        expect(!result.ok && result.error.kind).toBe("forwardedHeader");
      }),
      { numRuns: 100 },
    );
    expect(checkForwardedHeaders({ "x-forwarded-host": "a" }).ok).toBe(true);
  });
});

describe("parseTokenRequest parameters", () => {
  it("reads resource, one selector and api-version", () => {
    expect(parseTokenRequest(query("api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"), META, required)).toEqual({
      ok: true,
      value: { resource: "https://vault.azure.net", apiVersion: "2018-02-01" },
    });
    expect(parseTokenRequest(query("resource=r&client_id=abc"), META, required)).toEqual({
      ok: true,
      value: { resource: "r", selector: { by: "client_id", value: "abc" } },
    });
    expect(parseTokenRequest(query("resource=r&msi_res_id=%2Fsubscriptions%2Fs"), META, required)).toEqual({
      ok: true,
      value: { resource: "r", selector: { by: "msi_res_id", value: "/subscriptions/s" } },
    });
    // mi_res_id is the fallback name (PR #1401).
    expect(parseTokenRequest(query("resource=r&mi_res_id=%2Fx"), META, required)).toEqual({
      ok: true,
      value: { resource: "r", selector: { by: "msi_res_id", value: "/x" } },
    });
    expect(parseTokenRequest(query("resource=r&object_id=o"), META, required)).toEqual({
      ok: true,
      value: { resource: "r", selector: { by: "object_id", value: "o" } },
    });
    // Empty selectors count as absent; unknown parameters are ignored.
    expect(parseTokenRequest(query("resource=r&client_id=&principal_id=p&bypass_cache=true"), META, required)).toEqual({
      ok: true,
      value: { resource: "r" },
    });
  });

  it("refuses more than one selector, like IMDS", () => {
    const selectorKeys = fc.subarray(["client_id", "object_id", "msi_res_id"], { minLength: 2 });
    fc.assert(
      fc.property(selectorKeys, fc.array(fc.stringMatching(/^[a-z0-9-]{1,8}$/), { minLength: 3, maxLength: 3 }), (keys, values) => {
        const raw = ["resource=r", ...keys.map((k, i) => `${k}=${values[i] ?? "v"}`)].join("&");
        const result = parseTokenRequest(query(raw), META, required);
        expect(result).toEqual({ ok: false, error: { kind: "multipleSelectors", names: expect.any(Array) } });
      }),
      { numRuns: 100 },
    );
    expect(parseTokenRequest(query("resource=r&msi_res_id=a&mi_res_id=b"), META, required).ok).toBe(false);
    // The same id under both names is one selector.
    expect(parseTokenRequest(query("resource=r&msi_res_id=A&mi_res_id=a"), META, required)).toEqual({
      ok: true,
      value: { resource: "r", selector: { by: "msi_res_id", value: "A" } },
    });
  });

  it("refuses repeated identity/resource keys and case variants of them", () => {
    const keys = fc.constantFrom("resource", "client_id", "msi_res_id", "mi_res_id", "object_id");
    fc.assert(
      fc.property(keys, (key) => {
        const raw = key === "resource" ? "resource=a&resource=a" : `resource=r&${key}=a&${key}=b`;
        expect(parseTokenRequest(query(raw), META, required)).toEqual({ ok: false, error: { kind: "repeatedParameter", name: key } });
      }),
      { numRuns: 20 },
    );
    fc.assert(
      fc.property(keys.chain((k) => fc.mixedCase(fc.constant(k))).filter((k) => k !== k.toLowerCase()), (variant) => {
        const result = parseTokenRequest(query(`resource=r&${variant}=x`), META, required);
        expect(result).toEqual({ ok: false, error: { kind: "nonCanonicalParameter", name: variant, expected: variant.toLowerCase() } });
      }),
      { numRuns: 100 },
    );
  });

  it("requires a non-blank resource", () => {
    for (const raw of ["", "resource=", "resource=+++", "client_id=a"]) {
      expect(parseTokenRequest(query(raw), META, required)).toEqual({ ok: false, error: { kind: "missingResource" } });
    }
  });
});

describe("parseHostTokenRequest", () => {
  const podHeaders = { podns: "team-a", podname: "web-0" };

  it("checks pod headers, then the host address, then the query (original order)", () => {
    expect(parseHostTokenRequest(query(""), {}, "10.0.0.1")).toEqual({ ok: false, error: { kind: "missingPodHeaders" } });
    expect(parseHostTokenRequest(query(""), { podns: "a" }, "127.0.0.1")).toEqual({ ok: false, error: { kind: "missingPodHeaders" } });
    expect(parseHostTokenRequest(query(""), podHeaders, "10.0.0.1")).toEqual({
      ok: false,
      error: { kind: "notFromHost", remoteAddress: "10.0.0.1" },
    });
    expect(parseHostTokenRequest(query(""), podHeaders, "127.0.0.1")).toEqual({ ok: false, error: { kind: "missingResource" } });
    expect(parseHostTokenRequest(query("resource=r&client_id=c"), { PodNS: "team-a", PODNAME: "web-0" }, "::ffff:127.0.0.1")).toEqual({
      ok: true,
      value: { resource: "r", selector: { by: "client_id", value: "c" }, podNamespace: "team-a", podName: "web-0" },
    });
  });

  it("accepts only 127.0.0.1 as the caller, whatever else the address is", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 6 })), (address) => {
        const result = parseHostTokenRequest(query("resource=r"), podHeaders, address);
        // Independent oracle: the WHATWG URL parser's canonical IPv6 text.
        const isHost = address === "127.0.0.1" || (isIPv6(address) && new URL(`http://[${address}]/`).hostname === "[::ffff:7f00:1]");
        expect(result.ok).toBe(isHost);
      }),
      { numRuns: 500 },
    );
  });
});
