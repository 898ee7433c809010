import type { Metric, Registry } from 'prom-client';

/** Upper bounds (seconds) of the request duration histogram's buckets. */
export const DURATION_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What one method and route answered so far. */
interface Tally {
  readonly method: string;
  readonly route: string;
  /** Requests by status code. */
  readonly statuses: Map<number, number>;
  /** Requests per bucket (not cumulative); the last one is +Inf. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** One exported sample, as prom-client's registry reads it. */
interface Sample {
  readonly metricName?: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/**
 * `http_requests_total{method,route,status}` and `http_request_duration_seconds{method,route}`,
 * counted in plain numbers and turned into samples only when scraped.
 *
 * prom-client's Counter and Histogram check and hash their label objects on every call; on
 * the SDK routes that was measured at about a seventh of the requests/s (`npm run bench:sdk`,
 * `GET /api/v1/flags/`). Here a request costs a map lookup and a few additions; the
 * exposition is the one prom-client writes for the same metrics.
 */
export class RequestMetrics {
  /**
   * By route, then method: route and method labels are mostly constants whose hashes the
   * engine keeps, so a lookup builds no key string.
   */
  private readonly tallies = new Map<string, Map<string, Tally>>();

  constructor(registry: Registry) {
    registry.registerMetric(
      this.metric(
        'http_requests_total',
        'HTTP requests answered, by method, route pattern and status',
        'counter',
        () => this.requestSamples(),
      ),
    );
    registry.registerMetric(
      this.metric(
        'http_request_duration_seconds',
        'Time from a request arriving to its answer ending, by method and route pattern',
        'histogram',
        () => this.durationSamples(),
      ),
    );
  }

  /** One answered request. */
  observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.tallies.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.tallies.set(route, byMethod);
    }
    let tally = byMethod.get(method);
    if (tally === undefined) {
      tally = {
        method,
        route,
        statuses: new Map(),
        buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      byMethod.set(method, tally);
    }
    tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++;
    tally.buckets[bucket]! += 1;
    tally.sum += seconds;
    tally.count += 1;
  }

  private *all(): Iterable<Tally> {
    for (const byMethod of this.tallies.values()) yield* byMethod.values();
  }

  private requestSamples(): Sample[] {
    const samples: Sample[] = [];
    for (const { method, route, statuses } of this.all()) {
      for (const [status, value] of statuses) {
        samples.push({ labels: { method, route, status: String(status) }, value });
      }
    }
    return samples;
  }

  private durationSamples(): Sample[] {
    const name = 'http_request_duration_seconds';
    const samples: Sample[] = [];
    for (const { method, route, buckets, sum, count } of this.all()) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += buckets[i]!;
        samples.push({
          metricName: `${name}_bucket`,
          labels: { le, method, route },
          value: cumulative,
        });
      });
      samples.push(
        { metricName: `${name}_bucket`, labels: { le: '+Inf', method, route }, value: count },
        { metricName: `${name}_sum`, labels: { method, route }, value: sum },
        { metricName: `${name}_count`, labels: { method, route }, value: count },
      );
    }
    return samples;
  }

  /** A metric as prom-client's registry reads one (its name, help, type and samples). */
  private metric(
    name: string,
    help: string,
    type: 'counter' | 'histogram',
    samples: () => Sample[],
  ): Metric {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: samples() }),
      reset: () => this.tallies.clear(),
    };
    // The registry reads only these members; prom-client's types name its own classes only.
    return metric as unknown as Metric;
  }
}
