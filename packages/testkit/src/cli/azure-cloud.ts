/**
 * The Azure half of the embedded cluster: a scale set in a {@link FakeCompute}, the identity catalogue, and
 * the fake ARM, AAD and IMDS servers on loopback, plus the `azure.json` that points MIC at them. Used by
 * the demo (`npm run demo`).
 * @packageDocumentation
 */
import { writeFile } from "node:fs/promises";
import type { ComputeTarget } from "@podid/core";
import { FakeAadServer } from "../azure/fake-aad-server.js";
import { FakeArmServer } from "../azure/fake-arm-server.js";
import { FakeImdsServer } from "../azure/fake-imds-server.js";
import { systemClock } from "../azure/system-clock.js";
import { FakeCompute } from "../fakes/fake-compute.js";
import { FakeIdentityCatalog } from "../fakes/fake-identity-catalog.js";
import type { TestCertificateAuthority } from "../tls/test-certificate-authority.js";
import type { ClusterComponent } from "./embedded-cluster.js";

/** The service principal MIC signs in with (registered in the fake AAD). */
export interface DemoServicePrincipal {
  readonly tenantId: string;
  readonly clientId: string;
  readonly secret: string;
}

/** Options of {@link startAzureCloud}. */
export interface AzureCloudOptions {
  readonly ca: TestCertificateAuthority;
  readonly scaleSet: ComputeTarget;
  /** User-assigned identities that exist in the subscription (ARM ids), with their client ids. */
  readonly identities: readonly { readonly id: string; readonly clientId: string }[];
  readonly servicePrincipal: DemoServicePrincipal;
  /** How long a scale-set PATCH takes (real ms), to make the operation visible. */
  readonly patchLatencyMs: number;
  /**
   * Federated identity credentials of the identities (docs/adr/0021-federated-identities.md): how long a write
   * runs and how long the fake AAD keeps answering AADSTS70021 after it (real ms; default 0 and 0).
   */
  readonly federated?: { readonly writeLatencyMs?: number; readonly propagationDelayMs?: number };
}

/** The running Azure fakes. */
export interface AzureCloud extends ClusterComponent {
  readonly compute: FakeCompute;
  readonly catalog: FakeIdentityCatalog;
  readonly arm: FakeArmServer;
  readonly aad: FakeAadServer;
  readonly imds: FakeImdsServer;
  /** Writes the azure.json MIC reads (`--cloudconfig`). */
  writeAzureJson(path: string): Promise<void>;
}

/** Starts the Azure fakes; stops what it started if a later step fails. */
export async function startAzureCloud(options: AzureCloudOptions): Promise<AzureCloud> {
  const compute = new FakeCompute({
    clock: systemClock,
    patchLatencyMs: (target) => (target.kind === "vmss" ? options.patchLatencyMs : options.patchLatencyMs / 2),
    oneOperationAtATimePerTarget: true,
  });
  compute.add(options.scaleSet, { systemAssigned: true });
  const catalog = new FakeIdentityCatalog({ clock: systemClock, ...(options.federated === undefined ? {} : { federated: options.federated }) });
  for (const identity of options.identities) catalog.register({ id: identity.id, clientId: identity.clientId, tenantId: options.servicePrincipal.tenantId });
  const started: { close(): Promise<void> }[] = [];
  try {
    const arm = await FakeArmServer.start({ ca: options.ca, compute, catalog, tenantId: options.servicePrincipal.tenantId });
    started.push(arm);
    // With the catalog, the fake AAD also exchanges service-account tokens for the identities' tokens (type 3).
    const aad = await FakeAadServer.start({ ca: options.ca, tenants: [options.servicePrincipal.tenantId], catalog });
    started.push(aad);
    aad.registerApplication({
      tenantId: options.servicePrincipal.tenantId,
      clientId: options.servicePrincipal.clientId,
      secret: options.servicePrincipal.secret,
    });
    const imds = await FakeImdsServer.start({ compute, target: options.scaleSet, catalog });
    started.push(imds);
    const stop = async () => {
      for (const server of [...started].reverse()) await server.close();
      started.length = 0;
    };
    return {
      name: "azure",
      compute,
      catalog,
      arm,
      aad,
      imds,
      describe: () => [`ARM on ${arm.url}`, `AAD on ${aad.url}`, `IMDS of ${options.scaleSet.name} on ${imds.url}`],
      stop,
      writeAzureJson: (path) =>
        writeFile(
          path,
          JSON.stringify(
            {
              cloud: "AzurePublicCloud",
              tenantId: options.servicePrincipal.tenantId,
              aadClientId: options.servicePrincipal.clientId,
              aadClientSecret: options.servicePrincipal.secret,
              subscriptionId: options.scaleSet.subscriptionId,
              resourceGroup: options.scaleSet.resourceGroup,
              vmType: "vmss",
              // podid's custom-cloud fields: where ARM and AAD are (here: the fakes).
              resourceManagerEndpoint: arm.url,
              activeDirectoryEndpoint: aad.url,
            },
            null,
            2,
          ),
        ),
    };
  } catch (error) {
    for (const server of [...started].reverse()) await server.close();
    throw error;
  }
}
