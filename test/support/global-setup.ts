import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import type { ProvidedContext } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { migrate, ormOptions } from '../../src/db/orm';
import { withClient } from './database';

declare module 'vitest' {
  export interface ProvidedContext {
    /**
     * A migrated database that test storages start from: an embedded data directory to copy,
     * or (with DATABASE_URL) the name of a PostgreSQL template database.
     */
    databaseTemplate: { readonly kind: 'embedded' | 'postgres'; readonly location: string };
  }
}

/**
 * Runs the migrations once per test run, into a database every test's storage is then
 * copied from (test/support/database.ts): a new embedded database costs seconds of
 * initialisation and migration, a copy a fraction of one. The migrations still run for
 * real, here, and from nothing in the CLI tests.
 */
/** The part of vitest's TestProject used here (vitest/node is ESM-only for the type checker). */
interface Provider {
  provide<K extends keyof ProvidedContext & string>(key: K, value: ProvidedContext[K]): void;
}

export default async function setup(project: Provider): Promise<() => Promise<void>> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dir = mkdtempSync(path.join(tmpdir(), 'flagward-template-'));
    const pg = await startEmbeddedPostgres(path.join(dir, 'pg'));
    try {
      const orm = await MikroORM.init(ormOptions(pg.url, 1));
      await migrate(orm);
      await orm.close(true);
    } finally {
      await pg.stop();
    }
    project.provide('databaseTemplate', { kind: 'embedded', location: path.join(dir, 'pg') });
    return () => Promise.resolve(rmSync(dir, { recursive: true, force: true }));
  }
  const name = `flagward_template_${randomBytes(6).toString('hex')}`;
  await withClient(serverUrl, (c) => c.query(`create database "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const orm = await MikroORM.init(ormOptions(url.toString(), 1));
  try {
    await migrate(orm);
  } finally {
    await orm.close(true);
  }
  project.provide('databaseTemplate', { kind: 'postgres', location: name });
  return async () => {
    await withClient(serverUrl, (c) => c.query(`drop database if exists "${name}" with (force)`));
  };
}
