/**
 * A loopback stand-in for NMI's `/host/token/` (a real NMI is covered by the system tests): per pod name a script
 * of answers (status codes; 200 mints a testkit fake token for the pod's client id), and a log of what it saw.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { encodeFakeJwt } from "@podid/testkit";

/** One request NMI saw. */
export interface NmiRequestSeen {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** How NMI answers one pod: the identity it holds and the statuses of its answers in order (the last repeats). */
export interface PodScript {
  readonly clientId: string;
  readonly answers: readonly number[];
}

/** The stand-in. */
export class NmiStandIn {
  readonly requests: NmiRequestSeen[] = [];
  /** Every access token it handed out (tests check none is logged). */
  readonly issuedTokens: string[] = [];
  readonly #pods = new Map<string, PodScript>();
  readonly #served = new Map<string, number>();
  readonly #server: Server;
  readonly #tenantId: string;

  private constructor(server: Server, tenantId: string) {
    this.#server = server;
    this.#tenantId = tenantId;
  }

  /** Starts on an ephemeral loopback port. */
  static async start(tenantId: string): Promise<NmiStandIn> {
    let standIn: NmiStandIn | undefined;
    const server = createServer((req, res) => standIn?.answer(req.url ?? "", req.headers, res.writeHead.bind(res), res.end.bind(res)));
    standIn = new NmiStandIn(server, tenantId);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return standIn;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Sets how NMI answers for `<namespace>/<name>`. */
  script(pod: string, script: PodScript): void {
    this.#pods.set(pod, script);
    this.#served.set(pod, 0);
  }

  /** Requests for one pod. */
  requestsFor(pod: string): NmiRequestSeen[] {
    return this.requests.filter((r) => `${String(r.headers["podns"])}/${String(r.headers["podname"])}` === pod);
  }

  /** A testkit fake token for `clientId` and `resource`, valid for an hour, as the real NMI would pass on from IMDS. */
  mintToken(clientId: string, resource: string): string {
    const now = Math.floor(Date.now() / 1000);
    return encodeFakeJwt({
      aud: resource,
      iss: `https://sts.windows.net/${this.#tenantId}/`,
      appid: clientId,
      oid: randomUUID(),
      sub: randomUUID(),
      tid: this.#tenantId,
      iat: now,
      nbf: now,
      exp: now + 3600,
      uti: randomUUID(),
      ver: "1.0",
    });
  }

  private answer(url: string, headers: IncomingHttpHeaders, writeHead: (status: number, headers: Record<string, string>) => unknown, end: (body: string) => unknown): void {
    this.requests.push({ url, headers });
    const pod = `${String(headers["podns"])}/${String(headers["podname"])}`;
    const script = this.#pods.get(pod);
    const served = this.#served.get(pod) ?? 0;
    this.#served.set(pod, served + 1);
    const status = script === undefined ? 404 : (script.answers[Math.min(served, script.answers.length - 1)] ?? 404);
    if (script === undefined || status !== 200 || !url.startsWith("/host/token/?resource=")) {
      writeHead(status === 200 ? 404 : status, { "content-type": "text/plain" });
      end(`no token for pod ${pod} yet`);
      return;
    }
    const resource = url.slice("/host/token/?resource=".length);
    const now = Math.floor(Date.now() / 1000);
    const accessToken = this.mintToken(script.clientId, resource);
    this.issuedTokens.push(accessToken);
    writeHead(200, { "content-type": "application/json" });
    // expires_on as a numeric string, as NMI (and IMDS before it) sends it.
    end(JSON.stringify({ token: { access_token: accessToken, refresh_token: "", expires_in: "3600", expires_on: String(now + 3600), not_before: String(now), resource, token_type: "Bearer" }, clientid: script.clientId }));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
