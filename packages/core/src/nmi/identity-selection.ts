import type { AzureIdentity, ObjectMeta } from "../model/types.js";
import type { IdentitySelector } from "./token-request.js";

/**
 * Picking one identity among those a pod may use, shared by standard and managed mode.
 * @packageDocumentation
 */

/** Options of identity selection. */
export interface SelectionOptions {
  /**
   * The object (principal) id of an identity, when known. AzureIdentity has no such field, so an
   * `object_id` request can only be honoured if the caller (nmi-server, e.g. from a cached
   * IdentityCatalogPort lookup) supplies it; without it an `object_id` never matches — a 404, never a guess.
   */
  readonly principalIdOf?: (identity: AzureIdentity) => string | undefined;
}

/** ASCII-case-insensitive equality of two non-empty ids. */
function sameId(a: string, b: string): boolean {
  return a !== "" && b !== "" && a.toLowerCase() === b.toLowerCase();
}

/**
 * True when `identity` is the one `selector` names. Every comparison ignores case: client and object ids
 * are GUIDs and ARM ids are case-insensitive. The original waited for a requested id case-insensitively
 * but picked it case-sensitively, so a differently-cased `client_id` waited ~80 s and then got a 404
 * (`standard.go`); podid is case-insensitive throughout.
 */
export function matchesSelector(identity: AzureIdentity, selector: IdentitySelector, options: SelectionOptions = {}): boolean {
  switch (selector.by) {
    case "client_id":
      return sameId(identity.spec.clientID, selector.value);
    case "msi_res_id":
      return sameId(identity.spec.resourceID, selector.value);
    case "object_id":
      return sameId(options.principalIdOf?.(identity) ?? "", selector.value);
  }
}

/** Plain code-unit comparison (locale-independent, so the order is the same on every node). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders by namespace, then name, then UID (two live objects never share namespace and name, but a cache
 * in the middle of a delete-and-recreate can briefly hold both; the UID keeps even that order stable),
 * then resourceVersion and, for copies that still tie, their content — a total order, so the input order
 * of a cache can never decide which identity a pod gets.
 */
export function compareMeta(a: ObjectMeta, b: ObjectMeta): number {
  return (
    compareText(a.namespace, b.namespace) ||
    compareText(a.name, b.name) ||
    compareText(a.uid ?? "", b.uid ?? "") ||
    compareText(a.resourceVersion ?? "", b.resourceVersion ?? "") ||
    (a === b ? 0 : compareText(JSON.stringify(a), JSON.stringify(b)))
  );
}

/**
 * The candidate to use: with a selector the first matching one, without one simply the first — in the
 * order identity namespace, identity name, then the namespace and name of the object that grants it (AAI
 * or binding). The original took the first of an informer list, which the docs called "random"; podid is
 * deterministic so that every NMI, and every retry, picks the same identity. Returns `undefined` when
 * nothing matches.
 */
export function selectCandidate<T>(
  candidates: readonly T[],
  identityOf: (candidate: T) => AzureIdentity,
  grantOf: (candidate: T) => ObjectMeta,
  selector: IdentitySelector | undefined,
  options: SelectionOptions = {},
): T | undefined {
  const eligible =
    selector === undefined ? [...candidates] : candidates.filter((c) => matchesSelector(identityOf(c), selector, options));
  eligible.sort((a, b) => compareMeta(identityOf(a).metadata, identityOf(b).metadata) || compareMeta(grantOf(a), grantOf(b)));
  return eligible[0];
}
