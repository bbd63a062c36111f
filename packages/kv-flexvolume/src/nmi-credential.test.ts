import { describe, expect, it } from "vitest";
import { NmiTokenCredential, resourceOfScope } from "./nmi-credential.js";

const TOKEN = { accessToken: "eyJ.abc", expiresOnMs: 1_900_000_000_000, clientId: "c1" };

describe("NmiTokenCredential", () => {
  it("answers Key Vault's scope with the NMI token and its expiry", async () => {
    const credential = new NmiTokenCredential(TOKEN, "https://vault.azure.net");
    expect(await credential.getToken("https://vault.azure.net/.default")).toEqual({ token: "eyJ.abc", expiresOnTimestamp: 1_900_000_000_000, tokenType: "Bearer" });
    expect(await credential.getToken(["https://vault.azure.net/"])).toMatchObject({ token: "eyJ.abc" });
  });

  it("refuses to hand the token to a vault asking for another cloud's resource", async () => {
    const credential = new NmiTokenCredential(TOKEN, "https://vault.azure.net");
    await expect(credential.getToken("https://vault.azure.cn/.default")).rejects.toThrow(/asked for a token for https:\/\/vault.azure.cn.*check "cloudname"/);
  });

  it("reduces a scope to its resource", () => {
    expect(["https://vault.azure.net/.default", "https://vault.azure.net/", "https://vault.azure.net"].map(resourceOfScope)).toEqual(Array(3).fill("https://vault.azure.net"));
  });
});
