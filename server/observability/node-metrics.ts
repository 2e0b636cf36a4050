import { Counter, Gauge, Histogram, Registry, type CounterConfiguration, type GaugeConfiguration, type HistogramConfiguration } from 'prom-client';
import { runtimeRegistry } from './runtime-metrics';

/** A collector's configuration without `registers`: the node's registry is the only one a feature adds to. */
type Unregistered<C> = Omit<C, 'registers'>;

/** A counter family read at scrape from running totals (MetricsRegistry.totals). */
export interface TotalsFamily {
  readonly name: string;
  readonly help: string;
  /** The one label that tells the totals apart (e.g. `reason`); none for a single total. */
  readonly label?: string;
}

/**
 * MetricsRegistry is what a feature sees of its node's Prometheus registry: it adds its own collectors, named
 * `gatehouse_…` (every series gets the `node` label), and reads nothing back.
 */
export interface MetricsRegistry {
  /** A counter the feature increments itself. */
  counter<T extends string = string>(config: Unregistered<CounterConfiguration<T>>): Counter<T>;
  /** A gauge, usually set by its `collect` at scrape. */
  gauge<T extends string = string>(config: Unregistered<GaugeConfiguration<T>>): Gauge<T>;
  histogram<T extends string = string>(config: Unregistered<HistogramConfiguration<T>>): Histogram<T>;
  /**
   * A counter read at scrape from running totals the feature keeps (a plain increment on its hot path instead of
   * prom-client's label hashing): reset, then set to each total, so it still only ever goes up. `read` gives each
   * label value's total. Several features may report into one family, each its own label values: the first to
   * report creates it, and values follow in the order they reported.
   */
  totals(family: TotalsFamily, read: () => Iterable<readonly [string, number]>): void;
  /** `totals` for a family without a label: one running total. */
  total(family: Omit<TotalsFamily, 'label'>, read: () => number): void;
}

/** What /metrics serves: the exposition text and its content type. */
export interface MetricsExposition {
  expose(): Promise<{ contentType: string; body: string }>;
}

interface Family {
  readonly help: string;
  readonly label?: string;
  readonly readers: (() => Iterable<readonly [string, number]>)[];
}

/**
 * NodeMetrics is one node's Prometheus registry, the MetricsRegistry the host hands to every feature. It names no
 * feature: each adds its own series when installed. The exposition is this node's series, then the process's
 * (runtimeRegistry), unless a worker group answers for the node (exposeFrom).
 */
export class NodeMetrics implements MetricsRegistry, MetricsExposition {
  readonly registry = new Registry();
  private readonly families = new Map<string, Family>();
  /** Where /metrics reads from instead of this node alone (a worker answers for its whole group). */
  private source?: () => Promise<{ contentType: string; body: string }>;

  constructor(nodeId: string) {
    this.registry.setDefaultLabels({ node: nodeId });
  }

  counter<T extends string = string>(config: Unregistered<CounterConfiguration<T>>): Counter<T> {
    return new Counter({ ...config, registers: [this.registry] });
  }

  gauge<T extends string = string>(config: Unregistered<GaugeConfiguration<T>>): Gauge<T> {
    return new Gauge({ ...config, registers: [this.registry] });
  }

  histogram<T extends string = string>(config: Unregistered<HistogramConfiguration<T>>): Histogram<T> {
    return new Histogram({ ...config, registers: [this.registry] });
  }

  totals({ name, help, label }: TotalsFamily, read: () => Iterable<readonly [string, number]>): void {
    const known = this.families.get(name);
    if (known) {
      if (known.help !== help || known.label !== label) throw new Error(`metric ${name} reported with another help text or label`);
      known.readers.push(read);
      return;
    }
    const readers = [read];
    this.families.set(name, { help, label, readers });
    this.counter({
      name,
      help,
      labelNames: label === undefined ? [] : [label],
      collect() {
        this.reset();
        for (const reader of readers) {
          for (const [value, n] of reader()) {
            if (label === undefined) this.inc(n);
            else this.labels(value).inc(n);
          }
        }
      },
    });
  }

  total(family: Omit<TotalsFamily, 'label'>, read: () => number): void {
    this.totals(family, () => [['', read()]]);
  }

  /** Serves `source`'s exposition at /metrics from now on, instead of this node's and this process's series. */
  exposeFrom(source: () => Promise<{ contentType: string; body: string }>): void {
    this.source = source;
  }

  async expose(): Promise<{ contentType: string; body: string }> {
    if (this.source) return this.source();
    const [own, runtime] = await Promise.all([this.registry.metrics(), runtimeRegistry().metrics()]);
    return { contentType: this.registry.contentType, body: `${own}\n${runtime}` };
  }
}
