import type { ObjectMeta } from "./types.js";
import type { WireObjectMeta } from "./wire-types.js";

/**
 * `metadata` as the API server would hold it: empty namespace (cluster-scoped), empty maps and lists and
 * unset optional fields are omitted; maps and lists are copied so the result never aliases the model.
 */
export function serialiseObjectMeta(meta: ObjectMeta): WireObjectMeta {
  return {
    name: meta.name,
    ...(meta.namespace !== "" ? { namespace: meta.namespace } : {}),
    ...(meta.uid !== undefined ? { uid: meta.uid } : {}),
    ...(meta.resourceVersion !== undefined ? { resourceVersion: meta.resourceVersion } : {}),
    ...(meta.generation !== undefined ? { generation: meta.generation } : {}),
    ...(meta.creationTimestamp !== undefined ? { creationTimestamp: meta.creationTimestamp } : {}),
    ...(meta.deletionTimestamp !== undefined ? { deletionTimestamp: meta.deletionTimestamp } : {}),
    ...(Object.keys(meta.labels).length > 0 ? { labels: { ...meta.labels } } : {}),
    ...(Object.keys(meta.annotations).length > 0 ? { annotations: { ...meta.annotations } } : {}),
    ...(meta.finalizers.length > 0 ? { finalizers: [...meta.finalizers] } : {}),
  };
}
