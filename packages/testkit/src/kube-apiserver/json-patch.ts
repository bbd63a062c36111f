/**
 * JSON patch (RFC 6902, `application/json-patch+json`) via fast-json-patch — the default patch type of
 * @kubernetes/client-node's `patch*` calls and what MIC uses for `/status/status`.
 * @packageDocumentation
 */
import jsonpatch from "fast-json-patch";
import type { Operation } from "fast-json-patch";
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from "./json.js";
import { ApiError, badRequest } from "./status.js";

/**
 * Applies the operations in `patch` to a copy of `target`. A body that is not a list of operations is a 400;
 * an operation that cannot apply (missing path, failed `test`) is a 422, as on the real server.
 */
export function applyJsonPatch(target: JsonObject, patch: JsonValue): JsonObject {
  if (!Array.isArray(patch) || !patch.every((op) => isJsonObject(op) && typeof op["op"] === "string" && typeof op["path"] === "string")) {
    throw badRequest("json patch must be a list of operations, each with \"op\" and \"path\"");
  }
  try {
    const result = jsonpatch.applyPatch(cloneJson(target), patch as unknown as Operation[], true, true).newDocument as unknown;
    if (!isJsonObject(result)) throw badRequest("json patch replaced the object with a non-object");
    return result;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : String(error);
    throw new ApiError(422, "Invalid", `the server rejected our request due to an error in our request: ${message}`, {
      causes: [{ reason: "FieldValueInvalid", field: "patch", message }],
    });
  }
}
