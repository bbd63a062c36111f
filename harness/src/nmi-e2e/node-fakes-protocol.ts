import type { ComputeTarget } from "@podid/core";
import type { FakeImdsCounts, FakeImdsRequestLogEntry } from "@podid/testkit";

/**
 * The line protocol between an e2e test (root namespace) and the fakes process it runs inside the node
 * namespace (`node-fakes-main.ts`). Commands go to the process's stdin and replies come back on its stdout,
 * one JSON object per line: no socket is needed between the namespaces, so nothing listens on any address
 * outside the node namespace.
 * @packageDocumentation
 */

/** What the fakes process starts with (its first argument, JSON). */
export interface NodeFakesSetup {
  /** `deploy/crds.yaml`, applied to the fake kube-apiserver before anything else. */
  readonly crdsPath: string;
  /** Where to write the kubeconfig NMI reads (`--kubeconfig`). */
  readonly kubeconfigPath: string;
  /** The node's scale set (the fake IMDS answers for it). */
  readonly target: ComputeTarget;
  /** Whether the scale set has a system-assigned identity (the node identity exceptions get). */
  readonly systemAssigned: boolean;
  /** ARM ids of user-assigned identities attached to the scale set from the start. */
  readonly attached: readonly string[];
  /** Bind address of the fake IMDS (`169.254.169.254` on the node namespace's `lo`). */
  readonly imdsHost: string;
  readonly imdsPort: number;
}

/** The first line the process prints once both fakes listen. */
export interface NodeFakesReady {
  readonly rpc: "ready";
  readonly apiServerUrl: string;
  readonly imdsUrl: string;
  /** Principal id of the scale set's system-assigned identity (the `oid` of node-identity tokens). */
  readonly systemPrincipalId?: string;
}

/** A command sent to the process. `id` pairs it with its reply. */
export type NodeFakesCommand =
  /** Creates or replaces an object in the fake kube-apiserver (watchers see it like any other write). */
  | { readonly id: number; readonly op: "upsert"; readonly object: Readonly<Record<string, unknown>> }
  /** Removes an object at once (finalizers ignored). */
  | { readonly id: number; readonly op: "remove"; readonly resource: string; readonly name: string; readonly namespace?: string }
  /** The fake IMDS's counters and request log. */
  | { readonly id: number; readonly op: "imds" };

/** What the fake IMDS has seen. */
export interface ImdsSnapshot {
  readonly counts: FakeImdsCounts;
  readonly log: readonly FakeImdsRequestLogEntry[];
}

/** The reply to a command. */
export type NodeFakesReply =
  | { readonly rpc: "reply"; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly rpc: "reply"; readonly id: number; readonly ok: false; readonly error: string };
