/**
 * What kubelet does for the `serviceAccountToken` sources of a pod's `projected` volumes: for each source
 * it asks the API server for a token through TokenRequest (`POST …/serviceaccounts/<pod's account>/token`,
 * audience from the source or the API server's default, `expirationSeconds` from the source or 3600, bound
 * to the pod by name and uid), writes the tokens of one volume together with the AtomicWriter into
 * `<pods dir>/<pod uid>/volumes/kubernetes.io~projected/<volume>/<path>`, and fetches new ones once a
 * token is 80 % through its lifetime (or 24 h old), the point kubelet's token manager treats as due.
 *
 * File mode: the volume's `defaultMode` (default 0644), or 0600 when the pod sets `securityContext.fsGroup`
 * (kubelet then makes it 0640 owned by that group; this simulation does not chown). Other projected
 * sources (configMap, secret, downwardAPI, clusterTrustBundle) are not written; kubelet's up-to-10 s refresh
 * jitter is left out so tests can predict the refresh time.
 * @packageDocumentation
 */
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { invalidPayloadPath, type PayloadFile } from "./atomic-writer.js";

/** The default lifetime of a projected token (the API's default for `expirationSeconds`). */
export const DEFAULT_PROJECTED_TOKEN_SECONDS = 3600;
/** The plugin directory of projected volumes under a pod's `volumes/`. */
export const PROJECTED_PLUGIN_DIR = "kubernetes.io~projected";
const MAX_TOKEN_AGE_MS = 24 * 3600 * 1000;

/** One `serviceAccountToken` source of a projected volume. */
export interface TokenProjection {
  readonly path: string;
  /** Absent: the API server's default audiences. */
  readonly audience?: string;
  readonly expirationSeconds: number;
}

/** A projected volume holding at least one `serviceAccountToken` source. */
export interface TokenVolume {
  readonly name: string;
  readonly mode: number;
  readonly projections: readonly TokenProjection[];
}

/** A token kubelet fetched for one projection. */
export interface ProjectedToken {
  readonly path: string;
  readonly token: string;
  /** `status.expirationTimestamp` in ms since the epoch. */
  readonly expiresAtMs: number;
  /** The lifetime the API server granted (`spec.expirationSeconds` of its answer; it may shorten requests). */
  readonly lifetimeSeconds: number;
}

/** The projected volumes of `pod` that carry service-account tokens, in spec order. */
export function serviceAccountTokenVolumes(pod: V1Pod): TokenVolume[] {
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  const out: TokenVolume[] = [];
  for (const volume of pod.spec?.volumes ?? []) {
    const projections: TokenProjection[] = [];
    for (const source of volume.projected?.sources ?? []) {
      const token = source.serviceAccountToken;
      if (token === undefined) continue;
      projections.push({
        path: token.path,
        ...(token.audience !== undefined && token.audience !== "" ? { audience: token.audience } : {}),
        expirationSeconds: token.expirationSeconds ?? DEFAULT_PROJECTED_TOKEN_SECONDS,
      });
    }
    if (projections.length === 0) continue;
    const mode = fsGroup !== undefined && fsGroup !== null ? 0o600 : (volume.projected?.defaultMode ?? 0o644);
    out.push({ name: volume.name, mode, projections });
  }
  return out;
}

/** Asks the API server for one token per projection of `volume`, bound to `pod`; throws the first failure. */
export async function requestVolumeTokens(core: CoreV1Api, pod: V1Pod, volume: TokenVolume): Promise<ProjectedToken[]> {
  const namespace = pod.metadata?.namespace ?? "default";
  const serviceAccount = pod.spec?.serviceAccountName ?? "default";
  const out: ProjectedToken[] = [];
  for (const projection of volume.projections) {
    const why = invalidPayloadPath(projection.path);
    if (why !== undefined) throw new Error(`volume ${volume.name}: ${why}`);
    const created = await core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace,
      body: {
        spec: {
          audiences: projection.audience === undefined ? [] : [projection.audience],
          expirationSeconds: projection.expirationSeconds,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata?.name ?? "", uid: pod.metadata?.uid ?? "" },
        },
      },
    });
    const token = created.status?.token;
    const expires = created.status?.expirationTimestamp;
    if (token === undefined || token === "" || expires === undefined) throw new Error(`TokenRequest for ${namespace}/${serviceAccount} returned no token`);
    out.push({ path: projection.path, token, expiresAtMs: new Date(expires).getTime(), lifetimeSeconds: created.spec?.expirationSeconds ?? projection.expirationSeconds });
  }
  return out;
}

/** The files of `volume` for `writeVolumePayload` (one per projection, with the volume's mode). */
export function tokenPayload(volume: TokenVolume, tokens: readonly ProjectedToken[]): PayloadFile[] {
  return tokens.map((t) => ({ path: t.path, content: t.token, mode: volume.mode }));
}

/**
 * When kubelet's token manager next considers one of `tokens` due: 80 % through its lifetime (20 % of the
 * lifetime before expiry) or 24 h after issue, whichever is first; the earliest over all tokens.
 */
export function refreshDueAtMs(tokens: readonly ProjectedToken[]): number {
  let due = Number.POSITIVE_INFINITY;
  for (const t of tokens) {
    const lifetimeMs = t.lifetimeSeconds * 1000;
    const issuedAtMs = t.expiresAtMs - lifetimeMs;
    due = Math.min(due, t.expiresAtMs - lifetimeMs * 0.2, issuedAtMs + MAX_TOKEN_AGE_MS);
  }
  return due;
}
