import { Watch, type KubeConfig } from "@kubernetes/client-node";

/** What an {@link InformerWatch} reports to the informer that owns it. */
export interface InformerWatchHooks {
  /** Waits for the client's rate limiter before the watch request leaves. */
  readonly beforeRequest: () => Promise<void>;
  /** False once the informer has stopped or moved on to a newer list/watch generation. */
  readonly isCurrent: () => boolean;
  /** Every watch event, bookmarks and ERROR events included (feeds the watchdog). */
  readonly onEvent: (phase: string) => void;
  /** The watch request was answered 200 and the stream is open. */
  readonly onConnected: () => void;
}

/** Raised into a stale watch's `done` callback; the owning informer ignores it. */
export class StaleWatchError extends Error {
  /** The error a superseded watch ends with. */
  constructor() {
    super("watch belongs to a stopped or superseded informer generation");
    this.name = "StaleWatchError";
  }
}

/**
 * client-node's `Watch` with what podid's informers need around it:
 * - requests go through the client's rate limiter, like client-go's watches;
 * - `allowWatchBookmarks=true` is sent, so a healthy but quiet watch still shows signs of life (the
 *   watchdog relists only when even bookmarks stop) and reconnects resume from a recent resourceVersion;
 * - events of a superseded generation are dropped, and a watch that finishes connecting after its
 *   informer stopped is aborted at once — `ListWatch.stop()` cannot abort a watch that is still
 *   connecting (docs/compatibility.md#kubernetes-client-behaviour), which otherwise leaks a live watch
 *   feeding a dead cache.
 */
export class InformerWatch extends Watch {
  readonly #hooks: InformerWatchHooks;

  /** A watch on `config`'s cluster reporting to `hooks`. */
  constructor(config: KubeConfig, hooks: InformerWatchHooks) {
    super(config);
    this.#hooks = hooks;
  }

  /** client-node's `watch` with the rate limit, bookmarks and staleness guard described on the class. */
  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (!this.#hooks.isCurrent()) return abandoned(done);
    await this.#hooks.beforeRequest();
    if (!this.#hooks.isCurrent()) return abandoned(done);
    let ended = false;
    const controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true },
      (phase, apiObj, watchObj) => {
        if (!this.#hooks.isCurrent()) return;
        this.#hooks.onEvent(phase);
        callback(phase, apiObj, watchObj);
      },
      (err: unknown) => {
        ended = true;
        done(err);
      },
    );
    if (!this.#hooks.isCurrent()) controller.abort();
    else if (!ended) this.#hooks.onConnected();
    return controller;
  }
}

function abandoned(done: (err: unknown) => void): AbortController {
  const controller = new AbortController();
  controller.abort();
  done(new StaleWatchError());
  return controller;
}
