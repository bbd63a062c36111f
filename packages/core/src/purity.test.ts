import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const srcDir = new URL(".", import.meta.url).pathname;
const packageJson = JSON.parse(readFileSync(join(srcDir, "..", "package.json"), "utf8")) as Record<string, unknown>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

// Strip comments and string contents so prose like "no node: imports" does not count.
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");

describe("@podid/core stays pure", () => {
  it("declares no runtime dependencies", () => {
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "bundleDependencies"]) {
      expect(packageJson[field] ?? {}, field).toEqual({});
    }
  });

  it("imports nothing but its own modules (no node:, no packages)", () => {
    const files = sourceFiles(srcDir);
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const imports = [...code(readFileSync(file, "utf8")).matchAll(/(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)];
      for (const match of imports) {
        const specifier = match[1] ?? match[2] ?? "";
        expect(specifier.startsWith("./") || specifier.startsWith("../"), `${file} imports ${specifier}`).toBe(true);
      }
    }
  });

  it("uses no Node.js or host globals", () => {
    const forbidden = /\b(process|Buffer|require|__dirname|__filename|setTimeout|setInterval|setImmediate|globalThis)\b/;
    for (const file of sourceFiles(srcDir)) {
      const lines = code(readFileSync(file, "utf8")).split("\n");
      lines.forEach((line, i) => {
        const withoutStrings = line.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""');
        expect(forbidden.test(withoutStrings), `${file}:${i + 1}: ${line.trim()}`).toBe(false);
      });
    }
  });
});
