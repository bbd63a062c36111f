import { err, ok, type Result } from "../result.js";
import { azureIdError, type AzureIdError } from "./errors.js";

/**
 * Splits an ARM resource path (`/subscriptions/…/…`) into its segments after the structural checks every
 * ARM id shares: not empty, no whitespace, a leading slash, no trailing slash and no empty segment. The
 * original matched ids with an unanchored regular expression, which let ids with extra segments or stray
 * slashes through and then failed later at ARM; podid rejects them up front instead.
 */
export function splitArmPath(path: string, what: string): Result<readonly string[], AzureIdError> {
  if (path === "") return err(azureIdError("emptyId", path, `${what} is empty`));
  if (/\s/.test(path)) return err(azureIdError("containsWhitespace", path, `${what} "${path}" contains whitespace`));
  if (!path.startsWith("/")) {
    return err(azureIdError("missingLeadingSlash", path, `${what} "${path}" must start with "/subscriptions/"`));
  }
  if (path.endsWith("/")) return err(azureIdError("trailingSlash", path, `${what} "${path}" must not end with "/"`));
  const segments = path.slice(1).split("/");
  if (segments.some((s) => s === "")) {
    return err(azureIdError("emptySegment", path, `${what} "${path}" has an empty segment ("//")`));
  }
  return ok(segments);
}

/** ARM segment names and provider namespaces compare case-insensitively. */
export function sameSegment(actual: string | undefined, expected: string): boolean {
  return actual !== undefined && actual.toLowerCase() === expected.toLowerCase();
}

/**
 * Checks the `subscriptions/<s>/resourceGroups/<rg>/providers/<namespace>` prefix of `segments` and returns
 * the subscription and resource group as written, or the reason the prefix is wrong.
 */
export function readArmPrefix(
  segments: readonly string[],
  input: string,
  what: string,
  providerNamespace: string,
): Result<{ readonly subscriptionId: string; readonly resourceGroup: string }, AzureIdError> {
  const [subs, subscriptionId, rgs, resourceGroup, providers, namespace] = segments;
  if (!sameSegment(subs, "subscriptions") || !sameSegment(rgs, "resourceGroups") || !sameSegment(providers, "providers")) {
    return err(
      azureIdError(
        "unexpectedSegment",
        input,
        `${what} "${input}" must look like /subscriptions/<id>/resourceGroups/<group>/providers/${providerNamespace}/…`,
      ),
    );
  }
  if (!sameSegment(namespace, providerNamespace)) {
    return err(
      azureIdError("wrongProvider", input, `${what} "${input}" names provider "${namespace ?? ""}", expected ${providerNamespace}`),
    );
  }
  // The fixed-segment checks above guarantee both values exist.
  return ok({ subscriptionId: subscriptionId ?? "", resourceGroup: resourceGroup ?? "" });
}
