/**
 * The last line of `podid-sim demo --federated`: the seed demo's summary plus what federation changes (no
 * PATCH, one credential write, the exchanges at AAD, the first token timed from the pod turning Running).
 * @packageDocumentation
 */
import type { FakeTokenClaims } from "../fakes/fake-jwt.js";
import { demoSummary, type DemoSummary } from "./demo-summary.js";

/** The summary line of `podid-sim demo --federated`. */
export interface FederatedDemoSummary extends DemoSummary {
  /** `spec.type` of the identity: 3, federated (docs/adr/0021-federated-identities.md). */
  readonly identityType: 3;
  readonly identityTypeName: "federated";
  /** Federated identity credential writes (creates and updates) fake ARM accepted until the token step. */
  readonly ficWrites: number;
  /** The credential MIC created. */
  readonly ficName: string;
  /** Federated exchanges at the fake AAD until the token step (refused: AADSTS70021 while the credential propagated). */
  readonly aadExchanges: { readonly accepted: number; readonly refused: number };
  /** From the kubelet reporting the pod Running to the app (its SDK already loaded) holding its first token, ms. */
  readonly firstTokenAfterRunningMs: number;
  /** Whether MIC deleted its credential once the pod was gone (`null` with `--keep`). */
  readonly ficRemovedWithPod: boolean | null;
}

/** Builds the summary from what the federated demo observed. */
export function federatedDemoSummary(
  observed: Parameters<typeof demoSummary>[0] & {
    readonly ficWrites: number;
    readonly ficName: string;
    readonly aadExchanges: { readonly accepted: number; readonly refused: number };
    readonly firstTokenAfterRunningMs: number;
    readonly ficRemovedWithPod: boolean | null;
  },
): FederatedDemoSummary {
  return {
    ...demoSummary(observed),
    scenario: "seed-federated",
    identityType: 3,
    identityTypeName: "federated",
    ficWrites: observed.ficWrites,
    ficName: observed.ficName,
    aadExchanges: observed.aadExchanges,
    firstTokenAfterRunningMs: observed.firstTokenAfterRunningMs,
    ficRemovedWithPod: observed.ficRemovedWithPod,
  };
}
