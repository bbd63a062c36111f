import { connect, type Socket } from "node:net";

/**
 * The flooding pod of the connection-flood test: opens up to `count` TCP connections from `localAddress`
 * to `127.0.0.1:port`, at most `parallel` connecting at once, each sending an unfinished token request
 * (headers never completed) and then holding the connection. Bounded in count and time: it stops opening
 * after `openMs`, reports `{opened, refused, closedByPeer, errors}` as a JSON line, and exits (closing every
 * socket it holds) when stdin closes or after `holdMs`.
 * @packageDocumentation
 */

interface Args {
  readonly port: number;
  readonly localAddress: string;
  readonly count: number;
  readonly parallel: number;
  readonly openMs: number;
  readonly holdMs: number;
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
const sockets = new Set<Socket>();
let opened = 0;
let attempted = 0;
let closedByPeer = 0;
let pending = 0;
const errors: Record<string, number> = {};
const started = Date.now();
const HALF_REQUEST = "GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\n";

function openOne(): void {
  attempted += 1;
  pending += 1;
  const socket = connect({ host: "127.0.0.1", port: args.port, localAddress: args.localAddress });
  let connected = false;
  socket.on("connect", () => {
    connected = true;
    pending -= 1;
    opened += 1;
    sockets.add(socket);
    socket.write(HALF_REQUEST);
    pump();
  });
  socket.on("error", (error: Error & { code?: string }) => {
    const code = error.code ?? "error";
    errors[code] = (errors[code] ?? 0) + 1;
  });
  socket.on("close", () => {
    if (!connected) {
      pending -= 1;
      pump();
    } else closedByPeer += 1;
    sockets.delete(socket);
  });
  socket.resume();
}

function pump(): void {
  while (pending < args.parallel && attempted < args.count && Date.now() - started < args.openMs) openOne();
  if (pending === 0 && (attempted >= args.count || Date.now() - started >= args.openMs)) report();
}

let reported = false;
function report(): void {
  if (reported) return;
  reported = true;
  process.stdout.write(`${JSON.stringify({ opened, attempted, held: sockets.size, closedByPeer, errors, ms: Date.now() - started })}\n`);
}

const finish = (): void => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
};
setTimeout(report, args.openMs + 1_000).unref();
setTimeout(finish, args.holdMs);
process.stdin.on("end", finish).resume();
pump();
