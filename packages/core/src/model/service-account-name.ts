/**
 * Kubernetes names a ServiceAccount with a DNS-1123 subdomain: at most 253 characters, lower-case letters,
 * digits, `-` and `.`, every dot-separated label starting and ending with a letter or digit.
 */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Longest valid service-account name. */
export const MAX_SERVICE_ACCOUNT_NAME_LENGTH = 253;

/** True when `name` can name a Kubernetes ServiceAccount (a DNS-1123 subdomain). */
export function isServiceAccountName(name: string): boolean {
  return name.length <= MAX_SERVICE_ACCOUNT_NAME_LENGTH && DNS1123_SUBDOMAIN.test(name);
}
