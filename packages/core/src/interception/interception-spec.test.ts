import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { InterceptionSpec } from "../ports/netfilter.port.js";
import {
  DEFAULT_INTERCEPTION_SPEC,
  MAX_INTERCEPTION_CHAIN_LENGTH,
  describeInterceptionSpecError,
  guardChainName,
  isLoopbackIpv4,
  validateInterceptionSpec,
} from "./interception-spec.js";

const chainName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,21}$/);
const validSpec: fc.Arbitrary<InterceptionSpec> = fc
  .record({
    chain: chainName,
    metadataAddress: fc.ipV4(),
    metadataPort: fc.integer({ min: 1, max: 65535 }),
    targetAddress: fc.ipV4(),
    targetPort: fc.integer({ min: 1, max: 65535 }),
  })
  .filter((spec) => !/^(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING|ACCEPT|DROP|REJECT|RETURN|QUEUE|DNAT|SNAT|MASQUERADE|REDIRECT|LOG|MARK)$/i.test(spec.chain));

describe("validateInterceptionSpec", () => {
  it("accepts the original's defaults", () => {
    expect(validateInterceptionSpec(DEFAULT_INTERCEPTION_SPEC)).toEqual({ ok: true, value: DEFAULT_INTERCEPTION_SPEC });
    expect(guardChainName(DEFAULT_INTERCEPTION_SPEC)).toBe("aad-metadata-guard");
  });

  it("accepts every well-formed spec, and its guard chain name fits the kernel's 28 characters", () => {
    fc.assert(
      fc.property(validSpec, (spec) => {
        expect(validateInterceptionSpec(spec).ok).toBe(true);
        expect(guardChainName(spec).length).toBeLessThanOrEqual(28);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses chain names that could break a restore script or hit built-in chains", () => {
    const bad = fc.oneof(
      fc.constant(""),
      fc.constantFrom("PREROUTING", "input", "ACCEPT", "-j", "!x", "a b", 'a"b', "a\nb", "x".repeat(MAX_INTERCEPTION_CHAIN_LENGTH + 1)),
      fc.tuple(chainName, fc.constantFrom(" ", '"', "\\", "\n", "*", ":", "#", "'"), chainName).map(([a, c, b]) => `${a}${c}${b}`),
    );
    fc.assert(
      fc.property(bad, (chain) => {
        const result = validateInterceptionSpec({ ...DEFAULT_INTERCEPTION_SPEC, chain });
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect(result.error.kind).toBe("invalidChain");
          expect(describeInterceptionSpecError(result.error)).toContain("invalid chain name");
        }
      }),
      { numRuns: 200 },
    );
  });

  it("refuses non-canonical or non-IPv4 addresses and out-of-range ports", () => {
    for (const address of ["169.254.169.254/32", "::1", "010.0.0.1", "1.2.3", "localhost", "1.2.3.4 ", ""]) {
      const result = validateInterceptionSpec({ ...DEFAULT_INTERCEPTION_SPEC, targetAddress: address });
      expect(result.ok ? undefined : result.error.kind, address).toBe("invalidAddress");
    }
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 65536 }), fc.double({ min: 1, max: 65535, noInteger: true })), (port) => {
        const result = validateInterceptionSpec({ ...DEFAULT_INTERCEPTION_SPEC, metadataPort: port });
        expect(result.ok ? undefined : result.error.kind).toBe("invalidPort");
      }),
      { numRuns: 100 },
    );
  });
});

describe("isLoopbackIpv4", () => {
  it("is true exactly for 127.0.0.0/8", () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(isLoopbackIpv4(ip)).toBe(ip.startsWith("127."));
      }),
      { numRuns: 300 },
    );
    expect(isLoopbackIpv4("::1")).toBe(false);
  });
});
