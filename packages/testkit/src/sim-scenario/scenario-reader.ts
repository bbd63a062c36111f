/**
 * Reading typed fields out of raw scenario YAML while collecting every problem with its path (shared by the
 * scenario parsers).
 * @packageDocumentation
 */
import type { ScenarioProblem } from "./scenario.js";

/** A mapping as YAML parsing produced it. */
export type Raw = Readonly<Record<string, unknown>>;

/** Collects problems while reading typed fields out of raw YAML data. */
export class Reader {
  readonly problems: ScenarioProblem[] = [];

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** `value` as an object with only `allowed` keys; `undefined` (after a problem) when it is not one. */
  object(value: unknown, path: string, allowed: readonly string[]): Raw | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.problem(path, `must be a mapping, got ${describe(value)}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.problem(join(path, key), `unknown field (expected one of: ${allowed.join(", ")})`);
    }
    return value as Raw;
  }

  list(value: unknown, path: string): readonly unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.problem(path, `must be a list, got ${describe(value)}`);
      return [];
    }
    return value;
  }

  string(value: unknown, path: string, rule?: { readonly pattern: RegExp; readonly what: string }): string | undefined {
    if (typeof value !== "string" || value.trim() === "") {
      this.problem(path, `must be a non-empty string, got ${describe(value)}`);
      return undefined;
    }
    if (rule !== undefined && !rule.pattern.test(value)) {
      this.problem(path, `"${value}" is not ${rule.what}`);
      return undefined;
    }
    return value;
  }

  optionalString(value: unknown, path: string, fallback: string, rule?: { readonly pattern: RegExp; readonly what: string }): string {
    return value === undefined || value === null ? fallback : (this.string(value, path, rule) ?? fallback);
  }

  integer(value: unknown, path: string, min: number, max: number, fallback: number): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.problem(path, `must be a whole number from ${min} to ${max}, got ${describe(value)}`);
      return fallback;
    }
    return value;
  }

  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") {
      this.problem(path, `must be true or false, got ${describe(value)}`);
      return fallback;
    }
    return value;
  }
}

/** A short description of a raw value for messages (`nothing`, `a list`, `"text"`, …). */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}

/** Appends a field name or list index to a problem path (`a.b`, `a[0]`). */
export function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path === "" ? key : `${path}.${key}`;
}

