import { readFileSync } from "node:fs";
import type { Server, Socket } from "node:net";
import type { NmiConfig } from "./config/nmi-config.js";

/**
 * Connection limits of the token server (docs/compatibility.md#connection-limits): enforced when a
 * connection is accepted, before any HTTP parsing. At most `maxConnectionsPerPod` connections per source
 * address (a pod's IP) — an over-limit socket is destroyed at once — and at most `maxConnections` in total
 * (`server.maxConnections`, which Node enforces before it even emits `connection`), capped again below the
 * process's soft descriptor limit minus `descriptorReserve`, which is kept for the probe and metrics
 * servers, the interception repair, the API server watches and the upstream calls.
 * @packageDocumentation
 */

/** The soft `RLIMIT_NOFILE` of this process (Linux `/proc/self/limits`), or `undefined` when unknown or unlimited. */
export function openFilesSoftLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    const value = soft === undefined ? Number.NaN : Number(soft);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The total connection cap: the configured one, but never above the soft descriptor limit minus the reserve (at least 1). */
export function totalConnectionCap(maxConnections: number, softLimit: number | undefined, reserve: number): number {
  return softLimit === undefined ? maxConnections : Math.max(1, Math.min(maxConnections, softLimit - reserve));
}

/** Installs the limits and timeouts on the token server's `server`; returns the total cap in force. */
export function limitConnections(server: Server & { headersTimeout?: number; requestTimeout?: number; keepAliveTimeout?: number }, config: NmiConfig, softLimit = openFilesSoftLimit()): number {
  const cap = totalConnectionCap(config.maxConnections, softLimit, config.descriptorReserve);
  server.maxConnections = cap;
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  const perSource = new Map<string, number>();
  const perPod = config.maxConnectionsPerPod;
  // Prepended: the over-limit socket goes before Node's HTTP layer sets up a parser for it.
  server.prependListener("connection", (socket: Socket) => {
    const source = socket.remoteAddress ?? "";
    const open = perSource.get(source) ?? 0;
    if (open >= perPod) {
      socket.destroy();
      return;
    }
    perSource.set(source, open + 1);
    socket.once("close", () => {
      const left = (perSource.get(source) ?? 1) - 1;
      if (left > 0) perSource.set(source, left);
      else perSource.delete(source);
    });
  });
  return cap;
}
