import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * Every table announces its committed writes (migration `table_notifications`): the GraphQL
 * answer cache of every node relies on it (graphql/response-cache.ts). A table added by a
 * later migration without the trigger fails here by name. That a write by any connection
 * reaches another node's answers is test/cluster/cross-node's.
 */
describe('table notifications', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(undefined, { WEBHOOK_WORKER: 'false' });
  });
  afterAll(() => t?.close());

  const sql = <T>(query: string): Promise<T[]> =>
    t.app.db.orm.em.getConnection().execute<T[]>(query);

  it('has the trigger on every table', async () => {
    const tables = await sql<{ name: string }>(
      `select tablename as name from pg_tables
        where schemaname = current_schema() and tablename <> 'mikro_orm_migrations'`,
    );
    expect(tables.length).toBeGreaterThan(20);
    const missing = await sql<{ name: string }>(
      `select tablename as name from pg_tables
        where schemaname = current_schema() and tablename <> 'mikro_orm_migrations'
       except
       select event_object_table from information_schema.triggers
        where trigger_name = 'flagward_table_changed' and trigger_schema = current_schema()
          and action_timing = 'AFTER' and action_orientation = 'STATEMENT'
        group by event_object_table
       having count(distinct event_manipulation) = 3`,
    );
    expect(missing.map((r) => r.name)).toEqual([]);
  });
});
