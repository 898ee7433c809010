import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MikroORM } from '@mikro-orm/core';
import type { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { MetricsConfig } from '../config/config';
import type { Logger } from '../shared/logger';
import { RequestMetrics } from './request-metrics';

/** Longest a scrape waits for the outbox count before reporting without it. */
const OUTBOX_READ_TIMEOUT_MS = 1000;

/** What the knex pool (tarn) answers; read structurally so a driver change cannot crash a scrape. */
interface PoolLike {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
  readonly max?: number;
}

export interface MetricsSources {
  readonly orm: MikroORM<PostgreSqlDriver>;
  readonly logger: Logger;
  /** Open realtime (SSE) streams. */
  readonly streams: () => number;
  /** Environments the SDK cache holds. */
  readonly cachedEnvironments: () => number;
  /** GraphQL answers kept (graphql/response-cache.ts). */
  readonly keptAnswers?: () => number;
}

/** A GraphQL query's way through the answer cache. */
export type AnswerLookup = 'hit' | 'miss' | 'uncacheable';

export type CacheName = 'key' | 'document';

/**
 * Prometheus metrics, one registry per app: HTTP requests by method, route pattern and
 * status, their latency by route, SDK cache hits and misses, the webhook outbox's depth
 * (read at scrape time, bounded by a timeout), the database pool, and the default process
 * and Node.js metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: RequestMetrics;
  /**
   * SDK cache lookups, counted in plain numbers (two per SDK request: a Counter's label
   * hashing there is measurable) and handed to their counter when scraped.
   */
  private readonly lookups: Record<CacheName, { hit: number; miss: number }> = {
    key: { hit: 0, miss: 0 },
    document: { hit: 0, miss: 0 },
  };
  private readonly notifications: Counter;
  private readonly listener: Gauge;
  private readonly reconnects: Counter;
  private readonly degraded: Counter<'answer'>;
  private readonly answers: Counter<'result'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new RequestMetrics(this.registry);
    const lookups = this.lookups;
    new Counter({
      name: 'flagward_sdk_cache_lookups_total',
      help: 'SDK cache lookups: environment keys (key) and built environments (document), hit or miss',
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        this.reset();
        for (const cache of ['key', 'document'] as const)
          for (const result of ['hit', 'miss'] as const)
            this.inc({ cache, result }, lookups[cache][result]);
      },
    });

    this.notifications = new Counter({
      name: 'flagward_change_notifications_total',
      help: 'Change notifications (PostgreSQL NOTIFY) received from the database',
      registers,
    });
    this.listener = new Gauge({
      name: 'flagward_change_listener_connected',
      help: "Whether the connection listening for other nodes' changes is up (1) or not (0); absent on the embedded database",
      registers,
    });
    this.reconnects = new Counter({
      name: 'flagward_change_listener_reconnects_total',
      help: 'Times the listen connection was re-established (each drops the SDK cache, since notifications may have been missed)',
      registers,
    });
    this.degraded = new Counter({
      name: 'flagward_sdk_degraded_answers_total',
      help: 'SDK answers given while the database was unreachable: from a last known key, document or stamp; identities evaluated with the sent traits only; requests refused (503)',
      labelNames: ['answer'],
      registers,
    });
    for (const answer of ['key', 'document', 'stamp', 'identity', 'refused'])
      this.degraded.inc({ answer }, 0);

    this.answers = new Counter({
      name: 'flagward_graphql_answer_cache_total',
      help: 'GraphQL requests by their way through the answer cache: hit (answered from memory), miss (run, then kept if it can be), uncacheable (a mutation, a @NotCached field, or the cache off)',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['hit', 'miss', 'uncacheable']) this.answers.inc({ result }, 0);
    new Gauge({
      name: 'flagward_graphql_answer_cache_entries',
      help: 'GraphQL answers kept in memory',
      registers,
      collect() {
        this.set(sources.keptAnswers?.() ?? 0);
      },
    });

    new Gauge({
      name: 'flagward_sdk_cache_environments',
      help: 'Environments the SDK cache holds',
      registers,
      collect() {
        this.set(sources.cachedEnvironments());
      },
    });
    new Gauge({
      name: 'flagward_realtime_streams',
      help: 'Open realtime (SSE) streams',
      registers,
      collect() {
        this.set(sources.streams());
      },
    });

    const failures = new Counter({
      name: 'flagward_metrics_read_failures_total',
      help: 'Scrapes that could not read a value (the gauge keeps its last value)',
      labelNames: ['source'],
      registers,
    });
    failures.inc({ source: 'outbox' }, 0);
    const outbox = new Gauge({
      name: 'flagward_webhook_outbox_deliveries',
      help: 'Webhook deliveries not yet sent (pending), and how many of them are due now',
      labelNames: ['state'],
      registers,
      async collect() {
        try {
          const { pending, due } = await readOutbox(sources.orm);
          outbox.set({ state: 'pending' }, pending);
          outbox.set({ state: 'due' }, due);
        } catch (err) {
          failures.inc({ source: 'outbox' });
          sources.logger.warn({ err }, 'metrics: could not read the webhook outbox');
        }
      },
    });

    const pool = new Gauge({
      name: 'flagward_db_pool_connections',
      help: 'Database pool: connections in use, idle, and requests waiting for one (acquire) or for a new connection (create)',
      labelNames: ['state'],
      registers,
      collect() {
        const p = poolOf(sources.orm);
        if (!p) return;
        pool.set({ state: 'used' }, p.numUsed());
        pool.set({ state: 'free' }, p.numFree());
        pool.set({ state: 'pending_acquire' }, p.numPendingAcquires());
        pool.set({ state: 'pending_create' }, p.numPendingCreates());
      },
    });
    new Gauge({
      name: 'flagward_db_pool_max',
      help: 'Largest size of the database pool (1 on the embedded database)',
      registers,
      collect() {
        const max = poolOf(sources.orm)?.max;
        if (typeof max === 'number') this.set(max);
      },
    });
  }

  /** One answered request; `route` must be a pattern or fixed name, never a raw path. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.observe(method, route, status, seconds);
  }

  /** One SDK cache lookup. */
  cacheLookup(cache: CacheName, hit: boolean): void {
    this.lookups[cache][hit ? 'hit' : 'miss'] += 1;
  }

  /** One GraphQL request's way through the answer cache. */
  answerLookup(result: AnswerLookup): void {
    this.answers.inc({ result });
  }

  /** One change notification received. */
  changeNotification(): void {
    this.notifications.inc();
  }

  /** The listen connection came up (`reconnect`: not the first time) or went down. */
  changeListener(connected: boolean, reconnect: boolean): void {
    this.listener.set(connected ? 1 : 0);
    if (reconnect) this.reconnects.inc();
  }

  /** One SDK answer given (or refused) without the database. */
  degradedAnswer(answer: 'key' | 'document' | 'stamp' | 'identity' | 'refused'): void {
    this.degraded.inc({ answer });
  }

  /**
   * `GET /metrics`: the Prometheus text format, behind `Authorization: Bearer <token>` when a
   * token is configured (401 without it). Answers with `res`; never throws.
   */
  async serve(req: IncomingMessage, res: ServerResponse, config: MetricsConfig): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ detail: `Method "${req.method}" not allowed.` }));
      return;
    }
    if (config.token !== undefined && !bearerMatches(req.headers.authorization, config.token)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ detail: 'Authentication credentials were not provided.' }));
      return;
    }
    const body = await this.registry.metrics();
    res.writeHead(200, { 'Content-Type': this.registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readOutbox(
  orm: MikroORM<PostgreSqlDriver>,
): Promise<{ pending: number; due: number }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const rows = await Promise.race([
      orm.em.getConnection().execute<{ pending: string | number; due: string | number }[]>(
        `select count(*) as pending, count(*) filter (where next_attempt_at <= now()) as due
             from webhook_deliveries where status = 'PENDING'`,
        [],
        'all',
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), OUTBOX_READ_TIMEOUT_MS);
      }),
    ]);
    const row = rows[0];
    return { pending: Number(row?.pending ?? 0), due: Number(row?.due ?? 0) };
  } finally {
    clearTimeout(timer);
  }
}

function poolOf(orm: MikroORM<PostgreSqlDriver>): PoolLike | undefined {
  try {
    const pool: unknown = orm.em.getConnection().getKnex().client.pool;
    if (pool && typeof (pool as PoolLike).numUsed === 'function') return pool as PoolLike;
  } catch {
    // Not connected (closing): nothing to report.
  }
  return undefined;
}
