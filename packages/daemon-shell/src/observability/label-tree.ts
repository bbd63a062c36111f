import type { MetricLabels } from "@podid/core";

/**
 * The series of a metric, found through one map per label name (values in definition order) instead of a
 * key string built from the labels: label values are mostly the same few string objects, whose hashes V8
 * keeps, so finding a series allocates nothing. Shared by {@link SeriesHistogram} and
 * {@link SeriesCounter}.
 * @packageDocumentation
 */

/** A node: a map to the next label's values, or (after the last label) a series. */
type Node<T> = Map<string, Node<T>> | T;

/** Series of type `T` by label combination, in creation order. */
export class LabelTree<T extends object> {
  readonly #labelNames: readonly string[];
  readonly #create: (labels: Readonly<Record<string, string>>) => T;
  #root = new Map<string, Node<T>>();
  #series: T[] = [];
  #generation = 0;

  /** `create` makes the series of a combination the first time it is seen, from its own copy of the labels. */
  constructor(labelNames: readonly string[], create: (labels: Readonly<Record<string, string>>) => T) {
    this.#labelNames = [...labelNames];
    this.#create = create;
  }

  /** The series of `labels` (names outside the definition are ignored; a missing value counts as ""). */
  get(labels: MetricLabels): T {
    const names = this.#labelNames;
    let level = this.#root;
    for (let i = 0; i < names.length - 1; i++) {
      const v = labels[names[i] as string] ?? "";
      let next = level.get(v) as Map<string, Node<T>> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(v, next);
      }
      level = next;
    }
    const last = names.length === 0 ? "" : (labels[names[names.length - 1] as string] ?? "");
    let series = level.get(last) as T | undefined;
    if (series === undefined) {
      const own: Record<string, string> = {};
      for (const name of names) {
        const v = labels[name];
        if (v !== undefined) own[name] = v;
      }
      series = this.#create(own);
      level.set(last, series);
      this.#series.push(series);
    }
    return series;
  }

  /** Every series, in creation order (the order prom-client reports them in). */
  values(): readonly T[] {
    return this.#series;
  }

  /** Increases whenever the tree is cleared: a series found before belongs to an older generation. */
  get generation(): number {
    return this.#generation;
  }

  /** Forgets every series. */
  clear(): void {
    this.#root = new Map();
    this.#series = [];
    this.#generation += 1;
  }
}
