import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentChanges } from '../../src/environments/changes';
import { touchEnvironments } from '../../src/environments/touch';
import { createWorkspace, type Workspace } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * Touching environments (their documents' `updated_at`, and the change announced) from
 * transactions that run side by side. Each transaction's touches are written in one
 * statement as it commits, locking the rows in id order, so two transactions touching the
 * same environments in opposite orders both commit instead of deadlocking.
 */
describe('environment touches from concurrent transactions', () => {
  let t: TestApp;
  let ws: Workspace;

  beforeAll(async () => {
    t = await createTestApp();
    const { token } = await t.createUser('toucher@example.com');
    ws = await createWorkspace(t, token, { environments: ['Development', 'Production'] });
  });
  afterAll(() => t?.close());

  async function stamps(): Promise<Map<number, number>> {
    const rows: { id: number; updated_at: Date }[] = await t.app.db.orm.em
      .fork()
      .getConnection()
      .execute('select id, updated_at from environments where project_id = ?', [
        Number(ws.projectId),
      ]);
    return new Map(rows.map((r) => [r.id, new Date(r.updated_at).getTime()]));
  }

  it('commits both when two transactions touch the same environments in opposite orders', async () => {
    const dev = Number(ws.environments.Development);
    const prod = Number(ws.environments.Production);
    const changes = new EnvironmentChanges();
    changes.attach(t.app.db.orm);
    const seen: number[] = [];
    changes.subscribe((ids) => seen.push(...ids));
    const before = await stamps();

    // On PostgreSQL both transactions are open at once: each touches its first environment,
    // both then wait for each other (each holding its transaction open), and each touches
    // its second. The embedded database has one connection, so there they take turns.
    const together = !t.app.db.embedded;
    let arrived = 0;
    let release: () => void = () => undefined;
    const bothArrived = new Promise<void>((resolve) => (release = resolve));
    const meet = async (): Promise<void> => {
      if (!together) return;
      if (++arrived === 2) release();
      await bothArrived;
    };
    const run = (first: number, second: number): Promise<void> =>
      t.app.db.orm.em.fork().transactional(async (tx) => {
        touchEnvironments(tx, { environmentId: first });
        await tx.getConnection().execute('select 1', [], 'all', tx.getTransactionContext());
        await meet();
        touchEnvironments(tx, { environmentId: second });
        await tx.getConnection().execute('select 1', [], 'all', tx.getTransactionContext());
      });
    const outcomes = await Promise.allSettled([run(dev, prod), run(prod, dev)]);

    expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual([
      'ok',
      'ok',
    ]);
    const after = await stamps();
    expect(after.get(dev)).toBeGreaterThan(before.get(dev)!);
    expect(after.get(prod)).toBeGreaterThan(before.get(prod)!);
    expect(seen.filter((id) => id === dev)).toHaveLength(2);
    expect(seen.filter((id) => id === prod)).toHaveLength(2);
  });

  it('writes nothing for a transaction that rolls back', async () => {
    const dev = Number(ws.environments.Development);
    const before = await stamps();
    await expect(
      t.app.db.orm.em.fork().transactional((tx) => {
        touchEnvironments(tx, { projectId: Number(ws.projectId) });
        return Promise.reject(new Error('rolled back'));
      }),
    ).rejects.toThrow('rolled back');
    expect((await stamps()).get(dev)).toBe(before.get(dev));
  });
});
