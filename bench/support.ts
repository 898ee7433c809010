/**
 * Shared by the benchmarks: a throwaway database (embedded PGlite in a temporary directory,
 * or a fresh database on the PostgreSQL server given by DATABASE_URL, dropped at the end)
 * reading numeric settings from the environment, the environment a Flagward child runs
 * with, the load-average line every report ends with, and running a benchmark's main.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../src/config/config';
import { openDatabase, type Database } from '../src/db/orm';

export interface Storage {
  readonly db: Database;
  readonly label: string;
  /**
   * What another Flagward process needs to open the same database: the data directory
   * (PGlite lives in `<dir>/pg`) and, on PostgreSQL, the throwaway database's URL.
   */
  readonly env: { readonly FLAGWARD_DATA_DIR: string; readonly DATABASE_URL?: string };
  /**
   * Closes this process's connection and keeps the database, so that another process can
   * open it (PGlite's data directory admits one process at a time).
   */
  release(): Promise<void>;
  /** Closes the connection (unless released) and removes the database. */
  close(): Promise<void>;
}

/** A fresh database: embedded PGlite in a temporary directory, or one on DATABASE_URL. */
export async function openStorage(prefix = 'flagward-bench-'): Promise<Storage> {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  const serverUrl = process.env.DATABASE_URL;
  const removeDir = (): void => rmSync(dataDir, { recursive: true, force: true });
  if (!serverUrl) {
    const db = await openDatabase(loadConfig({ FLAGWARD_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
    const release = once(() => db.close());
    return {
      db,
      label: 'PGlite (embedded)',
      env: { FLAGWARD_DATA_DIR: dataDir },
      release,
      async close() {
        await release();
        removeDir();
      },
    };
  }
  const name = `flagward_bench_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`create database "${name}"`));
  const dropDatabase = async (): Promise<void> => {
    await withClient(serverUrl, (c) => c.query(`drop database if exists "${name}" with (force)`));
    removeDir();
  };
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let db: Database;
  try {
    db = await openDatabase(
      loadConfig({
        FLAGWARD_DATA_DIR: dataDir,
        DATABASE_URL: url.toString(),
        LOG_LEVEL: 'silent',
      }),
    );
  } catch (err) {
    await dropDatabase();
    throw err;
  }
  const version = await db.orm.em
    .getConnection()
    .execute<{ server_version: string }[]>('show server_version');
  const release = once(() => db.close());
  return {
    db,
    label: `PostgreSQL ${version[0]?.server_version ?? '?'}`,
    env: { FLAGWARD_DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    release,
    async close() {
      await release();
      await dropDatabase();
    },
  };
}

async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `fn` run at most once; later calls get the first call's promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/** A positive integer from the environment variable `name`, or `fallback` when unset. */
export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

/** The environment a Flagward child process runs with on `storage`, as `npm start` runs it. */
export function flagwardEnv(storage: Storage): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...storage.env, NODE_ENV: 'production' };
  if (storage.env.DATABASE_URL === undefined) delete env.DATABASE_URL;
  return env;
}

/**
 * CPU seconds (user + system) a process has used so far, from Linux's /proc/<pid>/stat;
 * null where there is no /proc. Sampled around a round, it gives a server's CPU time per
 * request: a steadier figure than requests/s on a machine the load generator shares.
 */
export function cpuSeconds(pid: number): number | null {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return null;
  // The fields after the command name (which may hold spaces) are space-separated;
  // utime and stime are the 14th and 15th, in clock ticks (USER_HZ, 100 on Linux).
  const stat = readFileSync(file, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The report line on how busy the machine was, read when a run ends. */
export function loadAverageLine(): string {
  return `Load average (1, 5, 15 min) at the end: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')}.`;
}

/** Runs a benchmark's `main`, its result the exit code (1 when it throws). */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
