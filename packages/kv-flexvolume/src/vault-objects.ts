/**
 * The objects a mount fetches, from the original driver's `;`-separated lists (`keyvaultobjectnames`,
 * `keyvaultobjecttypes`, `keyvaultobjectversions`, `keyvaultobjectaliases`), each entry checked so that a bad one
 * is named in the `Failure` rather than discovered half-way through a mount.
 */
import { fail, ok, type Result } from "./result.js";

/** What Key Vault object an entry names: a secret's value, a key's public modulus, a certificate's DER bytes. */
export type VaultObjectType = "secret" | "key" | "cert";

/** One object to fetch and the file it lands in. */
export interface VaultObject {
  readonly name: string;
  readonly type: VaultObjectType;
  /** Empty for the latest version. */
  readonly version: string;
  /** The file name inside the mount directory: the alias, else the object name. */
  readonly fileName: string;
}

/** The raw lists as the options carry them (`undefined` when the option is absent). */
export interface VaultObjectLists {
  readonly names: string | undefined;
  readonly types: string | undefined;
  readonly versions: string | undefined;
  readonly aliases: string | undefined;
}

const OBJECT_TYPES: readonly VaultObjectType[] = ["secret", "key", "cert"];
/** Key Vault object names: 1–127 letters, digits and hyphens. */
const OBJECT_NAME = /^[0-9A-Za-z-]{1,127}$/;
/** Key Vault versions are 32 hex digits; accept any short alphanumeric id so a future format is not refused here. */
const OBJECT_VERSION = /^[0-9A-Za-z]{1,64}$/;

/** Splits a `;`-separated option into trimmed entries; an absent or blank option has none. */
export function splitList(value: string | undefined): string[] {
  if (value === undefined || value.trim() === "") return [];
  return value.split(";").map((entry) => entry.trim());
}

/** Why a file name cannot be used inside the mount directory, or `undefined` when it can. */
export function fileNameProblem(fileName: string): string | undefined {
  if (fileName === "." || fileName === "..") return "is not a file name";
  if (fileName.includes("/") || fileName.includes("\\")) return "contains a path separator";
  if (fileName.includes("\0")) return "contains a NUL character";
  if (Buffer.byteLength(fileName, "utf8") > 255) return "is longer than 255 bytes";
  return undefined;
}

function optionalList(option: string, value: string | undefined, count: number): Result<string[]> {
  const entries = splitList(value);
  if (entries.length === 0) return ok(Array.from({ length: count }, () => ""));
  if (entries.length !== count) {
    return fail(`option "${option}" has ${entries.length} entries but keyvaultobjectnames has ${count}: give one per object, separated by ";" (an empty entry means the default)`);
  }
  return ok(entries);
}

/** Checks the lists and pairs them up into objects. */
export function parseVaultObjects(lists: VaultObjectLists): Result<VaultObject[]> {
  const names = splitList(lists.names);
  if (names.length === 0) return fail(`option "keyvaultobjectnames" is required: the names of the Key Vault objects to mount, separated by ";"`);
  const types = splitList(lists.types);
  if (types.length === 0) return fail(`option "keyvaultobjecttypes" is required: secret, key or cert for each object, separated by ";"`);
  if (types.length !== names.length) {
    return fail(`option "keyvaultobjecttypes" has ${types.length} entries but keyvaultobjectnames has ${names.length}: give one type per object`);
  }
  const versions = optionalList("keyvaultobjectversions", lists.versions, names.length);
  if (!versions.ok) return versions;
  const aliases = optionalList("keyvaultobjectaliases", lists.aliases, names.length);
  if (!aliases.ok) return aliases;

  const objects: VaultObject[] = [];
  const seen = new Map<string, number>();
  for (const [i, name] of names.entries()) {
    const position = i + 1;
    if (name === "") return fail(`keyvaultobjectnames entry ${position} is empty`);
    if (!OBJECT_NAME.test(name)) return fail(`keyvaultobjectnames entry ${position} ${JSON.stringify(name)} is not a Key Vault object name (1-127 letters, digits or hyphens)`);
    const type = (types[i] ?? "").toLowerCase();
    if (!isObjectType(type)) return fail(`keyvaultobjecttypes entry ${position} is ${JSON.stringify(types[i])}: each must be secret, key or cert`);
    const version = versions.value[i] ?? "";
    if (version !== "" && !OBJECT_VERSION.test(version)) return fail(`keyvaultobjectversions entry ${position} ${JSON.stringify(version)} is not a Key Vault version id`);
    const alias = aliases.value[i] ?? "";
    const fileName = alias === "" ? name : alias;
    const problem = fileNameProblem(fileName);
    if (problem !== undefined) return fail(`keyvaultobjectaliases entry ${position} ${JSON.stringify(alias)} ${problem}`);
    const earlier = seen.get(fileName);
    if (earlier !== undefined) return fail(`objects ${earlier} and ${position} would both be written to the file ${JSON.stringify(fileName)}: give one of them an alias (keyvaultobjectaliases)`);
    seen.set(fileName, position);
    objects.push({ name, type, version, fileName });
  }
  return ok(objects);
}

function isObjectType(value: string): value is VaultObjectType {
  return (OBJECT_TYPES as readonly string[]).includes(value);
}
