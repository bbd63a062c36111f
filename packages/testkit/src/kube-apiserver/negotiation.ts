/**
 * Response content negotiation as kube-apiserver does it for JSON: plain objects, `Table` (server-side
 * printing for kubectl) or `PartialObjectMetadata(List)` (metadata-only clients). Protobuf is never offered;
 * every real client also lists `application/json`, and one that does not gets 406.
 * @packageDocumentation
 */
import { notAcceptable } from "./status.js";

/** The representation chosen for a response. */
export type Representation =
  | { readonly kind: "json" }
  | { readonly kind: "table"; readonly version: "v1" | "v1beta1" }
  | { readonly kind: "partial"; readonly version: "v1" | "v1beta1" };

interface MediaRange {
  readonly type: string;
  readonly params: Readonly<Record<string, string>>;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => {
      const [type = "", ...rest] = part.split(";").map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf("=");
        if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"|"$/g, "");
      }
      return { type: type.toLowerCase(), params };
    });
}

/**
 * Picks the first acceptable representation in the client's order (kubectl lists Table first, then plain
 * JSON). `allowTransforms` is false for endpoints that only speak plain JSON (discovery, Status).
 */
export function negotiate(accept: string | undefined, allowTransforms = true): Representation {
  if (accept === undefined || accept.trim() === "") return { kind: "json" };
  for (const range of parseAccept(accept)) {
    const jsonish = range.type === "application/json" || range.type === "*/*" || range.type === "application/*";
    if (!jsonish) continue;
    const as = range.params["as"];
    if (as === undefined) return { kind: "json" };
    if (!allowTransforms || range.params["g"] !== "meta.k8s.io") continue;
    const version = range.params["v"];
    if (version !== "v1" && version !== "v1beta1") continue;
    if (as === "Table") return { kind: "table", version };
    if (as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") return { kind: "partial", version };
  }
  throw notAcceptable(accept);
}

/** The `Content-Type` of a response in `representation`. */
export function contentTypeOf(representation: Representation, list: boolean): string {
  switch (representation.kind) {
    case "json":
      return "application/json";
    case "table":
      return `application/json;as=Table;v=${representation.version};g=meta.k8s.io`;
    case "partial":
      return `application/json;as=${list ? "PartialObjectMetadataList" : "PartialObjectMetadata"};v=${representation.version};g=meta.k8s.io`;
  }
}
