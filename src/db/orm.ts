import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { MIGRATIONS } from '../../migrations';
import type { Config } from '../config/config';
import { TouchSubscriber } from '../environments/touch';
import { startEmbeddedPostgres } from './embedded';
import { ENTITIES } from './entities';

export type Orm = MikroORM<PostgreSqlDriver>;

export interface Database {
  readonly orm: Orm;
  /** Embedded PGlite serves a single connection; everything shares the one pool. */
  readonly embedded: boolean;
  close(): Promise<void>;
}

/**
 * `timeoutMs` bounds connecting and waiting for a pooled connection (knex's acquire
 * timeout; node-postgres's connect timeout), so that while the database is down a request
 * fails within it instead of hanging.
 */
const EMBEDDED_ACQUIRE_TIMEOUT_MS = 60_000;

export function ormOptions(
  clientUrl: string,
  poolMax: number,
  timeoutMs = 5000,
): Options<PostgreSqlDriver> {
  return {
    driver: PostgreSqlDriver,
    clientUrl,
    entities: ENTITIES,
    discovery: { disableDynamicFileAccess: true },
    extensions: [Migrator],
    // Environment touches are written as each transaction commits (environments/touch.ts).
    subscribers: [new TouchSubscriber()],
    migrations: {
      migrationsList: MIGRATIONS,
      path: 'migrations',
      pathTs: 'migrations',
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      silent: true,
    },
    pool: { min: 0, max: poolMax },
    driverOptions: {
      acquireConnectionTimeout: timeoutMs,
      connection: { connectionTimeoutMillis: timeoutMs },
    },
    forceUtcTimezone: true,
    allowGlobalContext: false,
    debug: false,
  };
}

/** Connects to PostgreSQL (DATABASE_URL) or starts the embedded one. */
export async function openDatabase(config: Config): Promise<Database> {
  if (config.database.kind === 'postgres') {
    const orm = await MikroORM.init(
      ormOptions(config.database.url, config.database.poolMax, config.database.timeoutMs),
    );
    return { orm, embedded: false, close: () => orm.close(true) };
  }
  const pg = await startEmbeddedPostgres(config.database.dataDir);
  try {
    // Its one connection serves every request in turn, so a wait for it is a queue, not an
    // outage (the embedded database lives and dies with this process): knex's usual 60 s.
    const orm = await MikroORM.init(ormOptions(pg.url, 1, EMBEDDED_ACQUIRE_TIMEOUT_MS));
    return {
      orm,
      embedded: true,
      async close() {
        await orm.close(true);
        await pg.stop();
      },
    };
  } catch (err) {
    await pg.stop();
    throw err;
  }
}

/** Applies pending migrations; returns the names applied. */
export async function migrate(orm: Orm): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
