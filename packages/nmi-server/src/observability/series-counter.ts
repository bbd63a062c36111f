import type { Metric, Registry } from "prom-client";
import type { MetricLabels } from "@podid/core";
import { LabelTree } from "./label-tree.js";

/**
 * A labelled counter for NMI's per-request metrics, exposed through prom-client's `Registry` exactly as a
 * prom-client `Counter` with the same name and labels would be (a test compares the two expositions).
 * Like {@link SeriesHistogram} it exists for speed: prom-client's `inc` validates and hashes the label
 * object on every call, and NMI increments two counters per request.
 * @packageDocumentation
 */

/** One label combination's value. */
interface CounterSeries {
  readonly labels: Readonly<Record<string, string>>;
  value: number;
}

/** What the registry reads from a counter when it renders the exposition. */
export interface CounterExport {
  readonly name: string;
  readonly help: string;
  readonly type: "counter";
  readonly values: readonly CounterSeries[];
  readonly aggregator: "sum";
}

/** Options of {@link SeriesCounter}. */
export interface SeriesCounterOptions {
  readonly name: string;
  readonly help: string;
  /** At least one label (an unlabelled counter is prom-client's, which reports its zero before any increment). */
  readonly labelNames: readonly string[];
  readonly registers: readonly Registry[];
}

/** A prom-client-compatible labelled counter with a cheap `inc`. */
export class SeriesCounter {
  readonly name: string;
  readonly help: string;
  readonly type = "counter" as const;
  readonly aggregator = "sum" as const;
  readonly #tree: LabelTree<CounterSeries>;

  constructor(options: SeriesCounterOptions) {
    if (options.labelNames.length === 0) throw new Error(`SeriesCounter ${options.name} needs at least one label`);
    this.name = options.name;
    this.help = options.help;
    this.#tree = new LabelTree(options.labelNames, (labels) => ({ labels, value: 0 }));
    // The registry only reads `name`, `get`, `reset` and `aggregator`, which this class provides with
    // prom-client's own shapes; its type names prom-client's classes, hence the cast.
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** Adds `value` (default 1; negative or non-finite values are ignored, never thrown) to `labels`' series. */
  inc(labels: MetricLabels, value = 1): void {
    if (!Number.isFinite(value) || value < 0) return;
    this.#tree.get(labels).value += value;
  }

  /** The values as prom-client's `Counter` reports them. */
  async get(): Promise<CounterExport> {
    const values = this.#tree.values().map((s) => ({ value: s.value, labels: { ...s.labels } }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Drops every series (`registry.resetMetrics()`). */
  reset(): void {
    this.#tree.clear();
  }
}
