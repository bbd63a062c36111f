import { createServer, type AddressInfo, type Server } from "node:net";

/**
 * A second listening address for the token server: a plain TCP listener that hands every accepted
 * connection to the token server's own HTTP server (its `connection` event), so the same routes, limits
 * and timeouts apply. Used for 127.0.0.1 next to the node IP (`listenAddressesFrom`).
 * @packageDocumentation
 */

/** A listener started by {@link listenAlso}. */
export interface ExtraListener {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

/** Listens on `host:port` and passes connections to `target`; rejects when the address cannot be bound. */
export function listenAlso(target: Pick<Server, "emit">, host: string, port: number): Promise<ExtraListener> {
  const server = createServer((socket) => {
    target.emit("connection", socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve({
        address: server.address() as AddressInfo,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}
