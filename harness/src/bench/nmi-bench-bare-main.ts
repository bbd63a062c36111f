/**
 * The baseline process of `npm run bench:nmi`: a bare `node:http` server answering every request with the
 * very token body (and headers) NMI answers a pod with, so the benchmark compares NMI's per-request work
 * with nothing but Node's HTTP stack. Arguments: `<host> <port> <body file>`. Prints `listening` once bound;
 * exits on SIGTERM.
 * @packageDocumentation
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [host = "127.0.0.1", portText = "0", bodyPath = ""] = process.argv.slice(2);
const body = readFileSync(bodyPath, "utf8");
const length = Buffer.byteLength(body);
const server = createServer((_request, response) => {
  response.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": length });
  response.end(body);
});
server.listen(Number(portText), host, () => process.stdout.write("listening\n"));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
