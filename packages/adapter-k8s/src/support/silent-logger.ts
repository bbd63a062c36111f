import type { LoggerPort } from "@podid/core";

/** A {@link LoggerPort} that drops everything: the default when a caller passes no logger. */
export const silentLogger: LoggerPort = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
