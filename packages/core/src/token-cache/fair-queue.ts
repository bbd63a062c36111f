/**
 * The order in which NMI starts queued upstream calls (docs/compatibility.md#token-cache-and-upstream-limits):
 * round robin over pods, one call per turn, so a pod with many cache misses cannot hold everyone else behind
 * its backlog. A pod that had nothing queued and is not in the rotation goes to the list of newcomers, which
 * is served before the rotation (in arrival order); after its turn it joins the end of the rotation. A pod
 * leaves the rotation only when its turn comes with nothing queued, so it can be a newcomer at most once per
 * round. Consequences (the properties in `fair-queue.test.ts`):
 * - with N pods backlogged, every pod's k-th call starts before any pod's (k+1)-th;
 * - a newcomer's first call waits only for newcomers that came before it, not for anyone's backlog;
 * - while a pod stays backlogged, no other pod starts more than two calls between two of its calls.
 *
 * The queue holds counts per key; the driver keeps each key's callers in FIFO order. When the queue is full
 * a newcomer may push out the newest call of the longest queue (that caller is refused with a Retry-After),
 * so a full queue of one pod's misses does not lock every other pod out.
 */
export interface FairQueueState {
  /** Queued calls per key (keys with none are absent). */
  readonly counts: ReadonlyMap<string, number>;
  /** Keys that became active while not in the rotation, in arrival order. */
  readonly newcomers: readonly string[];
  /** The rotation: keys served round robin (a key here may have nothing queued until its turn comes). */
  readonly rotation: readonly string[];
  /** Queued calls in total. */
  readonly total: number;
}

/** An empty queue. */
export function createFairQueue(): FairQueueState {
  return { counts: new Map(), newcomers: [], rotation: [], total: 0 };
}

/** What {@link enqueueFair} did. */
export type FairEnqueue =
  /** Queued at the end of `key`'s own line. */
  | { readonly kind: "queued" }
  /** Queued; to make room, the newest call of `evicted` was dropped (refuse that caller). */
  | { readonly kind: "queuedEvicting"; readonly evicted: string }
  /** The queue is full and `key` already has as many queued as anyone: refuse this call. */
  | { readonly kind: "full" };

/** Queues one call of `key`, within `maxTotal` calls in all. */
export function enqueueFair(state: FairQueueState, key: string, maxTotal: number): { readonly state: FairQueueState; readonly outcome: FairEnqueue } {
  if (state.total < maxTotal) return { state: add(state, key), outcome: { kind: "queued" } };
  const mine = state.counts.get(key) ?? 0;
  let longest: string | undefined;
  let longestCount = 0;
  for (const [k, c] of state.counts) {
    if (c > longestCount) {
      longest = k;
      longestCount = c;
    }
  }
  // Push out only a strictly longer line: after the swap `key` still has fewer queued than `longest` had.
  if (longest === undefined || longest === key || longestCount <= mine + 1) return { state, outcome: { kind: "full" } };
  return { state: add(removeNewest(state, longest), key), outcome: { kind: "queuedEvicting", evicted: longest } };
}

/** Takes the next call to start: its key, or `undefined` when nothing is queued. */
export function dequeueFair(queue: FairQueueState): { readonly state: FairQueueState; readonly key: string | undefined } {
  let state = queue;
  if (state.total === 0) return { state: { ...state, newcomers: [], rotation: [] }, key: undefined };
  let newcomers = state.newcomers;
  for (;;) {
    const [first, ...waiting] = newcomers;
    if (first === undefined) break;
    if ((state.counts.get(first) ?? 0) > 0) return { state: take({ ...state, newcomers: waiting }, first), key: first };
    newcomers = waiting; // every call it had was cancelled: it is no longer waiting
  }
  state = { ...state, newcomers: [] };
  let rotation = state.rotation;
  for (;;) {
    const [head, ...rest] = rotation;
    // Unreachable while `total > 0`: every key with calls queued is a newcomer or in the rotation.
    if (head === undefined) return { state: { ...state, rotation: [] }, key: undefined };
    if ((state.counts.get(head) ?? 0) > 0) return { state: take({ ...state, rotation: rest }, head), key: head };
    rotation = rest; // its turn came with nothing queued: it leaves the rotation
  }
}

/** A queued call of `key` gave up or was refused: forgets its newest call. */
export function cancelFair(state: FairQueueState, key: string): FairQueueState {
  return (state.counts.get(key) ?? 0) > 0 ? removeNewest(state, key) : state;
}

/** Calls queued for `key`. */
export function queuedFor(state: FairQueueState, key: string): number {
  return state.counts.get(key) ?? 0;
}

function add(state: FairQueueState, key: string): FairQueueState {
  const counts = new Map(state.counts);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  const member = state.newcomers.includes(key) || state.rotation.includes(key);
  return { counts, newcomers: member ? state.newcomers : [...state.newcomers, key], rotation: state.rotation, total: state.total + 1 };
}

/** One call of `key` leaves; `key` (already taken off the list it was served from) joins the end of the rotation. */
function take(state: FairQueueState, key: string): FairQueueState {
  const counts = new Map(state.counts);
  const left = (counts.get(key) ?? 0) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
  return { ...state, counts, rotation: [...state.rotation, key], total: state.total - 1 };
}

function removeNewest(state: FairQueueState, key: string): FairQueueState {
  const counts = new Map(state.counts);
  const left = (counts.get(key) ?? 0) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
  return { ...state, counts, total: state.total - 1 };
}
