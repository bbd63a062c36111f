import { describe, expect, it } from "vitest";
import { FakeSecretProviderClassReader } from "./fake-secret-provider-class-reader.js";

describe("FakeSecretProviderClassReader", () => {
  it("answers what was put, undefined for unknown classes, logs reads and injects failures per class or for the next reads", async () => {
    const reader = new FakeSecretProviderClassReader([{ namespace: "default", name: "kv", usePodIdentity: "true" }]);
    expect(await reader.read("default", "kv")).toEqual({ ok: true, value: { namespace: "default", name: "kv", provider: "azure", usePodIdentity: "true" } });
    expect(await reader.read("other", "kv")).toEqual({ ok: true, value: undefined });
    reader.put({ namespace: "default", name: "kv", provider: "vault" });
    expect(await reader.read("default", "kv")).toEqual({ ok: true, value: { namespace: "default", name: "kv", provider: "vault" } });
    reader.failNextReads(1);
    expect(await reader.read("default", "kv")).toEqual({ ok: false, error: { kind: "transient", message: "injected: apiserver unreachable" } });
    reader.set("default", "kv", "false");
    expect(await reader.read("default", "kv")).toEqual({ ok: true, value: { namespace: "default", name: "kv", provider: "azure", usePodIdentity: "false" } });
    reader.fail("default", "kv", { kind: "forbidden", message: "no" });
    expect(await reader.read("default", "kv")).toEqual({ ok: false, error: { kind: "forbidden", message: "no" } });
    reader.heal("default", "kv");
    expect(reader.delete("default", "kv")).toBe(true);
    expect(await reader.read("default", "kv")).toEqual({ ok: true, value: undefined });
    expect(reader.reads).toEqual(["default/kv", "other/kv", "default/kv", "default/kv", "default/kv", "default/kv", "default/kv"]);
  });
});
