/**
 * The HTTP face of the fake: authentication, fault hooks, routing, body decoding, content negotiation and
 * rendering of objects, lists, Tables, watch streams and `Status` errors.
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { apiGroup, apiGroupList, apiResourceList, coreApiVersions, FAKE_SERVER_VERSION, versionInfo } from "./discovery.js";
import type { FaultInjector } from "./faults.js";
import { parseFieldSelector, type FieldSelector } from "./field-selector.js";
import { isJsonObject, stringAt, type JsonObject, type JsonValue, type KubeObject } from "./json.js";
import { parseLabelSelector } from "./label-selector.js";
import { contentTypeOf, negotiate, type Representation } from "./negotiation.js";
import { openApiV2Json, openApiV2Protobuf, openApiV3GroupVersion, openApiV3Index } from "./openapi.js";
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from "./protobuf-body.js";
import { routeOf, type ResourcePath } from "./request-path.js";
import { PATCH_TYPES, type DeleteRequestOptions, type ListResult, type ResourceApi, type Selection } from "./resource-api.js";
import { apiVersionOf, type ResourceDefinition } from "./resource-definition.js";
import { JWKS_PATH, OPENID_CONFIGURATION_PATH, openIdConfiguration } from "./service-account-issuer.js";
import { ApiError, badRequest, internalError, methodNotAllowed, pathNotFound, unauthorized, unsupportedMediaType } from "./status.js";
import { partialObjectMetadata, toTable, type TableRequest } from "./table.js";
import { createServiceAccountToken, type TokenRequestContext } from "./token-request.js";
import type { WatchHub, WatchEventType } from "./watch-hub.js";

/** One handled request, as recorded for tests. */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  /** The raw query string (without `?`). */
  readonly query: string;
  /** The response status (200 for watches, whatever happens later in the stream). */
  readonly status: number;
  readonly userAgent: string;
}

/** What the handler needs from its server. */
export interface HandlerContext {
  readonly api: ResourceApi;
  readonly watches: WatchHub;
  readonly faults: FaultInjector;
  readonly token: string | undefined;
  /** `host:port` advertised in `/api`. */
  serverAddress(): string;
  /** The service-account issuer's state now (its URL may depend on the bound port). */
  tokenRequests(): TokenRequestContext;
  /** The `jwks_uri` of the discovery document. */
  jwksUri(): string;
  record(entry: RequestRecord): void;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Body types of create and update (protobuf only for the kinds `protobuf-body.ts` knows). */
const OBJECT_BODY_TYPES: readonly string[] = ["", "application/json", "application/yaml", PROTOBUF_CONTENT_TYPE];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, "BadRequest", "request entity too large");
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

function decodeBody(raw: Buffer, contentType: string, allowEmpty: boolean): JsonValue | undefined {
  if (contentType === PROTOBUF_CONTENT_TYPE) return decodeProtobufObject(raw);
  const text = raw.toString("utf8");
  if (text.trim() === "") {
    if (allowEmpty) return undefined;
    throw badRequest("the request body is empty");
  }
  try {
    if (contentType === "application/yaml" || contentType === "application/apply-patch+yaml") return parseYaml(text) as JsonValue;
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: JsonValue, contentType = "application/json", headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(payload), "Cache-Control": "no-cache, private", ...headers });
  res.end(payload);
}

function sendError(res: ServerResponse, error: unknown): number {
  const apiError = error instanceof ApiError ? error : internalError(error instanceof Error ? error.message : String(error));
  if (res.headersSent) {
    res.destroy();
    return apiError.code;
  }
  sendJson(res, apiError.code, apiError.toStatus(), "application/json", { ...apiError.headers });
  return apiError.code;
}

function flag(params: URLSearchParams, key: string): boolean {
  const value = params.get(key);
  return value === "true" || value === "1";
}

function optionalInt(params: URLSearchParams, key: string): number | undefined {
  const value = params.get(key);
  if (value === null || value === "") return undefined;
  if (!/^-?\d+$/.test(value)) throw badRequest(`invalid ${key}: "${value}"`);
  return Number(value);
}

function selection(route: ResourcePath, params: URLSearchParams): Selection {
  const labels = params.get("labelSelector");
  const fields = params.get("fieldSelector");
  let fieldSelector: FieldSelector | undefined = fields === null || fields === "" ? undefined : parseFieldSelector(fields);
  if (route.name !== undefined) fieldSelector = [...(fieldSelector ?? []), { path: "metadata.name", operator: "=", value: route.name }];
  return {
    ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
    ...(labels !== null && labels !== "" ? { labelSelector: parseLabelSelector(labels) } : {}),
    ...(fieldSelector !== undefined ? { fieldSelector } : {}),
  };
}

function tableRequest(representation: Representation, params: URLSearchParams): TableRequest | undefined {
  if (representation.kind !== "table") return undefined;
  const include = params.get("includeObject");
  const includeObject = include === "None" || include === "Object" ? include : "Metadata";
  return { version: representation.version, includeObject };
}

/** Renders one object in the negotiated representation. */
function renderObject(api: ResourceApi, def: ResourceDefinition, obj: KubeObject, representation: Representation, params: URLSearchParams): JsonObject {
  const table = tableRequest(representation, params);
  if (table !== undefined) return toTable(def, [obj], { resourceVersion: stringAt(obj.metadata, "resourceVersion") ?? "" }, table, api.now());
  if (representation.kind === "partial") return partialObjectMetadata(obj, representation.version);
  return obj;
}

function listMetadata(result: ListResult): JsonObject {
  return {
    resourceVersion: result.resourceVersion,
    ...(result.continueToken !== undefined ? { continue: result.continueToken } : {}),
    ...(result.remainingItemCount !== undefined ? { remainingItemCount: result.remainingItemCount } : {}),
  };
}

function renderList(api: ResourceApi, def: ResourceDefinition, result: ListResult, representation: Representation, params: URLSearchParams): JsonObject {
  const metadata = listMetadata(result);
  const table = tableRequest(representation, params);
  if (table !== undefined) return toTable(def, result.items, metadata, table, api.now());
  if (representation.kind === "partial") {
    return {
      kind: "PartialObjectMetadataList",
      apiVersion: `meta.k8s.io/${representation.version}`,
      metadata,
      items: result.items.map((obj) => partialObjectMetadata(obj, representation.version)),
    };
  }
  return { kind: def.listKind, apiVersion: apiVersionOf(def), metadata, items: result.items };
}

function deleteOptions(body: JsonValue | undefined, params: URLSearchParams): DeleteRequestOptions {
  const source: JsonObject = isJsonObject(body) ? body : {};
  const preconditions = isJsonObject(source["preconditions"]) ? source["preconditions"] : undefined;
  const uid = stringAt(preconditions, "uid");
  const resourceVersion = stringAt(preconditions, "resourceVersion");
  let policy = stringAt(source, "propagationPolicy") ?? params.get("propagationPolicy") ?? undefined;
  const orphan = source["orphanDependents"] ?? (params.has("orphanDependents") ? params.get("orphanDependents") === "true" : undefined);
  if (policy === undefined && orphan === true) policy = "Orphan";
  const dryRunBody = source["dryRun"];
  const dryRun = params.get("dryRun") === "All" || (Array.isArray(dryRunBody) && dryRunBody.includes("All"));
  return {
    ...(dryRun ? { dryRun } : {}),
    ...(uid !== undefined || resourceVersion !== undefined
      ? { preconditions: { ...(uid !== undefined ? { uid } : {}), ...(resourceVersion !== undefined ? { resourceVersion } : {}) } }
      : {}),
    ...(policy !== undefined ? { propagationPolicy: policy } : {}),
  };
}

function startWatch(ctx: HandlerContext, route: ResourcePath, params: URLSearchParams, representation: Representation, res: ServerResponse): void {
  const def = route.def;
  const table = tableRequest(representation, params);
  const timeoutSeconds = optionalInt(params, "timeoutSeconds");
  const resourceVersion = params.get("resourceVersion");
  const request = {
    def,
    ...selection(route, params),
    ...(resourceVersion !== null ? { resourceVersion } : {}),
    allowWatchBookmarks: flag(params, "allowWatchBookmarks"),
    sendInitialEvents: flag(params, "sendInitialEvents"),
    ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
  };
  let headersWritten = false;
  const ensureHeaders = (): void => {
    if (headersWritten) return;
    headersWritten = true;
    res.writeHead(200, {
      "Content-Type": contentTypeOf(representation.kind === "table" ? representation : { kind: "json" }, false),
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    res.flushHeaders();
  };
  const sink = {
    send(type: WatchEventType, object: JsonObject): void {
      if (res.destroyed || res.writableEnded) return;
      ensureHeaders();
      const rendered =
        table !== undefined && type !== "ERROR" && type !== "BOOKMARK"
          ? toTable(def, [object as KubeObject], { resourceVersion: stringAt(isJsonObject(object["metadata"]) ? object["metadata"] : undefined, "resourceVersion") ?? "" }, table, ctx.api.now())
          : object;
      res.write(`${JSON.stringify({ type, object: rendered })}\n`);
    },
    end(): void {
      if (res.destroyed || res.writableEnded) return;
      ensureHeaders();
      res.end();
    },
    destroy(): void {
      ensureHeaders();
      res.socket?.destroy();
      res.destroy();
    },
  };
  // Validate before committing to a 200 so a bad request still gets a proper Status response.
  const stop = ctx.watches.start(request, sink);
  ensureHeaders();
  res.on("close", stop);
}

async function handleResource(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, route: ResourcePath, params: URLSearchParams): Promise<number> {
  const { api } = ctx;
  const def = route.def;
  const method = req.method ?? "GET";
  const isWrite = method === "POST" || method === "PUT" || method === "PATCH" || method === "DELETE";
  const dryRun = params.get("dryRun") === "All";
  if (route.subresource === "token") return handleTokenRequest(ctx, req, res, route, method);
  if (method === "GET") {
    const representation = negotiate(req.headers.accept);
    if (route.watchPrefix || flag(params, "watch")) {
      startWatch(ctx, route, params, representation, res);
      return 200;
    }
    if (route.name !== undefined) {
      const obj = api.get(def, route.namespace, route.name);
      sendJson(res, 200, renderObject(api, def, obj, representation, params), contentTypeOf(representation, false));
      return 200;
    }
    const limit = optionalInt(params, "limit");
    const continueToken = params.get("continue");
    const resourceVersion = params.get("resourceVersion");
    const resourceVersionMatch = params.get("resourceVersionMatch");
    const result = api.list(def, {
      ...selection(route, params),
      ...(limit !== undefined ? { limit } : {}),
      ...(continueToken !== null ? { continueToken } : {}),
      ...(resourceVersion !== null ? { resourceVersion } : {}),
      ...(resourceVersionMatch !== null ? { resourceVersionMatch } : {}),
    });
    sendJson(res, 200, renderList(api, def, result, representation, params), contentTypeOf(representation, true));
    return 200;
  }
  if (!isWrite || route.watchPrefix) throw methodNotAllowed(method);
  const representation = negotiate(req.headers.accept, false);
  const contentType = mediaType(req.headers["content-type"]);
  const raw = await readBody(req);
  if (method === "POST" && (route.name !== undefined || (def.namespaced && route.namespace === undefined))) throw methodNotAllowed(method);
  if ((method === "PUT" || method === "PATCH") && route.name === undefined) throw methodNotAllowed(method);
  if (method === "DELETE" && route.subresource !== undefined) throw methodNotAllowed(method);
  const injected = ctx.faults.takeWriteFailure(def, route.name);
  if (injected !== undefined) throw injected;
  const writeOptions = { ...(dryRun ? { dryRun } : {}), ...(route.subresource === "status" ? { subresource: route.subresource } : {}) };
  switch (method) {
    case "POST": {
      if (!OBJECT_BODY_TYPES.includes(contentType)) throw unsupportedMediaType(contentType);
      const created = api.create(def, route.namespace, decodeBody(raw, contentType, false) ?? null, writeOptions);
      sendJson(res, 201, created, contentTypeOf(representation, false));
      return 201;
    }
    case "PUT": {
      if (!OBJECT_BODY_TYPES.includes(contentType)) throw unsupportedMediaType(contentType);
      const updated = api.update(def, route.namespace, route.name ?? "", decodeBody(raw, contentType, false) ?? null, writeOptions);
      sendJson(res, 200, updated);
      return 200;
    }
    case "PATCH": {
      const known: readonly string[] = [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.apply];
      if (!known.includes(contentType)) throw unsupportedMediaType(contentType === "" ? "(none)" : contentType);
      const patched = api.patch(def, route.namespace, route.name ?? "", contentType, decodeBody(raw, contentType, false) ?? null, writeOptions);
      sendJson(res, 200, patched);
      return 200;
    }
    default: {
      const options = deleteOptions(decodeBody(raw, contentType, true), params);
      if (route.name !== undefined) {
        sendJson(res, 200, api.delete(def, route.namespace, route.name, options));
        return 200;
      }
      const deleted = api.deleteCollection(def, selection(route, params), options);
      sendJson(res, 200, { kind: def.listKind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(api.store.revision) }, items: deleted });
      return 200;
    }
  }
}

/** `POST …/serviceaccounts/<name>/token`: 201 with the TokenRequest (any other method 405, like the real server). */
async function handleTokenRequest(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, route: ResourcePath, method: string): Promise<number> {
  if (method !== "POST" || route.name === undefined || route.namespace === undefined) throw methodNotAllowed(method);
  const contentType = mediaType(req.headers["content-type"]);
  if (!OBJECT_BODY_TYPES.includes(contentType)) throw unsupportedMediaType(contentType);
  const body = decodeBody(await readBody(req), contentType, false);
  const injected = ctx.faults.takeWriteFailure(route.def, route.name);
  if (injected !== undefined) throw injected;
  const result = await createServiceAccountToken(ctx.tokenRequests(), route.namespace, route.name, body);
  const warnings = result.warnings.map((text) => `299 - ${JSON.stringify(text)}`);
  const payload = JSON.stringify(result.body);
  res.writeHead(201, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(payload),
    "Cache-Control": "no-cache, private",
    ...(warnings.length > 0 ? { Warning: warnings } : {}),
  });
  res.end(payload);
  return 201;
}

/**
 * Whether `pathname` is a discovery document readable without credentials: the root paths kube-apiserver
 * serves, plus `<issuer path>/.well-known/openid-configuration` when the configured issuer lives under a
 * path of this server (as hosted issuers such as AKS's do).
 */
function discoveryRoute(ctx: HandlerContext, pathname: string): "openidConfiguration" | "jwks" | undefined {
  const segments = pathname.split("/").filter((s) => s !== "");
  const joined = `/${segments.join("/")}`;
  if (joined === OPENID_CONFIGURATION_PATH) return "openidConfiguration";
  if (joined === JWKS_PATH) return "jwks";
  if (!joined.endsWith(OPENID_CONFIGURATION_PATH)) return undefined;
  let issuerPath: string;
  try {
    issuerPath = new URL(ctx.tokenRequests().issuer).pathname.split("/").filter((s) => s !== "").join("/");
  } catch {
    return undefined;
  }
  return issuerPath !== "" && joined === `/${issuerPath}${OPENID_CONFIGURATION_PATH}` ? "openidConfiguration" : undefined;
}

async function handleDiscovery(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, which: "openidConfiguration" | "jwks"): Promise<number> {
  if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed(req.method ?? "");
  const tokens = ctx.tokenRequests();
  // kube-apiserver lets these be cached for an hour; the key does not change during a server's life.
  const cache = { "Cache-Control": "public, max-age=3600" };
  if (which === "jwks") {
    sendJson(res, 200, (await tokens.signer.jwks()) as unknown as JsonObject, "application/jwk-set+json", cache);
  } else {
    sendJson(res, 200, openIdConfiguration(tokens.issuer, ctx.jwksUri()) as unknown as JsonObject, "application/json", cache);
  }
  return 200;
}

function handleNonResource(ctx: HandlerContext, req: IncomingMessage, res: ServerResponse, route: Exclude<ReturnType<typeof routeOf>, ResourcePath>): number {
  if (req.method !== "GET" && req.method !== "HEAD") throw methodNotAllowed(req.method ?? "");
  const registry = ctx.api.registry;
  switch (route.type) {
    case "version":
      sendJson(res, 200, versionInfo());
      return 200;
    case "health":
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("ok");
      return 200;
    case "coreVersions":
      sendJson(res, 200, coreApiVersions(ctx.serverAddress()));
      return 200;
    case "groups":
      sendJson(res, 200, apiGroupList(registry));
      return 200;
    case "group": {
      const doc = apiGroup(registry, route.group);
      if (doc === undefined) throw pathNotFound();
      sendJson(res, 200, doc);
      return 200;
    }
    case "groupVersion": {
      const doc = apiResourceList(registry, route.group, route.version);
      if (doc === undefined) throw pathNotFound();
      sendJson(res, 200, doc);
      return 200;
    }
    case "openapiV2": {
      const accept = req.headers.accept ?? "";
      if (accept.includes("protobuf")) {
        const body = openApiV2Protobuf(FAKE_SERVER_VERSION.gitVersion);
        res.writeHead(200, { "Content-Type": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", "Content-Length": body.length });
        res.end(body);
      } else {
        sendJson(res, 200, openApiV2Json(FAKE_SERVER_VERSION.gitVersion));
      }
      return 200;
    }
    case "openapiV3":
      sendJson(res, 200, openApiV3Index(registry, FAKE_SERVER_VERSION.gitVersion));
      return 200;
    case "openapiV3GroupVersion": {
      const doc = openApiV3GroupVersion(registry, route.group, route.version, FAKE_SERVER_VERSION.gitVersion);
      if (doc === undefined) throw pathNotFound();
      sendJson(res, 200, doc);
      return 200;
    }
  }
}

/** Builds the request listener of a fake server. */
export function createRequestHandler(ctx: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    const method = req.method ?? "GET";
    const finish = (status: number): void =>
      ctx.record({ method, path: url.pathname, query: url.search.replace(/^\?/, ""), status, userAgent: req.headers["user-agent"] ?? "" });
    const run = async (): Promise<number> => {
      const isHealth = /^\/(healthz|livez|readyz)(\/|$)/.test(url.pathname);
      const discovery = discoveryRoute(ctx, url.pathname);
      // Issuer discovery is public (what the system:service-account-issuer-discovery role grants anonymous users).
      if (discovery !== undefined) return handleDiscovery(ctx, req, res, discovery);
      if (ctx.token !== undefined && !isHealth && req.headers.authorization !== `Bearer ${ctx.token}`) throw unauthorized();
      const delay = ctx.faults.delayMs;
      if (delay !== undefined) await sleep(delay);
      const route = routeOf(url.pathname, ctx.api.registry);
      if (route.type === "resource") return handleResource(ctx, req, res, route, url.searchParams);
      return handleNonResource(ctx, req, res, route);
    };
    run().then(finish, (error: unknown) => {
      req.resume();
      finish(sendError(res, error));
    });
  };
}
