import type { Result } from "../result.js";
import type { KubeError } from "./kube-errors.js";

/** The API group of the Secrets Store CSI driver's SecretProviderClass. */
export const SECRET_PROVIDER_CLASS_GROUP = "secrets-store.csi.x-k8s.io";
/** The version of SecretProviderClass podid reads. */
export const SECRET_PROVIDER_CLASS_VERSION = "v1";
/** The resource (plural) name of SecretProviderClass. */
export const SECRET_PROVIDER_CLASS_RESOURCE = "secretproviderclasses";

/** What the scoped `/host/token` needs of a SecretProviderClass. */
export interface SecretProviderClassView {
  readonly namespace: string;
  readonly name: string;
  /** `spec.provider` (`azure` for the Azure provider); `""` when absent. */
  readonly provider: string;
  /** `spec.parameters.usePodIdentity` as written (a Go `strconv.ParseBool` string); absent when unset. */
  readonly usePodIdentity?: string;
}

/**
 * Reads one SecretProviderClass on demand (NMI does not watch them: a cluster-wide watch would put every
 * class of the cluster into every node's memory). `ok(undefined)` means the class, or the CRD itself, does
 * not exist; other API failures are errors. Implementations may cache answers for a short time.
 */
export interface SecretProviderClassReaderPort {
  read(namespace: string, name: string): Promise<Result<SecretProviderClassView | undefined, KubeError>>;
}
