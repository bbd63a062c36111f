import { FEDERATED_TOKEN_AUDIENCE } from "../federated/service-account-subject.js";
import { err, ok, type Result } from "../result.js";

/**
 * The projected service-account token a pod declares for federated identities (type 3), summarised from its
 * raw `spec.volumes` when the pod is decoded, and the rule for where kubelet keeps that token on the node
 * (docs/adr/0021-federated-identities.md, "NMI: exchange the calling pod's own token").
 * @packageDocumentation
 */

/** A pod's projected `serviceAccountToken` source with audience `api://AzureADTokenExchange`. */
export interface FederatedTokenVolume {
  /** The volume's `name` (kubelet's directory name under `kubernetes.io~projected`). */
  readonly volumeName: string;
  /** The source's `path` inside the volume. */
  readonly path: string;
  /** The source's `expirationSeconds` when the pod set one (kubelet's default otherwise). */
  readonly expirationSeconds?: number;
}

function asObject(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Readonly<Record<string, unknown>>) : undefined;
}

/** The federated token source of one raw volume, if it has one (the first such source of the volume). */
function federatedSource(raw: unknown): FederatedTokenVolume | undefined {
  const volume = asObject(raw);
  const volumeName = volume?.["name"];
  const sources = asObject(volume?.["projected"])?.["sources"];
  if (typeof volumeName !== "string" || !Array.isArray(sources)) return undefined;
  for (const source of sources) {
    const token = asObject(asObject(source)?.["serviceAccountToken"]);
    if (token === undefined || token["audience"] !== FEDERATED_TOKEN_AUDIENCE) continue;
    const path = token["path"];
    if (typeof path !== "string") continue;
    const expiration = token["expirationSeconds"];
    return typeof expiration === "number" && Number.isSafeInteger(expiration) && expiration > 0
      ? { volumeName, path, expirationSeconds: expiration }
      : { volumeName, path };
  }
  return undefined;
}

/**
 * The first projected `serviceAccountToken` source, in declaration order, whose `audience` is exactly
 * `api://AzureADTokenExchange` (Entra ID compares audiences exactly); `undefined` when the pod declares
 * none, so most pods cost no memory. Never throws: malformed entries are skipped (the API server validated
 * the pod; a source this function cannot read grants nothing).
 */
export function summariseFederatedTokenVolume(volumes: unknown): FederatedTokenVolume | undefined {
  if (!Array.isArray(volumes)) return undefined;
  for (const raw of volumes) {
    const found = federatedSource(raw);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** {@link summariseFederatedTokenVolume} of a raw Pod object's `spec.volumes`. */
export function federatedTokenVolumeOfRawPod(rawPod: unknown): FederatedTokenVolume | undefined {
  return summariseFederatedTokenVolume(asObject(asObject(rawPod)?.["spec"])?.["volumes"]);
}

/** Why a token location cannot be read safely. */
export interface TokenLocationError {
  readonly kind: "invalidLocation";
  readonly reason: string;
}

/** Kubernetes object UIDs are UUIDs; anything else in a path segment could leave the pods directory. */
const POD_UID = /^[0-9A-Za-z][0-9A-Za-z-]{0,127}$/;

/** A single path segment that names an entry of its directory and nothing else. */
function segmentProblem(segment: string): string | undefined {
  if (segment === "") return "empty segment";
  if (segment === "." || segment === "..") return `segment "${segment}"`;
  if (segment.includes("\\")) return "backslash";
  return undefined;
}

/**
 * The segments of kubelet's file for `volume` of the pod with `podUid`, relative to the kubelet pods directory:
 * `<uid>/volumes/kubernetes.io~projected/<volume>/<path…>`. Refuses anything that could name a file outside
 * that volume: a UID that is not UUID-like, a volume name with `/`, a path that is absolute or has `.`/`..`
 * or empty segments, backslashes, NUL or other control characters (the API server refuses such pods too;
 * this holds even for a pod it did not validate).
 */
export function projectedTokenLocation(podUid: string, volume: Pick<FederatedTokenVolume, "volumeName" | "path">): Result<readonly string[], TokenLocationError> {
  const bad = (reason: string) => err<TokenLocationError>({ kind: "invalidLocation", reason });
  if (!POD_UID.test(podUid)) return bad("pod uid is not a Kubernetes uid");
  const text = `${volume.volumeName}/${volume.path}`;
  // Control characters (NUL included) have no place in a volume name or a projected path.
  if (/[\u0000-\u001f\u007f]/.test(text)) return bad("control character in volume name or path");
  if (volume.volumeName.includes("/")) return bad("volume name contains '/'");
  const volumeProblem = segmentProblem(volume.volumeName);
  if (volumeProblem !== undefined) return bad(`volume name: ${volumeProblem}`);
  if (volume.path.startsWith("/")) return bad("path is absolute");
  const pathSegments = volume.path.split("/");
  for (const segment of pathSegments) {
    const problem = segmentProblem(segment);
    if (problem !== undefined) return bad(`path: ${problem}`);
  }
  return ok([podUid, "volumes", "kubernetes.io~projected", volume.volumeName, ...pathSegments]);
}
