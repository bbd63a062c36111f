/**
 * Turns a typed client-node model (e.g. `V1Pod` from `CoreV1Api.list*`) back into wire JSON. The
 * generated API deserialises timestamps into `Date`s while watch events arrive as raw JSON; core's
 * parsers read wire JSON, so list results are normalised first. The attribute names of every model
 * podid lists (pods, nodes) equal their wire names — only `V1ListMeta._continue` differs, and list
 * metadata is read separately.
 */
export function toWireJson(model: unknown): unknown {
  return model === undefined ? undefined : (JSON.parse(JSON.stringify(model)) as unknown);
}
