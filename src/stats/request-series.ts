/**
 * @module stats/request-series
 * The per-request metrics (a counter and a latency histogram with the same labels), kept as
 * plain counters on the hot path and handed to prom-client's Registry for exposition.
 * prom-client's own Histogram hashes the label set on every observe(); here one request is a
 * map lookup and a few array increments, and the Registry still does the text format.
 */

export interface MetricValue {
  labels: Record<string, string>;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry reads from a registered metric. */
export interface RegistryMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }>;
  reset(): void;
}

interface Series {
  labels: Record<string, string>;
  count: number;
  sum: number;
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  buckets: Float64Array;
}

export class RequestSeries {
  private readonly series = new Map<string, Series>();
  readonly counter: RegistryMetric;
  readonly histogram: RegistryMetric;

  constructor(
    counterName: string,
    histogramName: string,
    private readonly bounds: readonly number[],
    help: { counter?: string; histogram?: string } = {},
  ) {
    const counterValues = (): MetricValue[] => this.counterValues();
    const histogramValues = (): MetricValue[] => this.histogramValues(histogramName);
    this.counter = {
      name: counterName,
      help: help.counter ?? 'Requests completed by the sidecar',
      type: 'counter',
      aggregator: 'sum',
      async get() {
        return { name: counterName, help: this.help, type: 'counter', aggregator: 'sum', values: counterValues() };
      },
      reset: () => this.series.clear(),
    };
    this.histogram = {
      name: histogramName,
      help: help.histogram ?? 'Request latency seen by the sidecar, from request start to response end',
      type: 'histogram',
      aggregator: 'sum',
      async get() {
        return { name: histogramName, help: this.help, type: 'histogram', aggregator: 'sum', values: histogramValues() };
      },
      reset: () => this.series.clear(),
    };
  }

  /** Start a series for a label set under `key`. */
  add(key: string, labels: Record<string, string>): void {
    if (!this.series.has(key)) this.series.set(key, { labels, count: 0, sum: 0, buckets: new Float64Array(this.bounds.length + 1) });
  }

  /** Record one request in the series `key`; false when there is no such series yet. */
  record(key: string, seconds: number): boolean {
    const s = this.series.get(key);
    if (s === undefined) return false;
    s.count++;
    s.sum += seconds;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > (b[i] as number)) i++;
    s.buckets[i] = (s.buckets[i] as number) + 1;
    return true;
  }

  private counterValues(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.count }));
  }

  private histogramValues(name: string): MetricValue[] {
    const out: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.buckets[i] as number;
        out.push({ labels: { ...s.labels, le: String(this.bounds[i]) }, value: cumulative, metricName: `${name}_bucket` });
      }
      out.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${name}_bucket` });
      out.push({ labels: s.labels, value: s.sum, metricName: `${name}_sum` });
      out.push({ labels: s.labels, value: s.count, metricName: `${name}_count` });
    }
    return out;
  }
}
