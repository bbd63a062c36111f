import { open, realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import {
  checkServiceAccountTokenClaims,
  err,
  ok,
  projectedTokenLocation,
  type Result,
  type ServiceAccountToken,
  type ServiceAccountTokenError,
  type ServiceAccountTokenReaderPort,
  type ServiceAccountTokenRequest,
} from "@podid/core";

/**
 * `ServiceAccountTokenReaderPort` over kubelet's pods directory: the projected service-account token kubelet
 * wrote for a pod's federated token volume, at `<podsDir>/<pod uid>/volumes/kubernetes.io~projected/<volume>/<path>`
 * (docs/adr/0021-federated-identities.md). NMI mounts that directory read-only; kubelet writes the file for
 * every projected volume of a pod on its node, mounted by a container or not, and refreshes it at 80 % of
 * the token's lifetime.
 * @packageDocumentation
 */

/** Where kubelet keeps pod directories on a node (kubelet's `--root-dir` + `/pods`). */
export const DEFAULT_KUBELET_PODS_DIR = "/var/lib/kubelet/pods";

/** Options of {@link KubeletServiceAccountTokenReader}. */
export interface KubeletServiceAccountTokenReaderOptions {
  /** kubelet's pods directory (default {@link DEFAULT_KUBELET_PODS_DIR}). */
  readonly podsDir?: string;
  /** Largest token file read, in bytes (default 64 KiB; service-account tokens are about 1–2 KiB). */
  readonly maxBytes?: number;
  /** A file's content is reused for this long before it is read again (default 60 s). */
  readonly maxAgeMs?: number;
  /** …and read again sooner when the token it holds expires within this long (default 60 s). */
  readonly refreshBeforeExpiryMs?: number;
  /** Files whose content is kept (default 1024; the oldest read goes first). */
  readonly maxEntries?: number;
  /** Clock (default `Date.now`). */
  readonly now?: () => number;
}

/** A file's content as last read. */
interface CachedToken {
  readonly token: string;
  readonly payload: unknown;
  readonly readAtMs: number;
  readonly expiresAtMs: number;
}

/** What reading a file gave: its trimmed text, or why there is none. */
type FileRead = Result<string, ServiceAccountTokenError>;

/** The JWT's decoded payload (no signature check: Entra ID checks it against the issuer's keys). */
function decodePayload(token: string): Result<unknown, ServiceAccountTokenError> {
  const parts = token.split(".");
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined || !/^[A-Za-z0-9_-]+$/.test(payload)) {
    return err({ kind: "unreadable", reason: "file is not a JWT" });
  }
  try {
    return ok(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as unknown);
  } catch {
    return err({ kind: "unreadable", reason: "token payload is not JSON" });
  }
}

/** A file-system error code, if `error` has one. */
function codeOf(error: unknown): string {
  return typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : "";
}

/** ENOENT and friends: kubelet has not written the file (or the pod's directory) yet. */
function failureOf(error: unknown, what: string): ServiceAccountTokenError {
  const code = codeOf(error);
  if (code === "ENOENT" || code === "ENOTDIR") return { kind: "missing", reason: `${what} does not exist` };
  return { kind: "unreadable", reason: `${what}: ${code || (error instanceof Error ? error.message : String(error))}` };
}

/**
 * Reads pods' projected service-account tokens from kubelet's pods directory. Before returning a token it
 * checks, with core's `checkServiceAccountTokenClaims`, that it is the requesting pod's own (subject, bound
 * pod UID, audience `api://AzureADTokenExchange`, not expired). The location is built by core's
 * `projectedTokenLocation` (no traversal, absolute paths, NUL…) and, after kubelet's symlinks are resolved,
 * must still lie inside the pod's volume directory. Content is kept briefly ({@link KubeletServiceAccountTokenReaderOptions.maxAgeMs})
 * so a burst of fetches does not read the disk each time; failures are never kept.
 */
export class KubeletServiceAccountTokenReader implements ServiceAccountTokenReaderPort {
  readonly #podsDir: string;
  readonly #maxBytes: number;
  readonly #maxAgeMs: number;
  readonly #refreshBeforeExpiryMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CachedToken>();
  #diskReads = 0;

  /** A reader of `options.podsDir`. */
  constructor(options: KubeletServiceAccountTokenReaderOptions = {}) {
    this.#podsDir = options.podsDir ?? DEFAULT_KUBELET_PODS_DIR;
    this.#maxBytes = options.maxBytes ?? 64 * 1024;
    this.#maxAgeMs = options.maxAgeMs ?? 60_000;
    this.#refreshBeforeExpiryMs = options.refreshBeforeExpiryMs ?? 60_000;
    this.#maxEntries = Math.max(1, options.maxEntries ?? 1024);
    this.#now = options.now ?? Date.now;
  }

  /** Files read from disk so far (the cache's effect, for tests and metrics). */
  get diskReads(): number {
    return this.#diskReads;
  }

  /** The pod's token, checked to be its own. */
  async read(request: ServiceAccountTokenRequest): Promise<Result<ServiceAccountToken, ServiceAccountTokenError>> {
    const location = projectedTokenLocation(request.podUid, request.volume);
    if (!location.ok) return err({ kind: "unreadable", reason: `unsafe token location: ${location.error.reason}` });
    const file = join(this.#podsDir, ...location.value);
    let now = this.#now();
    let entry = this.#cache.get(file);
    if (entry === undefined || now - entry.readAtMs >= this.#maxAgeMs || entry.expiresAtMs - now <= this.#refreshBeforeExpiryMs) {
      this.#cache.delete(file);
      const volumeDir = join(this.#podsDir, ...location.value.slice(0, 4));
      const text = await this.#readFile(file, volumeDir);
      if (!text.ok) return text;
      const payload = decodePayload(text.value);
      if (!payload.ok) return payload;
      now = this.#now();
      entry = { token: text.value, payload: payload.value, readAtMs: now, expiresAtMs: Number.NEGATIVE_INFINITY };
      const checked = checkServiceAccountTokenClaims(entry.payload, request, now);
      if (!checked.ok) return checked;
      entry = { ...entry, expiresAtMs: checked.value.expiresAtMs };
      this.#remember(file, entry);
      return ok({ token: entry.token, expiresAtMs: entry.expiresAtMs });
    }
    // Claims are checked on every use: the expectation comes from the request, and time moves on.
    const checked = checkServiceAccountTokenClaims(entry.payload, request, now);
    return checked.ok ? ok({ token: entry.token, expiresAtMs: checked.value.expiresAtMs }) : checked;
  }

  #remember(file: string, entry: CachedToken): void {
    this.#cache.set(file, entry);
    while (this.#cache.size > this.#maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  /**
   * The trimmed text of `file`. kubelet's atomic writer makes the file a symlink into a timestamped directory of
   * the same volume, so links are followed — but the resolved file must lie inside the resolved volume directory,
   * be a regular file and be at most `maxBytes` long.
   */
  async #readFile(file: string, volumeDir: string): Promise<FileRead> {
    this.#diskReads += 1;
    let realVolume: string;
    let realFile: string;
    try {
      realVolume = await realpath(volumeDir);
      realFile = await realpath(file);
    } catch (error) {
      return err(failureOf(error, "token file"));
    }
    if (!realFile.startsWith(realVolume + sep)) return err({ kind: "unreadable", reason: "token file resolves outside its volume" });
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(realFile, "r");
      const stat = await handle.stat();
      if (!stat.isFile()) return err({ kind: "unreadable", reason: "token file is not a regular file" });
      if (stat.size > this.#maxBytes) return err({ kind: "unreadable", reason: `token file is larger than ${this.#maxBytes} bytes` });
      const buffer = Buffer.alloc(this.#maxBytes + 1);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      // The file may have grown between stat and read (kubelet replaces it atomically, so only a rogue writer could).
      if (bytesRead > this.#maxBytes) return err({ kind: "unreadable", reason: `token file is larger than ${this.#maxBytes} bytes` });
      const text = buffer.subarray(0, bytesRead).toString("utf8").trim();
      return text === "" ? err({ kind: "missing", reason: "token file is empty" }) : ok(text);
    } catch (error) {
      return err(failureOf(error, "token file"));
    } finally {
      await handle?.close();
    }
  }
}
