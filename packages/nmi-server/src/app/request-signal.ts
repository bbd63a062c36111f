/**
 * The abort signal of one request, built only when a flow asks for it. Most requests are answered from
 * the token cache without ever waiting, and an `AbortController` plus a `close` listener on the response
 * cost a third of such a request's time; so the controller is created on the first read of
 * {@link RequestSignal.signal} (an assignment wait or a forwarded request), and it then aborts on the
 * client's disconnect or on NMI's shutdown, whichever comes first.
 * @packageDocumentation
 */

/** Subscribes to the client going away before its answer is sent; returns the unsubscribe. */
export type OnClientGone = (listener: (reason: Error) => void) => () => void;

/** The lazily built signal of one request. {@link dispose} once the request is answered. */
export class RequestSignal {
  readonly #onClientGone: OnClientGone;
  readonly #shutdown: AbortSignal;
  /** Controllers of the requests in flight, which shutdown aborts. */
  readonly #active: Set<AbortController>;
  #controller: AbortController | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(onClientGone: OnClientGone, shutdown: AbortSignal, active: Set<AbortController>) {
    this.#onClientGone = onClientGone;
    this.#shutdown = shutdown;
    this.#active = active;
  }

  /** Aborts when the client goes away or NMI shuts down. */
  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      const created = new AbortController();
      controller = created;
      this.#controller = created;
      if (this.#shutdown.aborted) {
        created.abort(this.#shutdown.reason);
      } else {
        this.#active.add(created);
        this.#unsubscribe = this.#onClientGone((reason) => created.abort(reason));
      }
    }
    return controller.signal;
  }

  /** Stops listening and leaves the shutdown set. */
  dispose(): void {
    if (this.#controller === undefined) return;
    this.#active.delete(this.#controller);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }
}
