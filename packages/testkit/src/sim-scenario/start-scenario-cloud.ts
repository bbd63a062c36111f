/**
 * Starts the Azure side of a scenario: every scale set and VM in one {@link FakeCompute} with the
 * identities they hold, the identity catalogue, fake ARM (with the scenario's latency and faults), fake
 * AAD knowing MIC's service principal, one fake IMDS per scale set or VM, and — when the scenario lists key
 * vaults — one FakeKeyVault serving them with their secrets, keys, certificates and access policies.
 * @packageDocumentation
 */
import { computeTargetKey } from "@podid/core";
import type { FakeArmRequestInfo, FakeArmFault } from "../azure/fake-arm-server.js";
import { FakeAadServer } from "../azure/fake-aad-server.js";
import { FakeArmServer } from "../azure/fake-arm-server.js";
import { FakeImdsServer } from "../azure/fake-imds-server.js";
import { FakeKeyVault } from "../azure/key-vault/fake-key-vault.js";
import { systemClock } from "../azure/system-clock.js";
import { FakeCompute } from "../fakes/fake-compute.js";
import { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import type { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import type { ScenarioArmFault, ScenarioKeyVault, SimScenario } from "./scenario.js";

/** The running Azure fakes of a scenario. */
export interface ScenarioCloud {
  readonly compute: FakeCompute;
  readonly catalog: FakeIdentityCatalog;
  readonly arm: FakeArmServer;
  readonly aad: FakeAadServer;
  /** IMDS per target, by `computeTargetKey`. */
  readonly imds: ReadonlyMap<string, FakeImdsServer>;
  /** The Key Vault fake, when the scenario lists key vaults. */
  readonly keyVault: FakeKeyVault | undefined;
  /** Stops every server (idempotent). */
  stop(): Promise<void>;
}

/**
 * A fault hook answering the scenario's faults: the `nth` request of each operation, counted per
 * operation over the whole run (one hook, so every request is counted even when another fault fires).
 */
export function scenarioFaultHook(faults: readonly ScenarioArmFault[]): (request: Pick<FakeArmRequestInfo, "operation">) => FakeArmFault | undefined {
  const seen = new Map<string, number>();
  return (request) => {
    const count = (seen.get(request.operation) ?? 0) + 1;
    seen.set(request.operation, count);
    const fault = faults.find((f) => f.operation === request.operation && f.nth === count);
    if (fault === undefined) return undefined;
    return {
      status: fault.status,
      code: fault.code,
      message: fault.message,
      ...(fault.retryAfterSeconds !== undefined ? { headers: { "retry-after": String(fault.retryAfterSeconds) } } : {}),
    };
  };
}

/** Starts the fakes; stops what it started if a later step fails. */
export async function startScenarioCloud(scenario: SimScenario, ca: TestCertificateAuthority): Promise<ScenarioCloud> {
  const compute = new FakeCompute({
    clock: systemClock,
    patchLatencyMs: scenario.arm.patchLatencyMs,
    getLatencyMs: scenario.arm.getLatencyMs,
    oneOperationAtATimePerTarget: true,
  });
  const catalog = new FakeIdentityCatalog({ tenantId: scenario.tenantId });
  for (const identity of scenario.identities) {
    catalog.register({ id: identity.id, tenantId: scenario.tenantId, ...(identity.clientId !== undefined ? { clientId: identity.clientId } : {}) });
  }
  for (const target of scenario.targets) compute.add(target.target, { systemAssigned: target.systemAssigned, userAssigned: target.identities });

  const started: { close(): Promise<void> }[] = [];
  const stop = async (): Promise<void> => {
    for (const server of started.splice(0).reverse()) await server.close();
  };
  try {
    const arm = await FakeArmServer.start({ ca, compute, catalog, tenantId: scenario.tenantId, location: scenario.location });
    started.push(arm);
    if (scenario.arm.faults.length > 0) arm.injectFault(scenarioFaultHook(scenario.arm.faults));
    // With the catalog, federated identities (type 3) exchange pods' service-account tokens here too.
    const aad = await FakeAadServer.start({ ca, tenants: [scenario.tenantId], catalog });
    started.push(aad);
    aad.registerApplication({ tenantId: scenario.tenantId, clientId: scenario.servicePrincipal.clientId, secret: scenario.servicePrincipal.secret });
    const imds = new Map<string, FakeImdsServer>();
    for (const target of scenario.targets) {
      const server = await FakeImdsServer.start({
        compute,
        catalog,
        target: target.target,
        host: scenario.imdsAddress,
        port: target.imdsPort,
        location: scenario.location,
      });
      started.push(server);
      imds.set(computeTargetKey(target.target), server);
    }
    let keyVault: FakeKeyVault | undefined;
    if (scenario.keyVaults.length > 0) {
      keyVault = await FakeKeyVault.start({ ca, tenantId: scenario.tenantId });
      started.push(keyVault);
      for (const vault of scenario.keyVaults) await fillVault(keyVault, vault, catalog);
    }
    return { compute, catalog, arm, aad, imds, keyVault, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Creates one scenario vault in the fake: secrets (every version), keys, certificates, access by identity. */
async function fillVault(kv: FakeKeyVault, vault: ScenarioKeyVault, catalog: FakeIdentityCatalog): Promise<void> {
  kv.createVault(vault.name);
  for (const secret of vault.secrets) {
    for (const value of secret.versions) kv.setSecret(vault.name, secret.name, value, secret.contentType !== undefined ? { contentType: secret.contentType } : {});
  }
  for (const key of vault.keys) kv.createKey(vault.name, key);
  for (const certificate of vault.certificates) {
    await kv.createCertificate(vault.name, certificate.name, { contentType: certificate.format === "pem" ? "application/x-pem-file" : "application/x-pkcs12" });
  }
  for (const access of vault.access) {
    const record = catalog.lookup(access.identityId);
    if (record === undefined) throw new Error(`identity ${access.identity} is not in the catalogue`);
    kv.grant(vault.name, { clientId: record.clientId, objectId: record.principalId }, access.permissions);
  }
}
