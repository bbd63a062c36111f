import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_INTERCEPTION_SPEC } from "./interception-spec.js";
import { dnatRule, guardRule, jumpRule, returnRule } from "./desired-rules.js";
import {
  canonicalRuleArgs,
  iptablesRule,
  quoteIptablesToken,
  ruleTarget,
  ruleText,
  sameRule,
  tokenizeIptablesLine,
} from "./iptables-rule.js";

describe("tokenizeIptablesLine / quoteIptablesToken", () => {
  it("round-trips any token list through quoting", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 12, unit: "binary-ascii" }).filter((s) => !/[\r\n]/.test(s)), { maxLength: 8 }), (tokens) => {
        const line = tokens.map(quoteIptablesToken).join(" ");
        expect(tokenizeIptablesLine(line)).toEqual({ ok: true, value: tokens });
      }),
      { numRuns: 300 },
    );
  });

  it("reads iptables-save's quoted comments and refuses an unterminated quote", () => {
    expect(tokenizeIptablesLine('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')).toEqual({
      ok: true,
      value: ["-A", "PREROUTING", "-m", "comment", "--comment", "kubernetes service portals", "-j", "KUBE-SERVICES"],
    });
    expect(tokenizeIptablesLine('-A X --comment "a \\"b\\" \\\\ c"').ok && tokenizeIptablesLine('-A X --comment "a \\"b\\" \\\\ c"')).toEqual({
      ok: true,
      value: ["-A", "X", "--comment", 'a "b" \\ c'],
    });
    expect(tokenizeIptablesLine('-A X --comment "open').ok).toBe(false);
  });
});

describe("canonicalRuleArgs", () => {
  const generic = fc.record({
    s: fc.option(fc.tuple(fc.boolean(), fc.ipV4()), { nil: undefined }),
    d: fc.option(fc.tuple(fc.boolean(), fc.ipV4()), { nil: undefined }),
    i: fc.option(fc.tuple(fc.boolean(), fc.constantFrom("lo", "eth0", "cni0", "vp1")), { nil: undefined }),
    p: fc.option(fc.tuple(fc.boolean(), fc.constantFrom("tcp", "udp", "TCP")), { nil: undefined }),
  });
  const tail = fc.constantFrom<readonly string[]>(["-j", "ACCEPT"], ["-m", "tcp", "--dport", "80", "-j", "RETURN"], ["-m", "comment", "--comment", "x y", "-j", "DROP"], []);

  it("gives one canonical form whatever the order and spelling of the generic options", () => {
    const longNames: Record<string, string> = { "-s": "--source", "-d": "--destination", "-i": "--in-interface", "-p": "--protocol" };
    fc.assert(
      fc.property(generic, tail, fc.boolean(), fc.nat(), (g, rest, useLong, seed) => {
        const parts: string[][] = [];
        for (const [key, value] of Object.entries(g)) {
          if (value === undefined) continue;
          const [negated, text] = value;
          const option = useLong ? (longNames[`-${key}`] ?? `-${key}`) : `-${key}`;
          parts.push([...(negated ? ["!"] : []), option, text]);
        }
        const shuffled = parts.map((p, i) => ({ p, k: (i * 7919 + seed) % 101 })).sort((a, b) => a.k - b.k).map((x) => x.p);
        const a = canonicalRuleArgs([...parts.flat(), ...rest]);
        const b = canonicalRuleArgs([...shuffled.flat(), ...rest]);
        expect(a).toEqual(b);
        expect(a.ok).toBe(true);
        if (a.ok) {
          // Idempotent, bare hosts gain /32, protocols are lower case.
          expect(canonicalRuleArgs(a.value)).toEqual(a);
          if (g.s !== undefined) expect(a.value).toContain(`${g.s[1]}/32`);
          expect(a.value).not.toContain("TCP");
        }
      }),
      { numRuns: 300 },
    );
  });

  it("leaves podid's own rules exactly as iptables -S prints them", () => {
    for (const rule of [dnatRule(DEFAULT_INTERCEPTION_SPEC), guardRule(DEFAULT_INTERCEPTION_SPEC), returnRule("aad-metadata"), jumpRule("PREROUTING", "aad-metadata")]) {
      expect(canonicalRuleArgs(rule.args)).toEqual({ ok: true, value: rule.args });
    }
    expect(ruleText(dnatRule(DEFAULT_INTERCEPTION_SPEC))).toBe(
      "-A aad-metadata ! -s 127.0.0.1/32 -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 127.0.0.1:2579",
    );
    expect(ruleText(guardRule(DEFAULT_INTERCEPTION_SPEC))).toBe(
      "-A aad-metadata-guard -d 169.254.169.254/32 ! -i lo -p tcp -m tcp --dport 80 -j REJECT --reject-with tcp-reset",
    );
    // The brief's order (`! -i lo -d …`) is the same rule.
    const typed = iptablesRule("aad-metadata-guard", ["!", "-i", "lo", "-d", "169.254.169.254", "--protocol", "tcp", "-m", "tcp", "--dport", "80", "--jump", "REJECT", "--reject-with", "tcp-reset"]);
    expect(typed.ok && sameRule(typed.value, guardRule(DEFAULT_INTERCEPTION_SPEC))).toBe(true);
  });

  it("refuses repeated generic options, a dangling value and a stray negation", () => {
    expect(canonicalRuleArgs(["-s", "1.1.1.1", "--source", "2.2.2.2"]).ok).toBe(false);
    expect(canonicalRuleArgs(["-d"]).ok).toBe(false);
    expect(canonicalRuleArgs(["!", "-m", "tcp"]).ok).toBe(false);
  });
});

describe("ruleTarget", () => {
  it("names the jump or goto target", () => {
    expect(ruleTarget(dnatRule(DEFAULT_INTERCEPTION_SPEC))).toBe("DNAT");
    expect(ruleTarget({ chain: "X", args: ["-g", "Y"] })).toBe("Y");
    expect(ruleTarget({ chain: "X", args: ["-m", "comment", "--comment", "-j"] })).toBeUndefined();
  });
});
