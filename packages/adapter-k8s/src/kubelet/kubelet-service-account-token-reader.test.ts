import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ServiceAccountTokenRequest } from "@podid/core";
import { KubeletServiceAccountTokenReader } from "./kubelet-service-account-token-reader.js";

const UID = "6f3b1a52-8d1c-4a6e-9c2f-0b7d5e4a3c21";
const NOW_MS = 1_800_000_000_000;
const REQUEST: ServiceAccountTokenRequest = {
  podUid: UID,
  namespace: "team-a",
  serviceAccountName: "app",
  volume: { volumeName: "azure-identity-token", path: "azure-identity-token" },
};

/** An (unsigned) JWT with the claims a real API server puts in a projected token of `REQUEST`'s pod. */
function jwt(overrides: Record<string, unknown> = {}): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const claims = {
    aud: ["api://AzureADTokenExchange"],
    exp: NOW_MS / 1000 + 3600,
    iat: NOW_MS / 1000,
    iss: "https://oidc.example",
    sub: "system:serviceaccount:team-a:app",
    "kubernetes.io": { namespace: "team-a", pod: { name: "app-0", uid: UID }, serviceaccount: { name: "app", uid: "sa-1" } },
    ...overrides,
  };
  return `${b64({ alg: "RS256", kid: "k1" })}.${b64(claims)}.c2lnbmF0dXJl`;
}

let podsDir: string;
let now: number;

/**
 * Writes `content` as kubelet's atomic writer does: into a timestamped directory of the volume, `..data`
 * pointing at it, and the file name a symlink to `..data/<name>`.
 */
function kubeletWrites(content: string, o: { uid?: string; volume?: string; path?: string } = {}): string {
  const volumeDir = join(podsDir, o.uid ?? UID, "volumes", "kubernetes.io~projected", o.volume ?? "azure-identity-token");
  const path = o.path ?? "azure-identity-token";
  const stamp = `..${Date.now()}_${Math.random().toString(36).slice(2)}`;
  mkdirSync(dirname(join(volumeDir, stamp, path)), { recursive: true });
  writeFileSync(join(volumeDir, stamp, path), content);
  symlinkSync(stamp, join(volumeDir, "..data_tmp"));
  renameSync(join(volumeDir, "..data_tmp"), join(volumeDir, "..data"));
  // kubelet links the first segment of each path (a file, or the directory holding it).
  const top = path.split("/")[0] ?? path;
  try {
    symlinkSync(join("..data", top), join(volumeDir, top));
  } catch {
    // Already linked from an earlier write: `..data` moved under it.
  }
  return volumeDir;
}

function reader(options: { maxBytes?: number } = {}) {
  return new KubeletServiceAccountTokenReader({ podsDir, now: () => now, ...options });
}

beforeEach(() => {
  podsDir = mkdtempSync(join(tmpdir(), "podid-kubelet-pods-"));
  now = NOW_MS;
});
afterEach(() => rmSync(podsDir, { recursive: true, force: true }));

describe("KubeletServiceAccountTokenReader", () => {
  it("reads the pod's own token through kubelet's symlinks", async () => {
    const token = jwt();
    kubeletWrites(`${token}\n`);
    expect(await reader().read(REQUEST)).toEqual({ ok: true, value: { token, expiresAtMs: NOW_MS + 3_600_000 } });
  });

  it("says missing before kubelet wrote the file, and for an empty file", async () => {
    expect(await reader().read(REQUEST)).toMatchObject({ ok: false, error: { kind: "missing" } });
    kubeletWrites("");
    expect(await reader().read(REQUEST)).toMatchObject({ ok: false, error: { kind: "missing" } });
  });

  it("refuses a token of another service account, another pod or another audience (mismatch), and an expired one", async () => {
    const r = reader();
    kubeletWrites(jwt({ sub: "system:serviceaccount:team-a:intruder" }));
    expect(await r.read(REQUEST)).toMatchObject({ ok: false, error: { kind: "mismatch", claim: "sub" } });
    kubeletWrites(jwt({ "kubernetes.io": { pod: { uid: "other-pod" } } }));
    expect(await r.read(REQUEST)).toMatchObject({ ok: false, error: { kind: "mismatch", claim: "podUid" } });
    kubeletWrites(jwt({ aud: ["https://kubernetes.default.svc"] }));
    expect(await r.read(REQUEST)).toMatchObject({ ok: false, error: { kind: "mismatch", claim: "aud" } });
    kubeletWrites(jwt({ exp: NOW_MS / 1000 - 1 }));
    expect(await r.read(REQUEST)).toMatchObject({ ok: false, error: { kind: "expired" } });
    // The same file asked for by a request expecting another service account.
    kubeletWrites(jwt());
    expect(await r.read({ ...REQUEST, serviceAccountName: "web" })).toMatchObject({ ok: false, error: { kind: "mismatch", claim: "sub" } });
  });

  it("never leaves the volume: traversal in the volume name or path, absolute paths, NUL, and symlinks out of the volume", async () => {
    writeFileSync(join(podsDir, "secret"), jwt());
    const r = reader();
    for (const volume of [
      { volumeName: "..", path: "secret" },
      { volumeName: "azure-identity-token", path: "../../../../secret" },
      { volumeName: "azure-identity-token", path: join(podsDir, "secret") },
      { volumeName: "azure-identity-token", path: "tok\u0000en" },
    ]) {
      expect(await r.read({ ...REQUEST, volume }), JSON.stringify(volume)).toMatchObject({ ok: false, error: { kind: "unreadable", reason: expect.stringMatching(/^unsafe token location/) } });
    }
    expect(await r.read({ ...REQUEST, podUid: ".." })).toMatchObject({ ok: false, error: { kind: "unreadable" } });
    // A file in the volume that links outside it (kubelet never writes one).
    const volumeDir = kubeletWrites(jwt(), { path: "real" });
    symlinkSync(join(podsDir, "secret"), join(volumeDir, "escape"));
    expect(await r.read({ ...REQUEST, volume: { volumeName: "azure-identity-token", path: "escape" } })).toMatchObject({
      ok: false,
      error: { kind: "unreadable", reason: "token file resolves outside its volume" },
    });
    expect(r.diskReads).toBe(1);
  });

  it("refuses files over the size limit, directories and non-JWT content", async () => {
    kubeletWrites(`${jwt()}${"x".repeat(2048)}`);
    expect(await reader({ maxBytes: 1024 }).read(REQUEST)).toMatchObject({ ok: false, error: { kind: "unreadable", reason: expect.stringMatching(/larger than 1024/) } });
    kubeletWrites("not a token");
    expect(await reader().read(REQUEST)).toMatchObject({ ok: false, error: { kind: "unreadable", reason: "file is not a JWT" } });
    kubeletWrites("a.b!.c");
    expect(await reader().read(REQUEST)).toMatchObject({ ok: false, error: { kind: "unreadable" } });
    kubeletWrites(jwt(), { path: "dir/token" });
    expect(await reader().read({ ...REQUEST, volume: { volumeName: "azure-identity-token", path: "dir" } })).toMatchObject({ ok: false, error: { kind: "unreadable" } });
  });

  it("reads the disk once per minute, sooner near expiry, and picks up kubelet's refreshed token", async () => {
    const r = reader();
    const first = jwt({ exp: NOW_MS / 1000 + 600 });
    kubeletWrites(first);
    for (let i = 0; i < 50; i += 1) expect(await r.read(REQUEST)).toMatchObject({ ok: true, value: { token: first } });
    expect(r.diskReads).toBe(1);
    // kubelet refreshes the file; within the minute the cached content still serves.
    const second = jwt({ exp: NOW_MS / 1000 + 3600, iat: NOW_MS / 1000 + 1 });
    kubeletWrites(second);
    now += 59_000;
    expect(await r.read(REQUEST)).toMatchObject({ ok: true, value: { token: first } });
    now += 1_000;
    expect(await r.read(REQUEST)).toMatchObject({ ok: true, value: { token: second } });
    expect(r.diskReads).toBe(2);
    // Near expiry (within 60 s) the file is read again on every use, so a refreshed token is seen at once.
    const short = jwt({ exp: (now + 90_000) / 1000 });
    kubeletWrites(short);
    now += 60_000;
    expect(await r.read(REQUEST)).toMatchObject({ ok: true, value: { token: short } });
    now += 1_000;
    expect(await r.read(REQUEST)).toMatchObject({ ok: true, value: { token: short } });
    expect(r.diskReads).toBe(4);
    // Failures are not kept: once kubelet writes a good file it is used.
    const r2 = reader();
    rmSync(join(podsDir, UID), { recursive: true });
    expect(await r2.read(REQUEST)).toMatchObject({ ok: false, error: { kind: "missing" } });
    const third = jwt({ exp: now / 1000 + 3600 });
    kubeletWrites(third);
    expect(await r2.read(REQUEST)).toMatchObject({ ok: true, value: { token: third } });
  });

  it("a cached token is still checked on every use: it expires in the cache", async () => {
    // No early re-read, so the expiry is found in the cached content, not in a fresh read.
    const r = new KubeletServiceAccountTokenReader({ podsDir, now: () => now, refreshBeforeExpiryMs: -10_000 });
    kubeletWrites(jwt({ exp: NOW_MS / 1000 + 30 }));
    expect((await r.read(REQUEST)).ok).toBe(true);
    now += 30_000;
    expect(await r.read(REQUEST)).toMatchObject({ ok: false, error: { kind: "expired" } });
    expect(await r.read({ ...REQUEST, podUid: "7f3b1a52-8d1c-4a6e-9c2f-0b7d5e4a3c21" })).toMatchObject({ ok: false, error: { kind: "missing" } });
    expect(r.diskReads).toBe(2);
  });
});
