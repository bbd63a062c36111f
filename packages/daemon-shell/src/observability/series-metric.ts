import type { Metric, Registry } from "prom-client";
import type { MetricLabels } from "@podid/core";
import { LabelTree } from "./label-tree.js";

/**
 * What {@link SeriesHistogram} and {@link SeriesCounter} share: registration with prom-client registries,
 * the export shape those registries render, and the series kept in a {@link LabelTree}.
 * @packageDocumentation
 */

/** What a prom-client registry reads from a metric when it renders the exposition. */
export interface MetricExport<Type extends string, Sample> {
  readonly name: string;
  readonly help: string;
  readonly type: Type;
  readonly values: readonly Sample[];
  readonly aggregator: "sum";
}

/** Options every series metric takes. */
export interface SeriesMetricOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly registers: readonly Registry[];
}

/** A metric whose series live in a {@link LabelTree}, registered with prom-client registries. */
export abstract class SeriesMetric<Series extends object> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = "sum" as const;
  protected readonly series: LabelTree<Series>;

  /** `create` makes a label combination's series the first time it is seen. */
  constructor(options: SeriesMetricOptions, create: (labels: Readonly<Record<string, string>>) => Series) {
    this.name = options.name;
    this.help = options.help;
    this.series = new LabelTree(options.labelNames, create);
    // A registry only reads `name`, `get`, `reset` and `aggregator`, which series metrics provide with
    // prom-client's own shapes; its type names prom-client's classes, hence the cast.
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
  }

  /**
   * A finder of `labels`' series that searches the tree only once, and again after a {@link reset} (which
   * drops the series it found). The labels are copied: read once, as `MetricsPort.bind` promises.
   */
  protected boundSeries(labels: MetricLabels): () => Series {
    const own: MetricLabels = { ...labels };
    let generation = Number.NaN;
    let series: Series | undefined;
    return () => {
      if (series === undefined || generation !== this.series.generation) {
        series = this.series.get(own);
        generation = this.series.generation;
      }
      return series;
    };
  }

  /** Drops every series (`registry.resetMetrics()`). */
  reset(): void {
    this.series.clear();
  }
}
