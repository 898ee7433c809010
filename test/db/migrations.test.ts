import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations';
import { createTestApp, type TestApp } from '../support/test-app';

describe('migrations', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('lists every migration file in migrations/index.ts', () => {
    const files = readdirSync(path.resolve(__dirname, '../../migrations'))
      .filter((f) => /^Migration\d+.*\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''));
    expect(MIGRATIONS.map((m) => m.name).sort()).toEqual(files.sort());
  });

  it('produce exactly the schema the entities describe', async () => {
    const diff = await t.app.db.orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
    expect(diff.trim()).toBe('');
  });

  it('are all applied, and applying again does nothing', async () => {
    const migrator = t.app.db.orm.getMigrator();
    expect(await migrator.getPendingMigrations()).toEqual([]);
    expect((await migrator.getExecutedMigrations()).map((m) => m.name)).toEqual(
      MIGRATIONS.map((m) => m.name),
    );
  });
});

describe('readiness', () => {
  it('reports 503 once the database is gone', async () => {
    const t = await createTestApp();
    try {
      expect((await fetch(`${t.url}/health/readiness`)).status).toBe(200);
      await t.app.db.orm.close(true);
      const res = await fetch(`${t.url}/health/readiness`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        status: 'unavailable',
        database: 'unreachable',
        detail: expect.stringMatching(/^The database is unreachable/),
        // With PostgreSQL a node also reports its change-notification connection.
        ...(t.app.db.embedded ? {} : { notifications: expect.any(String) }),
      });
      expect((await fetch(`${t.url}/health/liveness`)).status).toBe(200);
    } finally {
      await t.close().catch(() => undefined);
    }
  });
});
