import { describe, expect, it } from "vitest";
import { daemonVersion, readPackageVersion } from "./version.js";

describe("daemonVersion", () => {
  it("derives the --version text and the user agent", () => {
    const mic = daemonVersion("podid-mic", "1.2.3", "aad-pod-identity MIC compatible");
    expect(mic.text).toBe("podid-mic 1.2.3 (aad-pod-identity MIC compatible)");
    expect(mic.userAgent()).toBe("podid-mic/1.2.3");
    expect(mic.userAgent("my-cluster")).toBe("podid-mic/1.2.3 my-cluster");
    expect(daemonVersion("podid-nmi", "1.2.3").text).toBe("podid-nmi 1.2.3");
  });

  it("reads a package.json version (what each daemon's test compares its constant with)", () => {
    expect(readPackageVersion(new URL("../package.json", import.meta.url))).toMatch(/^\d+\.\d+\.\d+/);
    expect(() => readPackageVersion(new URL("../tsconfig.json", import.meta.url))).toThrow(/no version/);
  });
});
