import { err, type AssignedIdentityWriterPort, type ComputePort, type FederatedCredentialPort } from "@podid/core";

/**
 * Wraps the writing ports so that every write first checks leadership: a MIC that lost its lease stops
 * writing at once, even in the middle of a batch (the original exited the process; podid fences writes
 * and keeps serving probes). Reads pass through.
 */
export function fenceWriter(writer: AssignedIdentityWriterPort, isLeader: () => boolean): AssignedIdentityWriterPort {
  const notLeader = () => err({ kind: "forbidden" as const, message: "not the leader: write refused" });
  return {
    create: async (identity) => (isLeader() ? writer.create(identity) : notLeader()),
    update: async (identity) => (isLeader() ? writer.update(identity) : notLeader()),
    setStatus: async (identity, status) => (isLeader() ? writer.setStatus(identity, status) : notLeader()),
    delete: async (identity) => (isLeader() ? writer.delete(identity) : notLeader()),
  };
}

/** Like {@link fenceWriter} for ARM: PATCHes are refused when not leader; GETs pass through. */
export function fenceCompute(compute: ComputePort, isLeader: () => boolean): ComputePort {
  return {
    getIdentities: (target) => compute.getIdentities(target),
    patchIdentities: async (target, patch, ifMatch) =>
      isLeader()
        ? compute.patchIdentities(target, patch, ifMatch)
        : err({ kind: "forbidden" as const, message: "not the leader: PATCH refused" }),
  };
}

/** Like {@link fenceCompute} for federated identity credentials: creates and deletes are refused when not leader. */
export function fenceCredentials(credentials: FederatedCredentialPort, isLeader: () => boolean): FederatedCredentialPort {
  const notLeader = () => err({ kind: "failed" as const, status: 403, message: "not the leader: federated credential write refused" });
  return {
    list: (identityResourceId) => credentials.list(identityResourceId),
    create: async (identityResourceId, credential) => (isLeader() ? credentials.create(identityResourceId, credential) : notLeader()),
    delete: async (identityResourceId, name) => (isLeader() ? credentials.delete(identityResourceId, name) : notLeader()),
  };
}
