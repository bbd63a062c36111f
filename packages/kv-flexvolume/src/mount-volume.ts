/**
 * `podid-kv mount <dir> <json options>`: check the options, make the directory, put a tmpfs on it, get the pod's
 * token from NMI, fetch every object from Key Vault and only then write the files; on any failure after the
 * tmpfs went on, take it off again so no half-filled volume stays behind.
 */
import { mkdir } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { writeFileAtomically } from "./atomic-write.js";
import { vaultUrl } from "./clouds.js";
import type { DriverEnvironment } from "./driver-environment.js";
import { failure, SUCCESS, type FlexStatus } from "./flex-status.js";
import { fetchObjects } from "./key-vault-fetch.js";
import type { DriverLog } from "./log.js";
import { parseMountOptions, parseOptionsJson, type MountAuth, type MountOptions } from "./mount-options.js";
import { fsTypeMountedAt } from "./mount-table.js";
import { NmiTokenCredential } from "./nmi-credential.js";
import { fetchNmiToken } from "./nmi-token.js";
import { mountTmpfs, unmount } from "./tmpfs.js";

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type PodIdentityAuth = Extract<MountAuth, { readonly mode: "podIdentity" }>;

function unsupportedMode(mode: "servicePrincipal" | "vmManagedIdentity"): string {
  return `${mode === "servicePrincipal" ? "service-principal" : "VM managed identity"} mode is not supported by podid-kv: set usepodidentity: "true" and bind the pod to an AzureIdentity`;
}

/** Fetches the objects with the pod's token and writes them into `dir`; a failure message otherwise. */
async function fillVolume(dir: string, options: MountOptions, auth: PodIdentityAuth, env: DriverEnvironment, log: DriverLog): Promise<string | undefined> {
  const { podNamespace, podName, nmiPort } = auth;
  const resource = options.cloud.keyVaultResource;
  const token = await fetchNmiToken({ port: nmiPort, resource, podNamespace, podName }, env.retry, log);
  if (!token.ok) return token.error;
  const url = vaultUrl(options.vaultName, options.cloud);
  const fetched = await fetchObjects(url, new NmiTokenCredential(token.value, resource), options.objects, log);
  if (!fetched.ok) return `${fetched.error} (identity ${token.value.clientId})`;
  for (const { object, content } of fetched.value) await writeFileAtomically(dir, object.fileName, content);
  return undefined;
}

/** Runs one mount call and answers kubelet. */
export async function mountVolume(dir: string, optionsJson: string, env: DriverEnvironment, log: DriverLog): Promise<FlexStatus> {
  if (!isAbsolute(dir)) return failure(`mount directory ${JSON.stringify(dir)} is not an absolute path`);
  const raw = parseOptionsJson(optionsJson);
  if (!raw.ok) return failure(raw.error);
  const options = parseMountOptions(raw.value, { PODID_NMI_PORT: env.nmiPort });
  if (!options.ok) return failure(options.error);
  const { value } = options;
  const { auth } = value;
  // Refused before anything is created or mounted.
  if (auth.mode !== "podIdentity") return failure(unsupportedMode(auth.mode));
  if (value.unrecognised.length > 0) log.warn({ options: value.unrecognised }, "ignoring options podid-kv does not know");
  log.info({ dir, vault: value.vaultName, cloud: value.cloud.name, objects: value.objects.length, podUid: value.podUid, tmpfs: env.tmpfs }, "mount");

  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    return failure(`could not create ${dir}: ${errorText(error)}`);
  }
  let mounted = false;
  if (env.tmpfs) {
    try {
      const existing = await fsTypeMountedAt(dir);
      if (existing !== undefined) {
        log.info({ dir, fsType: existing }, "already mounted");
        return SUCCESS;
      }
      await mountTmpfs(dir);
      mounted = true;
    } catch (error) {
      return failure(`could not mount a tmpfs at ${dir}: ${errorText(error)}`);
    }
  }

  let problem: string | undefined;
  try {
    problem = await fillVolume(dir, value, auth, env, log);
  } catch (error) {
    problem = `could not fill ${dir}: ${errorText(error)}`;
  }
  if (problem === undefined) {
    log.info({ dir, files: value.objects.map((o) => o.fileName) }, "mounted");
    return SUCCESS;
  }
  log.error({ dir, problem }, "mount failed");
  if (mounted) {
    try {
      await unmount(dir);
    } catch (error) {
      log.error({ dir, problem: errorText(error) }, "could not take the tmpfs off again after the failure");
    }
  }
  return failure(problem);
}
