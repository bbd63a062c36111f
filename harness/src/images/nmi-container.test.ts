/**
 * The NMI image as a container in a node's network namespace, with exactly the DaemonSet's security context:
 * `--cap-drop ALL --cap-add NET_ADMIN,NET_RAW --read-only`, no-new-privileges, not privileged, root (as the
 * DaemonSet's runAsUser 0), `HOST_IP` set to the node's address as the downward API would. The node namespace
 * is the nmi-e2e topology (harness/src/nmi-e2e/README.md): fake kube-apiserver and fake IMDS on
 * 169.254.169.254:80 inside it, pods on its bridge. A pod's curl to the metadata address gets its own token
 * from the container; after `podman stop` and after `podman kill` the pod's metadata traffic is refused and
 * the fake IMDS sees nothing. The node namespace has `route_localnet` off, so NMI has to DNAT to `HOST_IP`.
 * Needs root, podman, runc, ip and iptables (skipped with the reason otherwise).
 */
import { randomUUID } from "node:crypto";
import { dirname } from "node:path";
import { decodeFakeJwt, iptablesSupport } from "@podid/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { E2eNode, VAULT, e2eIdentity, type E2ePod } from "../nmi-e2e/e2e-node.js";
import { NMI_READY_MESSAGE } from "../nmi-e2e/nmi-process.js";
import { curlMetadata, rawGet, rawRequestFrom, tokenTarget } from "../nmi-e2e/pod-clients.js";
import { Container, ensureImages, NMI_IMAGE, podman, podmanOrThrow, podmanSupport } from "./podman.js";

const containers = podmanSupport();
const netfilter = await iptablesSupport();
const support = !containers.supported ? containers : netfilter;
if (!support.supported) console.warn(`skipping the NMI container test: ${support.reason}`);

const ALPHA = e2eIdentity("id-image-alpha", "team-a");
/** The DaemonSet's securityContext (deploy/base/nmi/nmi-daemonset.yaml) as podman flags. */
const SECURITY = ["--cap-drop", "ALL", "--cap-add", "NET_ADMIN,NET_RAW", "--read-only", "--security-opt", "no-new-privileges", "--user", "0:0"] as const;

describe.skipIf(!support.supported)("NMI image in a node namespace: serves pods, fail-closed across podman stop and kill", () => {
  let node: E2eNode | undefined;
  let alpha: E2ePod;
  const started: Container[] = [];

  /** Starts the NMI container in the node namespace and waits until its interception is installed. */
  const startNmi = async (): Promise<Container> => {
    if (node === undefined) throw new Error("no node");
    const kubeconfig = node.nmiFlags.find((f) => f.startsWith("--kubeconfig="))?.slice("--kubeconfig=".length) ?? "";
    // Kubeconfig and kubelet configuration live in one work directory, mounted read-only.
    const work = dirname(kubeconfig);
    const container = Container.run(
      `podid-nmi-test-${randomUUID().slice(0, 8)}`,
      ["--network", `ns:/run/netns/${node.topology.node.name}`, ...SECURITY, "-v", `${work}:${work}:ro`, "-e", `HOST_IP=${node.topology.nodeAddress}`],
      NMI_IMAGE,
      node.nmiFlags,
    );
    started.push(container);
    await container.waitForLog((l) => l.msg === NMI_READY_MESSAGE, 60_000);
    return container;
  };

  /** The pod gets its own identity's token through the container. */
  const expectOwnToken = async (): Promise<void> => {
    const token = await curlMetadata(alpha.netns, tokenTarget(VAULT), { maxTimeSeconds: 10 });
    expect(token.status, `${token.body}${token.stderr}`).toBe(200);
    expect(decodeFakeJwt(token.json?.["access_token"] as string)).toMatchObject({ appid: ALPHA.clientId, xms_mirid: ALPHA.armId });
  };

  /** Every way the pod tries IMDS is refused at the TCP level, and the fake IMDS sees no request. */
  const expectRefusedAndImdsUntouched = async (): Promise<void> => {
    if (node === undefined) throw new Error("no node");
    const before = (await node.fakes.imds()).counts.requests;
    const token = await curlMetadata(alpha.netns, tokenTarget(VAULT));
    expect({ exit: token.exitCode, status: token.status }, `${token.body}${token.stderr}`).toEqual({ exit: 7, status: undefined });
    const instance = await curlMetadata(alpha.netns, "/metadata/instance?api-version=2021-02-01");
    expect(instance.exitCode, instance.body).toBe(7);
    expect(await rawRequestFrom(alpha.netns, rawGet(tokenTarget(VAULT)))).toEqual({ outcome: "refused" });
    expect((await node.fakes.imds()).counts.requests).toBe(before);
  };

  beforeAll(async () => {
    await ensureImages();
    node = await E2eNode.create({ pods: 1, attached: [ALPHA] });
    // A node as kube-proxy-less clusters have it: no route_localnet, so NMI must DNAT to HOST_IP (a container
    // could not switch it on: /proc/sys is read-only there).
    await node.topology.node.writeSysctls({ "net/ipv4/conf/all/route_localnet": "0" });
    const [p0] = node.topology.pods;
    const binding = await node.addIdentityAndBinding(ALPHA, "alpha");
    alpha = await node.addPod(p0!, { name: "alpha-app", namespace: "team-a", selector: "alpha" });
    await node.assign(alpha.pod, ALPHA, binding);
  }, 20 * 60_000);

  afterAll(async () => {
    for (const container of started) await container.remove();
    await node?.destroy();
  }, 60_000);

  it("runs with only NET_ADMIN and NET_RAW, read-only and unprivileged, and serves the pod its own token", async () => {
    const nmi = await startNmi();
    const inspect = JSON.parse(await podmanOrThrow(["inspect", nmi.name])) as [{ HostConfig: { Privileged: boolean; ReadonlyRootfs: boolean }; EffectiveCaps: string[] | null }];
    expect(inspect[0].HostConfig).toMatchObject({ Privileged: false, ReadonlyRootfs: true });
    expect([...(inspect[0].EffectiveCaps ?? [])].sort()).toEqual(["CAP_NET_ADMIN", "CAP_NET_RAW"]);
    await expectOwnToken();
  }, 120_000);

  it("podman stop: NMI exits, the pod's metadata traffic is refused and never reaches IMDS; a new container serves again", async () => {
    const nmi = started.at(-1);
    if (nmi === undefined) throw new Error("NMI is not running");
    const stop = await podman(["stop", "-t", "15", nmi.name], 30_000);
    expect(stop.code, stop.stderr).toBe(0);
    expect(await nmi.exited).toBe(0);
    await expectRefusedAndImdsUntouched();
    await startNmi();
    await expectOwnToken();
  }, 180_000);

  it("podman kill: the pod's metadata traffic is refused and never reaches IMDS; a new container serves again", async () => {
    const nmi = started.at(-1);
    if (nmi === undefined) throw new Error("NMI is not running");
    const kill = await podman(["kill", nmi.name], 30_000);
    expect(kill.code, kill.stderr).toBe(0);
    expect(await nmi.exited).not.toBe(0);
    await expectRefusedAndImdsUntouched();
    await startNmi();
    await expectOwnToken();
  }, 180_000);
});
