import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EnvironmentChanges } from '../../src/environments/changes';
import { touchEnvironments } from '../../src/environments/touch';
import { createWorkspace, type Workspace } from '../support/fixtures';
import {
  adminGql,
  type Gql,
  workspaceHelpers,
  type WorkspaceHelpers,
} from '../support/sdk-workspace';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * The SDK data plane's memory (issue 4, point 6): warm requests read no database, changes
 * committed here reach the SDK endpoints at once, and writes the process did not make (the
 * CLI, another node) within the poll interval; keys expire in memory.
 */

interface Flag {
  readonly enabled: boolean;
  readonly feature_state_value: unknown;
  readonly feature: { readonly name: string };
}

describe('SDK cache', () => {
  let t: TestApp;
  let ws: Workspace;
  let clientKey: string;

  let gql: Gql;
  let sdk: WorkspaceHelpers;

  const api = (path: string, key: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${t.url}/api/v1/${path}`, {
      ...init,
      headers: { 'x-environment-key': key, 'content-type': 'application/json' },
    });

  const flags = async (key = clientKey): Promise<Flag[]> => {
    const res = await api('flags/', key);
    expect(res.status).toBe(200);
    return (await res.json()) as Flag[];
  };

  /** The SDK cache's periodic version check (background work, not a request's). */
  const isVersionPoll = (sql: string): boolean => /\bas version\s+from environments\b/.test(sql);

  /**
   * SQL statements run while `work` runs, but for the cache's version polls (every 300 ms,
   * on the same connection: a slow request on a loaded machine meets one).
   */
  async function statements(work: () => Promise<unknown>): Promise<string[]> {
    const connection = t.app.db.orm.em.getConnection();
    const spy = vi.spyOn(connection, 'execute');
    try {
      await work();
      return spy.mock.calls.map((c) => String(c[0])).filter((sql) => !isVersionPoll(sql));
    } finally {
      spy.mockRestore();
    }
  }

  beforeAll(async () => {
    // Statements are counted on the shared connection: the webhook worker's polls and the
    // usage flushes would be counted too, so this app sends no webhooks and flushes hourly.
    t = await createTestApp(undefined, { WEBHOOK_WORKER: 'false', USAGE_FLUSH_SECONDS: '3600' });
    const { token } = await t.createUser('cache@example.com', { isSuperuser: true });
    ws = await createWorkspace(t, token, { environments: ['Production'] });
    gql = adminGql(t, token);
    sdk = workspaceHelpers(gql, ws, ws.environments.Production!);
    clientKey = ws.apiKeys.Production!;
    await sdk.createFeature({ name: 'banner', initialValue: 'hello', defaultEnabled: true });
  });

  afterAll(() => t.close());
  afterEach(() => vi.useRealTimers());

  it('answers warm flag requests without touching the database', async () => {
    const cold = await statements(() => flags());
    await flags();
    const warm = await statements(async () => {
      for (let i = 0; i < 20; i++) await flags();
    });
    // The cache's own version poll (every SDK_CACHE_POLL_MS, whatever the requests) may fall
    // in the window on a loaded machine; the requests themselves must read nothing.
    expect(warm).toEqual([]);
    // The spy does see the SDK path's queries: cold, and after a change.
    expect(cold.length).toBeGreaterThan(0);
    const rebuilt = await statements(async () => {
      await gql(
        'mutation($i: UpdateEnvironmentInput!, $id: ID!) { updateEnvironment(id: $id, input: $i) { id } }',
        {
          id: ws.environments.Production,
          i: { name: 'Production (renamed)' },
        },
      );
      await flags();
    });
    expect(rebuilt.length).toBeGreaterThan(0);
  });

  it('reads an identity with one query and writes nothing when its traits are unchanged', async () => {
    const body = JSON.stringify({
      identifier: 'reader',
      traits: [
        { trait_key: 'plan', trait_value: 'pro' },
        { trait_key: 'age', trait_value: 30 },
      ],
    });
    expect((await api('identities/', clientKey, { method: 'POST', body })).status).toBe(200);
    const again = await statements(async () => {
      const res = await api('identities/', clientKey, { method: 'POST', body });
      expect(res.status).toBe(200);
    });
    expect(again.filter((sql) => /^\s*(insert|update|delete)/i.test(sql))).toEqual([]);
    expect(again).toHaveLength(1);
  });

  it('answers a repeated identify from memory, and anew once anything it depends on changes', async () => {
    const identify = async (traits: unknown[], key = clientKey) => {
      const res = await api('identities/', key, {
        method: 'POST',
        body: JSON.stringify({ identifier: 'repeat', traits }),
      });
      expect(res.status).toBe(200);
      return res.text();
    };
    const traits = [{ trait_key: 'plan', trait_value: 'pro' }];
    const first = await identify(traits);
    const again = await statements(() => identify(traits));
    // Only the identity read: the answer itself is remembered.
    expect(again).toHaveLength(1);
    expect(await identify(traits)).toBe(first);

    // Another trait value: a new answer; the stored trait changes with one statement.
    let changed = '';
    const write = await statements(async () => {
      changed = await identify([{ trait_key: 'plan', trait_value: 'free' }]);
    });
    expect(write).toHaveLength(2);
    expect(write[1]).toMatch(/insert into traits .* on conflict/s);
    expect(JSON.parse(changed).traits).toEqual([
      expect.objectContaining({ trait_key: 'plan', trait_value: 'free' }),
    ]);

    // A change to the environment: a new document, so a new answer.
    await sdk.createFeature({ name: 'fresh', initialValue: 'x', defaultEnabled: true });
    const names = (body: string) =>
      (JSON.parse(body) as { flags: Flag[] }).flags.map((f) => f.feature.name);
    expect(names(await identify([{ trait_key: 'plan', trait_value: 'free' }]))).toContain('fresh');
  });

  it('sees a change another writer committed within the poll interval', async () => {
    await flags();
    // Straight SQL, as another process would write: no change event reaches this one.
    const started = performance.now();
    await t.app.db.orm.em
      .getConnection()
      .execute(
        `update feature_states set enabled = false where environment_id = ? and identity_id is null and feature_segment_id is null`,
        [Number(ws.environments.Production)],
      );
    await t.app.db.orm.em
      .getConnection()
      .execute('update environments set updated_at = now() where id = ?', [
        Number(ws.environments.Production),
      ]);
    let seen: number | undefined;
    while (performance.now() - started < 3_000) {
      const banner = (await flags()).find((f) => f.feature.name === 'banner');
      if (banner?.enabled === false) {
        seen = performance.now() - started;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toBeDefined();
    expect(seen!).toBeLessThan(1_000);
    console.log(`change from another writer served after ${Math.round(seen!)} ms`);
  });

  it('refuses a cached server key once it expires, with no change event', async () => {
    const created = await gql<{ createServerSideKey: { key: string } }>(
      'mutation($i: CreateServerSideKeyInput!) { createServerSideKey(input: $i) { key } }',
      {
        i: {
          environmentId: ws.environments.Production,
          name: 'short-lived',
          expiresAt: new Date(Date.now() + 1_500).toISOString(),
        },
      },
    );
    const key = created.createServerSideKey.key;
    expect((await api('environment-document/', key)).status).toBe(200);
    const warm = await statements(async () => {
      expect((await api('environment-document/', key)).status).toBe(200);
    });
    expect(warm).toEqual([]);
    await new Promise((r) => setTimeout(r, 1_600));
    const expired = await api('environment-document/', key);
    expect(expired.status).toBe(403);
    expect(await expired.json()).toEqual({ detail: 'Invalid or missing Environment Key' });
  });

  it('announces an environment change only when its transaction commits', async () => {
    const changes = new EnvironmentChanges();
    changes.attach(t.app.db.orm);
    const seen: number[][] = [];
    changes.subscribe((ids) => seen.push([...ids]));
    const envId = Number(ws.environments.Production);
    const em = t.app.db.orm.em.fork();

    await expect(
      em.transactional(async (tx) => {
        touchEnvironments(tx, { environmentId: envId });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(seen).toEqual([]);

    await em.transactional(async (tx) => {
      // A nested transaction (a savepoint): its changes wait for the outer commit.
      await tx.transactional(async (inner) => {
        touchEnvironments(inner, { projectId: Number(ws.projectId) });
      });
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual([[envId]]);

    expect(() => touchEnvironments(em, { environmentId: envId })).toThrow(/inside a transaction/);
  });
});
