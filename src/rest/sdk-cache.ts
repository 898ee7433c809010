import type { MikroORM } from '@mikro-orm/core';
import { isDatabaseUnavailable } from '../db/unavailable';
import type { EnvironmentChanges } from '../environments/changes';
import { SERVER_KEY_PREFIX } from '../environments/server-side-key.entity';
import { sha256Hex } from '../shared/ids';
import { type Logger, requestContext } from '../shared/logger';
import { buildCachedEnvironment, type CachedEnvironment } from './document-cache';

/** Which kind of key a request presented (Flagsmith's request origin). */
export type KeyOrigin = 'CLIENT' | 'SERVER';

/** The environment an SDK request is for, resolved from `X-Environment-Key`. */
export interface SdkEnvironment {
  readonly environmentId: number;
  readonly origin: KeyOrigin;
}

/** The exact `detail` messages of Flagsmith's SDK authentication (sdk-rest-api.md §2.3). */
export const KEY_ERRORS = {
  missing: 'Invalid or missing Environment key',
  unknown: 'Invalid or missing Environment Key',
  stopped: 'Organisation is disabled from serving flags.',
} as const;

export type KeyCheck =
  | { readonly ok: true; readonly environment: SdkEnvironment }
  | { readonly ok: false; readonly detail: string };

export interface SdkCacheOptions {
  /** How often the cached environments' versions are compared with the database. */
  readonly pollMs: number;
  /** Told of every key and document lookup, whether memory answered it (metrics). */
  readonly onLookup?: (cache: 'key' | 'document', hit: boolean) => void;
  /** Told when the database was unreachable and a last known key or document answered. */
  readonly onStale?: (what: 'key' | 'document' | 'stamp') => void;
}

/** Longest key looked up; anything longer cannot be one of ours. */
const MAX_KEY_LENGTH = 100;

interface EnvironmentRow {
  readonly id: number;
  readonly updated_at: Date | string;
  readonly stop_serving_flags: boolean;
  /** The row minus `id`, as text: any difference means the cached state is stale. */
  readonly version: string;
  /** For a server-key lookup: when that key expires. */
  readonly key_expires_at?: Date | string | null;
}

/**
 * Everything the SDK endpoints depend on besides the document's own rows: its stamp, the
 * client key, the server keys' state, and the project and organisation settings that
 * change without touching `updated_at`.
 */
const VERSION = `concat_ws('|', e.updated_at, e.api_key, p.name, p.hide_disabled_flags,
  p.enable_realtime_updates, o.name, o.feature_analytics, o.stop_serving_flags,
  o.persist_trait_data,
  (select string_agg(k.id || ':' || k.active || ':' || coalesce(k.expires_at::text, ''), ','
    order by k.id) from environment_server_keys k where k.environment_id = e.id)) as version`;
const COLUMNS = `e.id, e.updated_at, o.stop_serving_flags, ${VERSION}`;
const JOINS = `join projects p on p.id = e.project_id join organisations o on o.id = p.organisation_id`;
const BY_CLIENT_KEY = `select ${COLUMNS} from environments e ${JOINS} where e.api_key = ?`;
const BY_SERVER_KEY = `select ${COLUMNS}, k.expires_at as key_expires_at
  from environment_server_keys k join environments e on e.id = k.environment_id ${JOINS}
  where k.key_hash = ? and k.active and (k.expires_at is null or k.expires_at > now())`;
const BY_IDS = `select ${COLUMNS} from environments e ${JOINS} where e.id = any(?::int[])`;

/** One environment as this process knows it; replaced as a whole when it changes. */
interface EnvironmentState {
  readonly version: string;
  readonly updatedAt: Date;
  readonly stopped: boolean;
  /** Cache keys (see `keyId`) that resolve to this environment. */
  readonly keys: Set<string>;
  entry?: CachedEnvironment;
  building?: Promise<CachedEnvironment>;
}

/** What was last known of an environment whose state was dropped (outage fallback). */
interface LastKnown {
  readonly entry: CachedEnvironment | undefined;
  readonly updatedAt: Date;
  readonly stopped: boolean;
}

interface CachedKey {
  readonly environmentId: number;
  readonly origin: KeyOrigin;
  /** Milliseconds since the epoch, or null for a key that does not expire. */
  readonly expiresAt: number | null;
}

/**
 * The SDK data plane's memory: environment keys and documents, so a request for flags
 * touches no database. Kept current two ways: changes committed by this process arrive at
 * once through `EnvironmentChanges`; a poll every `pollMs` compares each cached
 * environment's version with the database, which catches every other writer (another
 * process, the CLI) and keys that were revoked or expired. Other nodes' changes also arrive
 * at once through `invalidate` (PostgreSQL NOTIFY, db/change-feed.ts).
 *
 * Database outages: a failed poll keeps serving what is cached. A dropped environment's last
 * built document and its keys are kept as "last known" until a fresh one is built, and
 * answer while the database is unreachable (`isDatabaseUnavailable`); an environment or key
 * this process never saw cannot be answered then. During an outage nothing can commit, so
 * the last known state lags the database only by changes that had not reached this process
 * when the outage began.
 */
export class SdkCache {
  private readonly keys = new Map<string, CachedKey>();
  private readonly environments = new Map<number, EnvironmentState>();
  private readonly lastKnown = new Map<number, LastKnown>();
  private readonly lastKnownKeys = new Map<string, CachedKey>();
  private readonly listeners = new Set<(environmentIds: readonly number[]) => void>();
  private readonly unsubscribe: () => void;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly orm: MikroORM,
    changes: EnvironmentChanges,
    private readonly logger: Logger,
    private readonly options: SdkCacheOptions,
  ) {
    this.unsubscribe = changes.subscribe((ids) => this.invalidate(ids));
  }

  /** Number of environments held (for tests and metrics). */
  get size(): number {
    return this.environments.size;
  }

  /**
   * Resolves `X-Environment-Key`: a client key (`Environment.apiKey`) or a server key
   * (`ser.…`, matched by SHA-256; inactive or expired keys are refused). With
   * `serverOnly`, client keys are refused as Flagsmith's environment-document view does.
   */
  authenticate(key: string, serverOnly = false): KeyCheck | Promise<KeyCheck> {
    const origin: KeyOrigin = key.startsWith(SERVER_KEY_PREFIX) ? 'SERVER' : 'CLIENT';
    if (!key || (serverOnly && origin !== 'SERVER'))
      return { ok: false, detail: KEY_ERRORS.missing };
    if (key.length > MAX_KEY_LENGTH) return { ok: false, detail: KEY_ERRORS.unknown };
    const id = origin === 'SERVER' ? `S${sha256Hex(key)}` : `C${key}`;
    const cached = this.keys.get(id);
    if (cached && (cached.expiresAt === null || cached.expiresAt > Date.now())) {
      const state = this.environments.get(cached.environmentId);
      if (state) {
        this.options.onLookup?.('key', true);
        return this.check(state, cached);
      }
    }
    if (cached) this.keys.delete(id);
    this.options.onLookup?.('key', false);
    return this.lookUp(id, origin);
  }

  /** A key not (or no longer) in memory: one query. */
  private async lookUp(id: string, origin: KeyOrigin): Promise<KeyCheck> {
    let rows: EnvironmentRow[];
    try {
      rows = await this.orm.em
        .getConnection()
        .execute(origin === 'SERVER' ? BY_SERVER_KEY : BY_CLIENT_KEY, [id.slice(1)], 'all');
    } catch (err) {
      const known = this.lastKnownKey(id, err);
      if (known) return known;
      throw err;
    }
    this.lastKnownKeys.delete(id);
    const row = rows[0];
    if (!row) return { ok: false, detail: KEY_ERRORS.unknown };
    const state = this.remember(row);
    const expires = row.key_expires_at ? new Date(row.key_expires_at).getTime() : null;
    const resolved: CachedKey = { environmentId: row.id, origin, expiresAt: expires };
    if (this.environments.get(row.id) === state) {
      this.keys.set(id, resolved);
      state.keys.add(id);
    }
    return this.check(state, resolved);
  }

  /** The environment's cached document and flags if built, without waiting. */
  peek(environmentId: number): CachedEnvironment | undefined {
    const entry = this.environments.get(environmentId)?.entry;
    // A miss is counted by the `environment()` call that follows it.
    if (entry) this.options.onLookup?.('document', true);
    return entry;
  }

  /**
   * The environment's cached document and flags, built on first use after a change. While
   * the database is unreachable, the last one built (if any) answers instead.
   */
  async environment(environmentId: number): Promise<CachedEnvironment> {
    try {
      return await this.current(environmentId);
    } catch (err) {
      const entry = isDatabaseUnavailable(err)
        ? this.lastKnown.get(environmentId)?.entry
        : undefined;
      if (!entry) throw err;
      this.options.onStale?.('document');
      return entry;
    }
  }

  private async current(environmentId: number): Promise<CachedEnvironment> {
    const state = this.environments.get(environmentId) ?? (await this.load(environmentId));
    if (!state) {
      this.lastKnown.delete(environmentId);
      throw new EnvironmentGone(environmentId);
    }
    this.options.onLookup?.('document', state.entry !== undefined);
    if (state.entry) return state.entry;
    if (!state.building) {
      const building = buildCachedEnvironment(this.orm, environmentId, state);
      state.building = building;
      building.then(
        (entry) => {
          if (state.building !== building) return;
          state.entry = entry;
          state.building = undefined;
          if (this.environments.get(environmentId) === state) this.lastKnown.delete(environmentId);
        },
        () => {
          // The next request tries again.
          if (state.building === building) state.building = undefined;
        },
      );
    }
    return state.building;
  }

  /**
   * The environment's `updated_at`, or undefined once it no longer exists (the last known
   * one while the database is unreachable).
   */
  async stamp(environmentId: number): Promise<Date | undefined> {
    try {
      const state = this.environments.get(environmentId) ?? (await this.load(environmentId));
      return state?.updatedAt;
    } catch (err) {
      const known = isDatabaseUnavailable(err) ? this.lastKnown.get(environmentId) : undefined;
      if (!known) throw err;
      this.options.onStale?.('stamp');
      return known.updatedAt;
    }
  }

  /** Calls `listener` with the ids of environments whose cached state was dropped. */
  onChange(listener: (environmentIds: readonly number[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops polling and listening for changes. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
  }

  /** Forgets what is cached about every environment (notifications may have been missed). */
  invalidateAll(): void {
    this.invalidate([...this.environments.keys()]);
  }

  /**
   * Forgets what is cached about these environments and tells the listeners. Their last
   * built document and keys are kept aside for a database outage until rebuilt.
   */
  invalidate(environmentIds: readonly number[]): void {
    const dropped: number[] = [];
    for (const id of environmentIds) {
      const state = this.environments.get(id);
      if (!state) continue;
      this.environments.delete(id);
      const previous = this.lastKnown.get(id);
      this.lastKnown.set(
        id,
        state.entry || !previous
          ? { entry: state.entry, updatedAt: state.updatedAt, stopped: state.stopped }
          : { ...previous, stopped: state.stopped },
      );
      for (const key of state.keys) {
        const cached = this.keys.get(key);
        if (cached) this.lastKnownKeys.set(key, cached);
        this.keys.delete(key);
      }
      dropped.push(id);
    }
    if (dropped.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(dropped);
      } catch (err) {
        this.logger.error({ err }, 'environment change listener failed');
      }
    }
  }

  /** A key's last known resolution, when the database cannot be asked. */
  private lastKnownKey(id: string, err: unknown): KeyCheck | undefined {
    if (!isDatabaseUnavailable(err)) return undefined;
    const key = this.lastKnownKeys.get(id) ?? this.keys.get(id);
    if (!key || (key.expiresAt !== null && key.expiresAt <= Date.now())) return undefined;
    const state = this.environments.get(key.environmentId) ?? this.lastKnown.get(key.environmentId);
    if (!state) return undefined;
    this.options.onStale?.('key');
    return this.check(state, key);
  }

  private check(state: { readonly stopped: boolean }, key: CachedKey): KeyCheck {
    if (state.stopped) return { ok: false, detail: KEY_ERRORS.stopped };
    return { ok: true, environment: { environmentId: key.environmentId, origin: key.origin } };
  }

  private async load(environmentId: number): Promise<EnvironmentState | undefined> {
    const rows: EnvironmentRow[] = await this.orm.em
      .getConnection()
      .execute(BY_IDS, [`{${environmentId}}`], 'all');
    const row = rows[0];
    return row ? this.remember(row) : undefined;
  }

  /** The state for a row just read: the cached one if still current, else a new one. */
  private remember(row: EnvironmentRow): EnvironmentState {
    const current = this.environments.get(row.id);
    if (current?.version === row.version) return current;
    if (current) this.invalidate([row.id]);
    const state: EnvironmentState = {
      version: row.version,
      updatedAt: new Date(row.updated_at),
      stopped: row.stop_serving_flags,
      keys: new Set(),
    };
    if (!this.closed) {
      this.environments.set(row.id, state);
      this.schedule();
    }
    return state;
  }

  private schedule(): void {
    if (this.timer || this.polling || this.closed || this.environments.size === 0) return;
    // The poll is nobody's request: its log lines must not carry the id of the one that
    // happened to schedule it.
    requestContext.exit(() => this.startTimer());
  }

  private startTimer(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
        this.schedule();
      });
    }, this.options.pollMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const ids = [...this.environments.keys()];
    if (ids.length === 0) return;
    let rows: EnvironmentRow[];
    try {
      rows = await this.orm.em.getConnection().execute(BY_IDS, [`{${ids.join(',')}}`], 'all');
    } catch (err) {
      if (!this.closed) this.logger.warn({ err }, 'SDK cache poll failed; serving cached data');
      return;
    }
    const versions = new Map(rows.map((r) => [r.id, r.version]));
    this.invalidate(ids.filter((id) => versions.get(id) !== this.environments.get(id)?.version));
  }
}

/** The environment was deleted between resolving its key and reading its document. */
export class EnvironmentGone extends Error {
  constructor(readonly environmentId: number) {
    super(`environment ${environmentId} no longer exists`);
  }
}
