import { Observable, type Middleware, type ObservableMiddleware, type RequestContext, type ResponseContext } from "@kubernetes/client-node";

/** Passes responses through untouched (every middleware needs a `post`). */
const passThrough = (response: ResponseContext): Promise<ResponseContext> => Promise.resolve(response);

/**
 * Waits for `acquire()` before each request leaves, so every generated-API call of a client shares one
 * client-side rate limit (client-go applies its limiter the same way, per request, retries included).
 * `onSend` runs once the request may go (used for counting).
 */
export function rateLimitMiddleware(acquire: () => Promise<void>, onSend?: () => void): Middleware {
  return {
    pre: async (request: RequestContext) => {
      await acquire();
      onSend?.();
      return request;
    },
    post: passThrough,
  };
}

/**
 * Gives each request a deadline unless the caller already set a signal: client-node's fetch has none of
 * its own, so a request to a server that accepts the connection and never answers would hang its
 * caller (and a whole reconcile cycle or election loop) forever. Place it before other signal-setting
 * middleware to take precedence.
 */
export function timeoutMiddleware(timeoutMs: number): Middleware {
  return {
    pre: (request: RequestContext) => {
      if (request.getSignal() === undefined) request.setSignal(AbortSignal.timeout(timeoutMs));
      return Promise.resolve(request);
    },
    post: passThrough,
  };
}

/** Sets a header on every request (User-Agent, Content-Type of patches). */
export function headerMiddleware(name: string, value: string): Middleware {
  return {
    pre: (request: RequestContext) => {
      request.setHeaderParam(name, value);
      return Promise.resolve(request);
    },
    post: passThrough,
  };
}

/**
 * {@link timeoutMiddleware} in the Observable form that per-call `ConfigurationOptions` of the
 * object-parameter APIs take (the generated client wraps only configuration-level middleware itself).
 */
export function observableTimeoutMiddleware(timeoutMs: number): ObservableMiddleware {
  const inner = timeoutMiddleware(timeoutMs);
  return {
    pre: (request: RequestContext) => new Observable(inner.pre(request)),
    post: (response: ResponseContext) => new Observable(inner.post(response)),
  };
}
