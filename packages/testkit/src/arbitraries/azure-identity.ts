import fc from "fast-check";
import { BEHAVIOR_ANNOTATION, BEHAVIOR_NAMESPACED, type AzureIdentity, type IdentityType, type ObjectMeta } from "@podid/core";
import { annotationsArb, objectMetaArb, plainRecord } from "./object-meta.js";
import { userAssignedIdentityFixtureArb, userAssignedIdentityIdStringArb } from "./azure-ids.js";
import {
  AD_ENDPOINT_POOL,
  IDENTITY_NAME_POOL,
  NAMESPACE_POOL,
  SECRET_NAME_POOL,
  SERVICE_ACCOUNT_POOL,
  SERVICE_PRINCIPAL_CLIENT_ID_POOL,
  TENANT_POOL,
} from "./pools.js";

/** Options of {@link azureIdentityArb}. */
export interface AzureIdentityArbOptions {
  /**
   * Identity types to generate (default 0, 1, 2: the VM-assigned and service-principal kinds the original knows;
   * pass 3 explicitly for federated identities, which MIC never attaches to a VM).
   */
  readonly types?: readonly IdentityType[];
  /** Namespaces to draw from (default {@link NAMESPACE_POOL}). */
  readonly namespaces?: readonly string[];
  /** Object names to draw from (default {@link IDENTITY_NAME_POOL}). */
  readonly names?: readonly string[];
  /** Probability-ish weight (0..10) of the `Behavior: namespaced` annotation; default 2 out of 10. */
  readonly namespacedAnnotationWeight?: number;
}

/** Annotations of an identity: sometimes `aadpodidentity.k8s.io/Behavior: namespaced`. */
function identityAnnotationsArb(weight: number): fc.Arbitrary<Record<string, string>> {
  const clamped = Math.max(0, Math.min(10, weight));
  return fc.tuple(annotationsArb, fc.integer({ min: 1, max: 10 })).map(([annotations, roll]) =>
    roll <= clamped ? { ...annotations, [BEHAVIOR_ANNOTATION]: BEHAVIOR_NAMESPACED } : annotations,
  );
}

/** A valid user-assigned (type 0) spec: resourceID from the shared pool, in a random case variant. */
const msiSpecArb = userAssignedIdentityFixtureArb.chain((fixture) =>
  plainRecord({
    resourceID: userAssignedIdentityIdStringArb(fixture),
    clientID: fc.constant(fixture.clientID),
    adResourceID: fc.constantFrom("", "https://management.azure.com/"),
  }),
);

/** A valid service-principal spec (type 1 or 2) for an identity in `namespace`. */
function servicePrincipalSpecArb(type: 1 | 2, namespace: string) {
  return plainRecord({
    clientID: fc.constantFrom(...SERVICE_PRINCIPAL_CLIENT_ID_POOL),
    tenantID: fc.constantFrom(...TENANT_POOL),
    clientPassword: plainRecord({
      name: fc.constantFrom(...SECRET_NAME_POOL),
      namespace: fc.oneof({ arbitrary: fc.constant(namespace), weight: 4 }, { arbitrary: fc.constant("kube-system"), weight: 1 }),
    }),
    auxiliaryTenantIDs: type === 1 ? fc.subarray([...TENANT_POOL], { maxLength: 2 }) : fc.constant([]),
    adEndpoint: fc.constantFrom(...AD_ENDPOINT_POOL),
  });
}

/** A valid federated (type 3) spec: a pooled user-assigned identity, a tenant and 1–3 pooled service accounts. */
const federatedSpecArb = userAssignedIdentityFixtureArb.chain((fixture) =>
  plainRecord({
    resourceID: userAssignedIdentityIdStringArb(fixture),
    clientID: fc.constant(fixture.clientID),
    tenantID: fc.constantFrom(...TENANT_POOL),
    serviceAccounts: fc.subarray([...SERVICE_ACCOUNT_POOL], { minLength: 1 }),
  }),
);

/** The valid identity with `metadata` and `type`: picks a spec that satisfies that type's rules. */
function identityWith(metadata: ObjectMeta, type: IdentityType): fc.Arbitrary<AzureIdentity> {
  if (type === 3) {
    return federatedSpecArb.map(
      (s): AzureIdentity => ({
        kind: "AzureIdentity",
        metadata,
        spec: { type, auxiliaryTenantIDs: [], adEndpoint: "", adResourceID: "", ...s },
      }),
    );
  }
  if (type === 0) {
    return msiSpecArb.map(
      (s): AzureIdentity => ({
        kind: "AzureIdentity",
        metadata,
        spec: {
          type,
          resourceID: s.resourceID,
          clientID: s.clientID,
          tenantID: "",
          auxiliaryTenantIDs: [],
          adEndpoint: "",
          adResourceID: s.adResourceID,
          serviceAccounts: [],
        },
      }),
    );
  }
  return servicePrincipalSpecArb(type, metadata.namespace).map(
    (s): AzureIdentity => ({
      kind: "AzureIdentity",
      metadata,
      spec: { type, resourceID: "", adResourceID: "", serviceAccounts: [], ...s },
    }),
  );
}

/**
 * A valid AzureIdentity (it passes `parseAzureIdentity`): types 0/1/2 (3 on request), resourceIDs drawn from a
 * small pool so several identities point at the same ARM identity, names repeated across namespaces.
 */
export function azureIdentityArb(options: AzureIdentityArbOptions = {}): fc.Arbitrary<AzureIdentity> {
  const types = options.types !== undefined && options.types.length > 0 ? options.types : ([0, 1, 2] as const);
  return fc
    .tuple(
      objectMetaArb({
        namespaces: options.namespaces ?? NAMESPACE_POOL,
        names: options.names ?? IDENTITY_NAME_POOL,
        annotations: identityAnnotationsArb(options.namespacedAnnotationWeight ?? 2),
      }),
      fc.constantFrom(...types),
    )
    .chain(([metadata, type]) => identityWith(metadata, type));
}
