import type { MikroORM } from '@mikro-orm/core';
import type { Logger } from '../shared/logger';
import type { ApiUsageKind } from './api-usage.entity';

/** Distinct (environment, day, feature name) keys held between flushes; more are dropped. */
const MAX_PENDING_EVALUATIONS = 100_000;
/** Longest feature name stored (features.name is varchar(2000)); longer ones cannot match. */
export const MAX_FEATURE_NAME_LENGTH = 2000;

const UPSERT_REQUESTS = `insert into api_usage (environment_id, day, kind, count)
  select r.environment_id, r.day, r.kind, r.count
  from jsonb_to_recordset(?::jsonb) as r(environment_id int, day date, kind api_usage_kind, count bigint)
  join environments e on e.id = r.environment_id
  on conflict (environment_id, day, kind) do update set count = api_usage.count + excluded.count`;

/** Names that are not a feature with an environment default in the environment are dropped. */
const UPSERT_EVALUATIONS = `insert into feature_evaluations (environment_id, day, feature_name, count)
  select r.environment_id, r.day, r.feature_name, r.count
  from jsonb_to_recordset(?::jsonb) as r(environment_id int, day date, feature_name text, count bigint)
  join environments e on e.id = r.environment_id
  where exists (
    select 1 from features f
    join feature_states fs on fs.feature_id = f.id and fs.environment_id = e.id
      and fs.identity_id is null and fs.feature_segment_id is null
    where f.project_id = e.project_id and f.name = r.feature_name)
  on conflict (environment_id, day, feature_name)
  do update set count = feature_evaluations.count + excluded.count`;

/** The UTC day of a moment, `YYYY-MM-DD`. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/**
 * Counts SDK requests and flag evaluations in memory and writes them periodically, one
 * upsert statement per table, so no SDK request waits on a usage write. A failed write keeps
 * its counts for the next flush; `close()` flushes what is left.
 */
export class UsageRecorder {
  /** Requests counted and not yet written, by `[environment id, day, kind]` as JSON. */
  private requests = new Map<string, number>();
  /**
   * Today's requests since the last flush, by environment and kind: counting one builds and
   * hashes no string (SDK requests count here; flushes fold them into `requests`).
   */
  private todaysRequests = new Map<number, Map<ApiUsageKind, number>>();
  private evaluations = new Map<string, number>();
  private running: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private droppedWarned = false;
  /** Today's UTC day and when it ends (ms), so counting a request formats no date. */
  private day = '';
  private dayEndsAt = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
    private readonly flushIntervalMs: number,
  ) {}

  /** Starts flushing every `flushIntervalMs`. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  /** One SDK request of `kind` to the environment. */
  countRequest(environmentId: number, kind: ApiUsageKind): void {
    this.today();
    let byKind = this.todaysRequests.get(environmentId);
    if (byKind === undefined) {
      byKind = new Map();
      this.todaysRequests.set(environmentId, byKind);
    }
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }

  /** Today's UTC day; when it has changed, the requests counted on the day before are set aside. */
  private today(): string {
    const now = Date.now();
    if (now >= this.dayEndsAt) {
      this.foldTodaysRequests();
      this.day = utcDay(new Date(now));
      this.dayEndsAt = Date.parse(`${this.day}T00:00:00.000Z`) + 86_400_000;
    }
    return this.day;
  }

  /** Moves the requests counted under `day` into the pending counts. */
  private foldTodaysRequests(): void {
    for (const [environmentId, byKind] of this.todaysRequests)
      for (const [kind, n] of byKind)
        add(this.requests, JSON.stringify([environmentId, this.day, kind]), n);
    this.todaysRequests = new Map();
  }

  /** `count` evaluations of the feature named, as an SDK's analytics reported them. */
  countEvaluation(environmentId: number, featureName: string, count: number): void {
    // No feature is named with a NUL or half a surrogate pair (PostgreSQL text holds
    // neither), and one in the batch's JSON would fail the whole flush.
    if (
      count <= 0 ||
      featureName.length > MAX_FEATURE_NAME_LENGTH ||
      featureName.includes('\u0000') ||
      /\p{Cs}/u.test(featureName)
    )
      return;
    const key = JSON.stringify([environmentId, this.today(), featureName]);
    if (!this.evaluations.has(key) && this.evaluations.size >= MAX_PENDING_EVALUATIONS) {
      if (!this.droppedWarned) {
        this.droppedWarned = true;
        this.logger.warn('too many distinct feature evaluations pending; dropping new names');
      }
      return;
    }
    add(this.evaluations, key, count);
  }

  /** Writes the counts held so far. Never rejects; flushes run one at a time. */
  flush(): Promise<void> {
    this.running = this.running.then(() => this.flushOnce());
    return this.running;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async flushOnce(): Promise<void> {
    this.foldTodaysRequests();
    const requests = this.requests;
    const evaluations = this.evaluations;
    this.requests = new Map();
    this.evaluations = new Map();
    this.droppedWarned = false;
    await this.write(requests, UPSERT_REQUESTS, ['environment_id', 'day', 'kind'], (m) => {
      this.requests = this.merge(m, this.requests);
    });
    await this.write(
      evaluations,
      UPSERT_EVALUATIONS,
      ['environment_id', 'day', 'feature_name'],
      (m) => {
        this.evaluations = this.merge(m, this.evaluations);
      },
    );
  }

  private async write(
    counts: Map<string, number>,
    sql: string,
    columns: readonly [string, string, string],
    restore: (counts: Map<string, number>) => void,
  ): Promise<void> {
    if (counts.size === 0) return;
    const rows = [...counts].map(([key, count]) => {
      const [a, b, c] = JSON.parse(key) as [unknown, unknown, unknown];
      return { [columns[0]]: a, [columns[1]]: b, [columns[2]]: c, count };
    });
    try {
      await this.orm.em.getConnection().execute(sql, [JSON.stringify(rows)], 'run');
    } catch (err) {
      restore(counts);
      this.logger.warn({ err, rows: rows.length }, 'usage flush failed; keeping counts for retry');
    }
  }

  /** The counts not written, added to those gathered meanwhile. */
  private merge(failed: Map<string, number>, since: Map<string, number>): Map<string, number> {
    for (const [key, n] of since) add(failed, key, n);
    return failed;
  }
}
