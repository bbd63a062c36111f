/**
 * Errors a user can act on, end to end through the CLI and client-node: an unreachable API server names its
 * URL and suggests --kubeconfig; missing CRDs say how to install them; a missing pod names the namespace
 * that has one; a kubeconfig that cannot be loaded says which file.
 */
import { createServer, type AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildKubeconfig } from "@podid/testkit";
import { ExplainWorld } from "../test-support/explain-world.js";
import { runCli } from "../test-support/run-cli.js";

let world: ExplainWorld | undefined;
let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "podid-errors-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("podid explain errors", () => {
  it("unreachable API server: names the URL and suggests --kubeconfig", async () => {
    const port = await closedPort();
    const kubeconfig = join(dir, "unreachable");
    writeFileSync(kubeconfig, buildKubeconfig(`http://127.0.0.1:${port}`, undefined));
    const run = await runCli(["explain", "pod", "app", "--kubeconfig", kubeconfig]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`podid: cannot reach the Kubernetes API server at http://127.0.0.1:${port}`);
    expect(run.stderr).toContain("ECONNREFUSED");
    expect(run.stderr).toContain(`→ is the cluster running and reachable? pass --kubeconfig <file> (and --context <name>) or set KUBECONFIG (kubeconfig used: ${kubeconfig})`);
  });

  it("missing CRDs: tells to apply deploy/crds.yaml", async () => {
    world = await ExplainWorld.start({ crds: false });
    world.pod("default", "app", { aadpodidbinding: "x" }, undefined);
    const run = await world.run(["explain", "pod", "app"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `podid: the podid CRDs are not installed in the cluster at ${world.server.url} (GET /apis/aadpodidentity.k8s.io/v1/azureidentities answered 404)\n  → kubectl apply -f deploy/crds.yaml\n`,
    );
    const identity = await world.run(["explain", "identity", "x"]);
    expect(identity.stderr).toContain("the podid CRDs are not installed");
  });

  it("pod not found: names the namespace that has a pod of that name", async () => {
    world = await ExplainWorld.start();
    world.pod("team-a", "app", {}, undefined);
    const run = await world.run(["explain", "pod", "app", "-n", "default"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("podid: pod default/app not found\n  → a pod named app exists in namespace team-a: use -n team-a\n");
    const nowhere = await world.run(["explain", "pod", "ghost"]);
    expect(nowhere.stderr).toBe("podid: pod default/ghost not found\n  → kubectl get pods -A | grep ghost\n");
  });

  it("a kubeconfig that cannot be loaded names the file", async () => {
    const run = await runCli(["explain", "pod", "app", "--kubeconfig", join(dir, "does-not-exist")]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^podid: cannot load .*does-not-exist: /);
    expect(run.stderr).toContain("→ pass --kubeconfig <file> (and --context <name>) or set KUBECONFIG");
  });

  it("usage errors exit 1 with commander's message", async () => {
    const run = await runCli(["explain", "pod"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("missing required argument 'name'");
    const badOutput = await runCli(["plan", "-f", "examples/demo", "-o", "yaml"]);
    expect(badOutput.code).toBe(1);
    expect(badOutput.stderr).toContain("must be text or json");
  });

  it("the namespace defaults to the kubeconfig context's", async () => {
    world = await ExplainWorld.start();
    world.pod("team-a", "app", { aadpodidbinding: "x" }, undefined);
    const kubeconfig = join(dir, "team-a");
    writeFileSync(kubeconfig, world.server.kubeconfig({ namespace: "team-a" }));
    const run = await runCli(["explain", "pod", "app", "--kubeconfig", kubeconfig, "-o", "json"]);
    expect(run.stderr).toBe("");
    expect((JSON.parse(run.stdout) as { pod: { namespace: string } }).pod.namespace).toBe("team-a");
  });
});
