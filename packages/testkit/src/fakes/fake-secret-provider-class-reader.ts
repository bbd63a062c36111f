/**
 * In-memory {@link SecretProviderClassReaderPort}: the SecretProviderClasses of a cluster as plain values, every
 * read logged (what NMI's on-demand lookup and its cache cost the apiserver), and failures injected per class or
 * for the next reads, like an apiserver that cannot serve them.
 * @packageDocumentation
 */
import { err, ok, type KubeError, type Result, type SecretProviderClassReaderPort, type SecretProviderClassView } from "@podid/core";

/** A SecretProviderClass as tests write it. */
export interface FakeSecretProviderClass {
  readonly namespace: string;
  readonly name: string;
  /** `spec.provider` (default `azure`, the provider that calls NMI's `/host/token`). */
  readonly provider?: string;
  /** `spec.parameters.usePodIdentity` as written (absent: not set). */
  readonly usePodIdentity?: string;
}

/** Fake of core's SecretProviderClass reader port. */
export class FakeSecretProviderClassReader implements SecretProviderClassReaderPort {
  readonly #classes = new Map<string, SecretProviderClassView>();
  readonly #failures = new Map<string, KubeError>();
  #failNext = 0;
  #failNextWith: KubeError = { kind: "transient", message: "injected: apiserver unreachable" };
  /** Every read, `namespace/name`, oldest first (failed ones included). */
  readonly reads: string[] = [];

  constructor(classes: readonly FakeSecretProviderClass[] = []) {
    for (const spc of classes) this.put(spc);
  }

  /** Creates or replaces a class. */
  put(spc: FakeSecretProviderClass): void {
    this.#classes.set(`${spc.namespace}/${spc.name}`, {
      namespace: spc.namespace,
      name: spc.name,
      provider: spc.provider ?? "azure",
      ...(spc.usePodIdentity !== undefined ? { usePodIdentity: spc.usePodIdentity } : {}),
    });
  }

  /** Creates or replaces an Azure provider class with `parameters.usePodIdentity` as written (absent: unset). */
  set(namespace: string, name: string, usePodIdentity?: string): void {
    this.put({ namespace, name, ...(usePodIdentity === undefined ? {} : { usePodIdentity }) });
  }

  /** Deletes a class; `false` when it was not there. */
  delete(namespace: string, name: string): boolean {
    return this.#classes.delete(`${namespace}/${name}`);
  }

  /** Every read of one class fails with `error` until {@link heal}. */
  fail(namespace: string, name: string, error: KubeError): void {
    this.#failures.set(`${namespace}/${name}`, error);
  }

  /** Reads of the class succeed again. */
  heal(namespace: string, name: string): void {
    this.#failures.delete(`${namespace}/${name}`);
  }

  /** The next `count` reads of any class fail with `error` (default: transient, as an unreachable apiserver). */
  failNextReads(count: number, error?: KubeError): void {
    this.#failNext = count;
    if (error !== undefined) this.#failNextWith = error;
  }

  async read(namespace: string, name: string): Promise<Result<SecretProviderClassView | undefined, KubeError>> {
    const key = `${namespace}/${name}`;
    this.reads.push(key);
    if (this.#failNext > 0) {
      this.#failNext -= 1;
      return err(this.#failNextWith);
    }
    const failure = this.#failures.get(key);
    return failure === undefined ? ok(this.#classes.get(key)) : err(failure);
  }
}
