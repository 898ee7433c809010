import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { inject } from 'vitest';

/**
 * Storage for one test file, matching how the suite is run:
 * - `DATABASE_URL` set (CI's PostgreSQL run): a throwaway database on that server;
 * - otherwise: embedded PGlite in a temporary data directory.
 * Both start as copies of the run's migrated template (test/support/global-setup.ts).
 * `env` is what a Flagward process needs to use it.
 */
export interface TestStorage {
  readonly kind: 'postgres' | 'embedded';
  readonly env: Readonly<Record<string, string>>;
  readonly dataDir: string;
  cleanup(): Promise<void>;
}

export async function createTestStorage(): Promise<TestStorage> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'flagward-test-'));
  const serverUrl = process.env.DATABASE_URL;
  const template = inject('databaseTemplate');
  if (!serverUrl) {
    // Where the app keeps its embedded database (config.ts: FLAGWARD_DATA_DIR/pg).
    cpSync(template.location, path.join(dataDir, 'pg'), { recursive: true });
    return {
      kind: 'embedded',
      dataDir,
      env: { FLAGWARD_DATA_DIR: dataDir },
      async cleanup() {
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const name = `flagward_test_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (c) =>
    c.query(`create database "${name}" template "${template.location}"`),
  );
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    dataDir,
    env: { FLAGWARD_DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    async cleanup() {
      await withClient(serverUrl, (c) => c.query(`drop database if exists "${name}" with (force)`));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
