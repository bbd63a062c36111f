import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import type { ComputeTarget } from "@podid/core";
import { FakeCompute, FakeIdentityCatalog, FakeImdsServer, FakeKubeApiServer, type KubeObject } from "@podid/testkit";
import type { ImdsSnapshot, NodeFakesCommand, NodeFakesReady, NodeFakesReply, NodeFakesSetup } from "./node-fakes-protocol.js";

/**
 * The fakes of one e2e node, run as a process INSIDE the node's network namespace (compiled to
 * `dist/e2e/node-fakes-main.js`; started by `NodeFakes.start`): the fake kube-apiserver on 127.0.0.1 (an
 * ephemeral port, reachable only from that namespace, where NMI runs) and the fake IMDS on
 * 169.254.169.254:80 backed by a `FakeCompute` holding the node's scale set. The test drives both through
 * JSON lines on stdin/stdout (see `node-fakes-protocol.ts`). It exits when stdin closes or on SIGTERM.
 * @packageDocumentation
 */

function send(message: NodeFakesReady | NodeFakesReply): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  const setup = JSON.parse(process.argv[2] ?? "{}") as NodeFakesSetup;
  const api = await FakeKubeApiServer.start({ host: "127.0.0.1", port: 0 });
  api.applyManifests(await readFile(setup.crdsPath, "utf8"));
  await api.writeKubeconfig(setup.kubeconfigPath);

  const compute = new FakeCompute();
  const target: ComputeTarget = compute.add(setup.target, { systemAssigned: setup.systemAssigned, userAssigned: setup.attached });
  const catalog = new FakeIdentityCatalog();
  for (const id of setup.attached) catalog.register(id);
  const imds = await FakeImdsServer.start({ compute, target, catalog, host: setup.imdsHost, port: setup.imdsPort });

  const stop = async (): Promise<void> => {
    await Promise.allSettled([imds.close(), api.close()]);
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop());

  const handle = (command: NodeFakesCommand): unknown => {
    switch (command.op) {
      case "upsert":
        return api.store.upsert(command.object as KubeObject);
      case "remove":
        return api.store.remove(command.resource, command.name, command.namespace);
      case "imds": {
        const snapshot: ImdsSnapshot = { counts: imds.counts(), log: [...imds.requestLog] };
        return snapshot;
      }
    }
  };
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    let command: NodeFakesCommand;
    try {
      command = JSON.parse(line) as NodeFakesCommand;
    } catch (error) {
      send({ rpc: "reply", id: -1, ok: false, error: `unparsable command: ${String(error)}` });
      return;
    }
    try {
      send({ rpc: "reply", id: command.id, ok: true, value: handle(command) ?? null });
    } catch (error) {
      send({ rpc: "reply", id: command.id, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  });
  lines.on("close", () => void stop());

  const system = compute.identitiesOf(target)?.systemAssignedPrincipalId;
  send({ rpc: "ready", apiServerUrl: api.url, imdsUrl: imds.url, ...(system !== undefined ? { systemPrincipalId: system } : {}) });
}

main().catch((error: unknown) => {
  process.stderr.write(`node fakes failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
