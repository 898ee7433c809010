import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/**
 * A throwaway PostgreSQL server of this test file's own (.ci/pg-start.sh in a temporary
 * directory), whatever DATABASE_URL says: both CI passes run the tests that need one, and
 * they may stop and start it.
 */
export interface PostgresServer {
  /** The server's `postgres` database. */
  readonly url: string;
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL on a database of this server (a new connection each time). */
  query<T>(databaseUrl: string, sql: string, params?: unknown[]): Promise<T[]>;
  /** `pg_ctl stop -m fast`: open connections are terminated. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  destroy(): Promise<void>;
}

async function binDir(): Promise<string> {
  const { stdout } = await run('bash', [
    '-c',
    'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1',
  ]);
  return stdout.trim();
}

export async function startPostgres(): Promise<PostgresServer> {
  const base = mkdtempSync(path.join(tmpdir(), 'flagward-pg-'));
  chmodSync(base, 0o755);
  const { stdout } = await run('bash', [path.join(ROOT, '.ci/pg-start.sh'), base], {
    maxBuffer: 1 << 20,
  });
  const url = stdout.trim().split('\n').pop()!;
  const port = new URL(url).port;
  const bin = await binDir();
  const data = path.join(base, 'pgdata');
  const pgCtl = (...args: string[]) =>
    run('runuser', ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), '-D', data, ...args]);
  const query = async <T>(databaseUrl: string, sql: string, params: unknown[] = []) => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  };
  return {
    url,
    async createDatabase(name) {
      await query(url, `create database "${name}"`);
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    query,
    async stop() {
      await pgCtl('-m', 'fast', '-w', 'stop');
    },
    async start() {
      await pgCtl(
        '-l',
        path.join(base, 'postgres.log'),
        '-w',
        'start',
        '-o',
        `-c listen_addresses=127.0.0.1 -p ${port} -k ${data} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
      );
    },
    async destroy() {
      await pgCtl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
