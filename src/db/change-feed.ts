import type { EntityManager } from '@mikro-orm/core';
import type { Client, Notification } from 'pg';
import type { Logger } from '../shared/logger';
import type { Orm } from './orm';

/**
 * Cross-node cache invalidation with PostgreSQL `LISTEN/NOTIFY`.
 *
 * Every change that touches environments sends, inside its own transaction (so only once it
 * commits), `pg_notify('flagward_env', '<environment id>:<version>:<source>')` — see
 * `environments/touch.ts`. `<version>` is the new `updated_at` in milliseconds (empty when
 * only keys or settings changed), `<source>` names the ORM (the node) that made the change.
 * Each node holds one dedicated connection that LISTENs on the channel and hands the ids of
 * other nodes' changes to `onChange` (its own arrive in-process when they commit).
 *
 * A lost connection is reconnected with backoff; since notifications sent meanwhile are
 * lost, every reconnection calls `onResync` (drop everything cached). A periodic ping finds
 * a connection that died silently.
 */
export const CHANGE_CHANNEL = 'flagward_env';
/**
 * Every committed write names its table here: a statement-level trigger on each table sends
 * `pg_notify('flagward_tables', '<table>')` (migration `table_notifications`). The GraphQL
 * answer cache (graphql/response-cache.ts) drops what read it.
 */
export const TABLES_CHANNEL = 'flagward_tables';

const sources = new WeakMap<object, string>();

/** The name this ORM's changes carry as `<source>` (one per ORM, i.e. per node). */
export function changeSource(em: EntityManager): string {
  let source = sources.get(em.config);
  if (!source) {
    source = Math.random().toString(36).slice(2, 10);
    sources.set(em.config, source);
  }
  return source;
}

/** One notification's payload; at most a few dozen bytes (PostgreSQL allows 8000). */
export function changePayload(
  environmentId: number,
  versionMs: number | '',
  source: string,
): string {
  return `${environmentId}:${versionMs}:${source}`;
}

export interface ChangeFeedOptions {
  readonly logger: Logger;
  /** Environments changed by another node. */
  readonly onChange: (environmentIds: readonly number[]) => void;
  /** Tables written by a committed transaction (of any node, this one's included). */
  readonly onTables?: (tables: readonly string[]) => void;
  /** The connection was re-established: notifications may have been missed. */
  readonly onResync: () => void;
  /** Told of every notification received and of every (re)connection (metrics). */
  readonly onNotification?: () => void;
  readonly onConnected?: (connected: boolean, reconnect: boolean) => void;
  /** First and largest delay before reconnecting (default 100 ms and 5 s). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How often the idle connection is checked (default 10 s); a check fails after 5 s. */
  readonly pingMs?: number;
}

/** What knex's PostgreSQL client offers for a connection outside its pool. */
interface RawConnections {
  acquireRawConnection(): Promise<unknown>;
}

export class ChangeFeed {
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ping: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  private backoffMs: number;
  private everConnected = false;
  private closed = false;
  private readonly own: string;

  constructor(
    private readonly orm: Orm,
    private readonly options: ChangeFeedOptions,
  ) {
    this.backoffMs = options.minBackoffMs ?? 100;
    this.own = changeSource(orm.em);
  }

  /** Whether the listen connection is up. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Connects (resolves once listening, or after the first failure, retrying behind). */
  start(): Promise<void> {
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.ping);
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    let client: Client | undefined;
    try {
      const knex: { client: RawConnections } = this.orm.em.getConnection().getKnex();
      client = (await knex.client.acquireRawConnection()) as Client;
      client.on('error', (err) => this.lost(client!, err));
      client.on('end', () => this.lost(client!));
      client.on('notification', (message) => this.receive(message));
      await client.query(`set application_name = 'flagward-listener'`);
      await client.query(`listen ${CHANGE_CHANNEL}`);
      await client.query(`listen ${TABLES_CHANNEL}`);
    } catch (err) {
      if (client) void client.end().catch(() => undefined);
      if (!this.closed)
        this.options.logger.warn(
          { err, retryInMs: this.backoffMs },
          'change notifications: could not listen; retrying',
        );
      this.retry();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    const reconnect = this.everConnected;
    this.everConnected = true;
    this.backoffMs = this.options.minBackoffMs ?? 100;
    this.options.onConnected?.(true, reconnect);
    this.startPing(client);
    if (reconnect) {
      this.options.logger.info(
        'change notifications: listening again; refreshing all cached environments',
      );
      this.options.onResync();
    }
  }

  private receive(message: Notification): void {
    if (message.channel === TABLES_CHANNEL && message.payload) {
      this.options.onTables?.([message.payload]);
      return;
    }
    if (message.channel !== CHANGE_CHANNEL || !message.payload) return;
    this.options.onNotification?.();
    const ids: number[] = [];
    for (const item of message.payload.split(',')) {
      const [id, , source] = item.split(':');
      if (source === this.own) continue;
      const n = Number(id);
      if (Number.isSafeInteger(n) && n > 0) ids.push(n);
    }
    if (ids.length > 0) this.options.onChange(ids);
  }

  private startPing(client: Client): void {
    clearInterval(this.ping);
    const every = this.options.pingMs ?? 10_000;
    this.ping = setInterval(() => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('listen connection ping timed out')), 5000);
      });
      Promise.race([client.query('select 1'), timeout])
        .catch((err: unknown) => this.lost(client, err))
        .finally(() => clearTimeout(timer));
    }, every);
    this.ping.unref();
  }

  private lost(client: Client, err?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    clearInterval(this.ping);
    void client.end().catch(() => undefined);
    if (this.closed) return;
    this.options.onConnected?.(false, false);
    this.options.logger.warn(
      { err, retryInMs: this.backoffMs },
      'change notifications: listen connection lost; reconnecting',
    );
    this.retry();
  }

  private retry(): void {
    if (this.closed || this.timer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 5000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.start();
    }, delay);
    this.timer.unref();
  }
}
