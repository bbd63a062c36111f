/**
 * Messages between `bench:mic-real` (the measuring process) and its fakes process over the child's IPC
 * channel. The fakes live in their own process because at 10,000 pods the fake kube-apiserver and ARM
 * hold hundreds of MB and busy CPUs of their own; in the measuring process they would distort its timing.
 * @packageDocumentation
 */

/** The cluster a scenario builds (the same shapes `sim:scale` simulates). */
export interface BenchShape {
  readonly pods: number;
  readonly nodes: number;
  readonly nodesPerScaleSet: number;
  readonly identities: number;
  readonly namespaces: number;
}

/** Measuring process → fakes. */
export type ToFakes =
  | { readonly type: "start"; readonly shape: BenchShape; readonly vmssPatchLatencyMs: number; readonly dir: string }
  | { readonly type: "stop" };

/** Kube requests MIC sent (by its User-Agent), by verb and resource. */
export interface KubeRequestTally {
  readonly writes: number;
  readonly reads: number;
  /** Writes by resource (`azureassignedidentities`, `events`, `leases`, …). */
  readonly writesByResource: Readonly<Record<string, number>>;
}

/** Fakes → measuring process. */
export type FromFakes =
  | {
      readonly type: "ready";
      readonly kubeUrl: string;
      readonly kubeconfigPath: string;
      readonly azureJsonPath: string;
      /** Environment a child needs to trust the fakes' HTTPS (the run CA). */
      readonly childEnv: Readonly<Record<string, string>>;
    }
  | {
      readonly type: "tick";
      /** `Date.now()` in the fakes process when the sample was taken. */
      readonly atMs: number;
      readonly aais: number;
      readonly assigned: number;
      readonly kube: KubeRequestTally;
      readonly armPatches: number;
      readonly armGets: number;
    }
  | { readonly type: "error"; readonly message: string };

/** The User-Agent the bench's own writes (nodes, identities, bindings, pods) carry, so they are not counted as MIC's. */
export const BENCH_USER_AGENT = "podid-bench-mic-real";

/** The resource a request path addresses (`/api/v1/namespaces/ns/events` → `events`, `/api/v1/nodes` → `nodes`). */
export function resourceOfPath(path: string): string {
  const segments = (path.split("?")[0] ?? "").split("/").filter((s) => s !== "");
  const ns = segments.indexOf("namespaces");
  if (ns >= 0 && segments.length > ns + 2) return segments[ns + 2] ?? "";
  return segments[segments[0] === "api" ? 2 : 3] ?? "";
}
