/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) for the few kinds
 * kubectl sends that way: kubectl ≥1.33 creates objects through typed clients that encode protobuf, e.g.
 * `kubectl create namespace`, `kubectl create configmap`, `kubectl create secret generic`. (Responses are
 * always JSON: those clients also accept `application/json`.)
 *
 * Wire format: the magic `k8s\0`, then a `runtime.Unknown` message (`typeMeta` 1 {apiVersion 1, kind 2},
 * `raw` 2, `contentEncoding` 3, `contentType` 4) whose `raw` is the typed message. The typed messages are
 * decoded from the field numbers of k8s.io/api's `generated.proto` for Namespace, ConfigMap, Secret,
 * ServiceAccount and TokenRequest (and ObjectMeta); any other kind is answered with 415, as a server without protobuf support would.
 * @packageDocumentation
 */
import type { JsonObject, JsonValue } from "./json.js";
import { badRequest, unsupportedMediaType } from "./status.js";

/** Content type of Kubernetes protobuf. */
export const PROTOBUF_CONTENT_TYPE = "application/vnd.kubernetes.protobuf";

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

type FieldType =
  | "string"
  | "bytes"
  | "int64"
  | "bool"
  | "time"
  | "stringMap"
  | "bytesMap"
  | "repeatedString"
  | { readonly message: Schema; readonly repeated?: boolean };

interface Schema {
  readonly [field: number]: readonly [name: string, type: FieldType];
}

const OWNER_REFERENCE: Schema = {
  1: ["kind", "string"],
  3: ["name", "string"],
  4: ["uid", "string"],
  5: ["apiVersion", "string"],
  6: ["controller", "bool"],
  7: ["blockOwnerDeletion", "bool"],
};

const OBJECT_META: Schema = {
  1: ["name", "string"],
  2: ["generateName", "string"],
  3: ["namespace", "string"],
  5: ["uid", "string"],
  6: ["resourceVersion", "string"],
  7: ["generation", "int64"],
  8: ["creationTimestamp", "time"],
  9: ["deletionTimestamp", "time"],
  10: ["deletionGracePeriodSeconds", "int64"],
  11: ["labels", "stringMap"],
  12: ["annotations", "stringMap"],
  13: ["ownerReferences", { message: OWNER_REFERENCE, repeated: true }],
  14: ["finalizers", "repeatedString"],
};

const KINDS: Readonly<Record<string, Schema>> = {
  "v1/Namespace": {
    1: ["metadata", { message: OBJECT_META }],
    2: ["spec", { message: { 1: ["finalizers", "repeatedString"] } }],
    3: ["status", { message: { 1: ["phase", "string"] } }],
  },
  "v1/ConfigMap": {
    1: ["metadata", { message: OBJECT_META }],
    2: ["data", "stringMap"],
    3: ["binaryData", "bytesMap"],
    4: ["immutable", "bool"],
  },
  "v1/ServiceAccount": {
    1: ["metadata", { message: OBJECT_META }],
    2: ["secrets", { message: { 1: ["kind", "string"], 2: ["namespace", "string"], 3: ["name", "string"], 4: ["uid", "string"], 5: ["apiVersion", "string"] }, repeated: true }],
    3: ["imagePullSecrets", { message: { 1: ["name", "string"] }, repeated: true }],
    4: ["automountServiceAccountToken", "bool"],
  },
  // kubectl ≥1.33 `create token` (authentication/v1 generated.proto: TokenRequestSpec audiences 1,
  // boundObjectRef 3, expirationSeconds 4; BoundObjectReference kind 1, apiVersion 2, name 3, uid 4).
  "authentication.k8s.io/v1/TokenRequest": {
    1: ["metadata", { message: OBJECT_META }],
    2: [
      "spec",
      {
        message: {
          1: ["audiences", "repeatedString"],
          3: ["boundObjectRef", { message: { 1: ["kind", "string"], 2: ["apiVersion", "string"], 3: ["name", "string"], 4: ["uid", "string"] } }],
          4: ["expirationSeconds", "int64"],
        },
      },
    ],
  },
  "v1/Secret": {
    1: ["metadata", { message: OBJECT_META }],
    2: ["data", "bytesMap"],
    3: ["type", "string"],
    4: ["stringData", "stringMap"],
    5: ["immutable", "bool"],
  },
};

class Reader {
  readonly #bytes: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.#pos >= this.#end) throw badRequest("truncated protobuf varint");
      const byte = this.#bytes[this.#pos++] ?? 0;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw badRequest("protobuf varint too long");
    }
  }

  bytes(): Uint8Array {
    const length = this.varint();
    if (this.#pos + length > this.#end) throw badRequest("truncated protobuf field");
    const out = this.#bytes.subarray(this.#pos, this.#pos + length);
    this.#pos += length;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.#pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.#pos += 4;
    else throw badRequest(`unsupported protobuf wire type ${wireType}`);
  }
}

function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

function mapEntry(bytes: Uint8Array, valueAsBytes: boolean): [string, string] {
  const reader = new Reader(bytes);
  let key = "";
  let value = "";
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    if (tag % 8 !== 2) {
      reader.skip(tag % 8);
      continue;
    }
    const raw = reader.bytes();
    if (field === 1) key = text(raw);
    else if (field === 2) value = valueAsBytes ? Buffer.from(raw).toString("base64") : text(raw);
  }
  return [key, value];
}

function timestamp(bytes: Uint8Array): string {
  const reader = new Reader(bytes);
  let seconds = 0;
  while (!reader.done) {
    const tag = reader.varint();
    if (tag === 8) seconds = reader.varint();
    else reader.skip(tag % 8);
  }
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function decodeMessage(bytes: Uint8Array, schema: Schema): JsonObject {
  const out: JsonObject = {};
  const reader = new Reader(bytes);
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag % 8;
    const spec = schema[field];
    if (spec === undefined) {
      reader.skip(wireType);
      continue;
    }
    const [name, type] = spec;
    if (wireType === 0) {
      const n = reader.varint();
      if (type === "bool") out[name] = n !== 0;
      else if (n !== 0) out[name] = n;
      continue;
    }
    if (wireType !== 2) {
      reader.skip(wireType);
      continue;
    }
    const raw = reader.bytes();
    if (type === "string" || type === "bytes") {
      const value = type === "string" ? text(raw) : Buffer.from(raw).toString("base64");
      if (value !== "") out[name] = value;
    } else if (type === "time") {
      out[name] = timestamp(raw);
    } else if (type === "stringMap" || type === "bytesMap") {
      const [k, v] = mapEntry(raw, type === "bytesMap");
      const map = (out[name] ?? {}) as JsonObject;
      map[k] = v;
      out[name] = map;
    } else if (type === "repeatedString") {
      const list = (out[name] ?? []) as JsonValue[];
      list.push(text(raw));
      out[name] = list;
    } else if (typeof type === "object") {
      const value = decodeMessage(raw, type.message);
      if (type.repeated === true) {
        const list = (out[name] ?? []) as JsonValue[];
        list.push(value);
        out[name] = list;
      } else {
        out[name] = value;
      }
    }
  }
  return out;
}

/** Decodes a protobuf request body to the JSON object it encodes; 415 for kinds not listed above. */
export function decodeProtobufObject(body: Uint8Array): JsonObject {
  if (body.length < 4 || MAGIC.some((b, i) => body[i] !== b)) throw badRequest("protobuf body lacks the k8s magic prefix");
  const envelope = decodeMessage(body.subarray(4), {
    1: ["typeMeta", { message: { 1: ["apiVersion", "string"], 2: ["kind", "string"] } }],
    2: ["raw", "bytes"],
    3: ["contentEncoding", "string"],
    4: ["contentType", "string"],
  });
  const typeMeta = (envelope["typeMeta"] ?? {}) as JsonObject;
  const apiVersion = typeof typeMeta["apiVersion"] === "string" ? typeMeta["apiVersion"] : "";
  const kind = typeof typeMeta["kind"] === "string" ? typeMeta["kind"] : "";
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (schema === undefined) throw unsupportedMediaType(`${PROTOBUF_CONTENT_TYPE} for ${apiVersion} ${kind} (send JSON)`);
  const raw = typeof envelope["raw"] === "string" ? Buffer.from(envelope["raw"], "base64") : new Uint8Array();
  return { apiVersion, kind, ...decodeMessage(raw, schema) };
}
