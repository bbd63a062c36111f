/**
 * Memoised token decisions. Core's decision for a token request is a pure function of the request target,
 * two header facts (the Metadata check and the forwarding-header check), the source address and the
 * informer caches — and, for waits only, of time. So a decision to fetch (or to serve an excepted pod)
 * can be reused for an identical request as long as no watched object has changed since it was taken:
 * every change to pods, AzureAssignedIdentities, AzureIdentities, bindings or exceptions empties the memo.
 * The per-pod rate limit, the token cache (expiry, refresh, invalidation) and the audit record still run
 * for every request.
 * @packageDocumentation
 */

/** Entries kept at most; the memo is emptied when full (it refills with the hot keys at once). */
const MAX_ENTRIES = 4096;

/**
 * Where a request's decision is memoised: its source address and raw target. Kept as two parts (a map
 * per source) rather than one joined string, so a lookup hashes only the target the parser just made —
 * the source string comes from the connection and its hash is computed once.
 */
export interface MemoKey {
  readonly source: string;
  readonly target: string;
}

/** Decisions by request fingerprint, valid for one generation of the caches. */
export class DecisionMemo<V> {
  readonly #bySource = new Map<string, Map<string, V>>();
  #size = 0;
  #generation = 0;

  /** Increases whenever the memo is emptied; a decision taken in an older generation is never stored. */
  get generation(): number {
    return this.#generation;
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** The memoised value for `key`. */
  get(key: MemoKey): V | undefined {
    return this.#bySource.get(key.source)?.get(key.target);
  }

  /** Stores `value` if the caches have not changed since `generation` (when the decision was taken). */
  set(key: MemoKey, value: V, generation: number): void {
    if (generation !== this.#generation) return;
    if (this.#size >= MAX_ENTRIES) this.#clear();
    let targets = this.#bySource.get(key.source);
    if (targets === undefined) {
      targets = new Map();
      this.#bySource.set(key.source, targets);
    }
    if (!targets.has(key.target)) this.#size += 1;
    targets.set(key.target, value);
  }

  /** Empties the memo (call on every change of a watched object). */
  invalidate(): void {
    this.#generation += 1;
    this.#clear();
  }

  #clear(): void {
    this.#bySource.clear();
    this.#size = 0;
  }
}
