import { decideForwardRequest, IMDS_CONTENT_TYPE, type ImdsResponse, type RequestRoute } from "@podid/core";
import { NMI_METRIC } from "../observability/nmi-metrics.js";
import type { FlowContext, FlowRequest, FlowResult } from "./flow-context.js";

/**
 * Everything that is not a token path: core decides (instance block 403, Metadata header 400, forwarding
 * headers 400, else forward), and a forwarded request goes to the metadata endpoint unchanged.
 * @packageDocumentation
 */

/** The answer when IMDS cannot be reached: 500, as the original's proxy answered, in IMDS's error shape. */
export function upstreamFailureResponse(message: string): ImdsResponse {
  return {
    status: 500,
    headers: { "content-type": IMDS_CONTENT_TYPE },
    body: { error: "server_error", error_description: `failed to reach the instance metadata service: ${message}` },
  };
}

/** The status class label of a forwarded answer. */
function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : "other";
}

/** Serves a `proxy` or `instance` route. */
export async function serveForward(
  ctx: FlowContext,
  req: FlowRequest,
  route: Extract<RequestRoute, { readonly route: "proxy" | "instance" }>,
): Promise<FlowResult> {
  const decision = decideForwardRequest(route, req.headers, ctx.options);
  if (decision.kind !== "forward") {
    if (decision.kind === "badRequest" || decision.kind === "instanceBlocked") return { kind: "outcome", outcome: decision };
    throw new Error(`invariant: ${decision.kind} decision on a forwarded route`);
  }
  const answer = await ctx.forwarder.forward({
    method: req.method,
    target: decision.target,
    headers: req.headers,
    signal: req.signal,
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
  if (!answer.ok) {
    ctx.metrics.increment(NMI_METRIC.proxied, { class: "error" });
    return { kind: "response", decision: "forwardFailed", response: upstreamFailureResponse(answer.error.message) };
  }
  ctx.metrics.increment(NMI_METRIC.proxied, { class: statusClass(answer.value.status) });
  return { kind: "forwarded", response: answer.value };
}
