import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { sqlDuring } from '../support/sql';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * Repeated GraphQL queries are answered from memory (graphql/response-cache.ts), and every
 * way data can change is seen by the very next request: changes through the API, SQL sent by
 * the server's own connection, SDK trait writes, permission changes; answers are never
 * shared between callers, and fields marked @NotCached are computed every time.
 */
const PAGE = `query($p: ID!, $e: [ID!]!) {
  features(projectId: $p, first: 10) {
    totalCount
    nodes { id name description tags { label } states(environmentIds: $e) { enabled value } }
  }
}`;

describe('GraphQL answer cache', () => {
  let t: TestApp;
  let ws: Workspace;
  let admin: string;
  let member: string;
  let featureId: string;
  let environmentIds: string[];

  /** A request's answer and the SQL statements the server sent while serving it. */
  async function traced(
    query: string,
    variables: Record<string, unknown>,
    token: string,
  ): Promise<{ body: unknown; statements: string[] }> {
    const { result, statements } = await sqlDuring(t, () => t.gql(query, variables, { token }));
    return { body: { data: result.data, errors: result.errors }, statements };
  }
  const readsFeatures = (statements: readonly string[]) =>
    statements.filter((s) => /\bfrom "features"|\bfrom features\b/.test(s)).length;
  const page = (token = member) => traced(PAGE, { p: ws.projectId, e: environmentIds }, token);

  beforeAll(async () => {
    // No webhook worker and hourly usage flushes: their statements would be counted.
    t = await createTestApp(undefined, { WEBHOOK_WORKER: 'false', USAGE_FLUSH_SECONDS: '3600' });
    admin = (await t.createUser('cache-admin@example.com')).token;
    ws = await createWorkspace(t, admin);
    environmentIds = Object.values(ws.environments);
    featureId = ok(
      await t.gql<{ createFeature: { id: string } }>(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "cached", description: "one" }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createFeature.id;
    member = await memberWithGrants(t, ws, 'cache-member@example.com', [
      { keys: ['VIEW_PROJECT'] },
      ...environmentIds.map((e) => ({ keys: ['VIEW_ENVIRONMENT'], environment: e })),
    ]);
  });
  afterAll(() => t?.close());

  it('answers a repeated query without running it again: same answer, no feature SQL', async () => {
    const first = await page();
    expect(readsFeatures(first.statements)).toBeGreaterThan(0);
    const second = await page();
    expect(second.body).toEqual(first.body);
    expect(readsFeatures(second.statements)).toBe(0);
    // Only the bearer token's lookup, before GraphQL runs.
    expect(second.statements.length).toBeLessThan(first.statements.length);
  });

  it('sees a change made through the API by the next request', async () => {
    await page();
    ok(
      await t.gql(
        'mutation($id: ID!) { updateFeature(id: $id, input: { description: "two" }) { id } }',
        { id: featureId },
        { token: admin },
      ),
    );
    const after = await page();
    expect(readsFeatures(after.statements)).toBeGreaterThan(0);
    expect(JSON.stringify(after.body)).toContain('"description":"two"');
  });

  it('sees a change written by SQL on the server’s connection, outside any transaction', async () => {
    await page();
    await t.app.db.orm.em
      .getConnection()
      .execute('update features set description = ? where id = ?', ['three', Number(featureId)]);
    expect(JSON.stringify((await page()).body)).toContain('"description":"three"');
  });

  it('sees a change committed in a transaction, and not one rolled back', async () => {
    await page();
    await t.app.db.orm.em.fork().transactional(async (tx) => {
      await tx
        .getConnection()
        .execute(
          'update features set description = ? where id = ?',
          ['four', Number(featureId)],
          'run',
          tx.getTransactionContext(),
        );
    });
    expect(JSON.stringify((await page()).body)).toContain('"description":"four"');
    await expect(
      t.app.db.orm.em.fork().transactional(async (tx) => {
        await tx
          .getConnection()
          .execute(
            'update features set description = ? where id = ?',
            ['never', Number(featureId)],
            'run',
            tx.getTransactionContext(),
          );
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const after = await page();
    expect(JSON.stringify(after.body)).toContain('"description":"four"');
    // Kept again once read afresh.
    expect(readsFeatures((await page()).statements)).toBe(0);
  });

  it('sees rows a deletion removed through a cascading foreign key', async () => {
    // A member who sees the project through a role; their answer reads the role's grants
    // and assignments, not the `roles` table itself.
    const token = await memberWithGrants(t, ws, 'cache-role@example.com', []);
    const role = ok(
      await t.gql<{ createRole: { id: string } }>(
        'mutation($o: ID!) { createRole(input: { organisationId: $o, name: "Readers" }) { id } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).createRole.id;
    ok(
      await t.gql(
        'mutation($i: GrantPermissionsInput!) { grantPermissions(input: $i) { id } }',
        { i: { holder: { roleId: role }, projectId: ws.projectId, keys: ['VIEW_PROJECT'] } },
        { token: admin },
      ),
    );
    ok(
      await t.gql(
        'mutation($r: ID!, $h: RoleHolderInput!) { assignRole(roleId: $r, holder: $h) { id } }',
        { r: role, h: { userId: await userIdOf('cache-role@example.com') } },
        { token: admin },
      ),
    );
    const PROJECT = 'query($id: ID!) { project(id: $id) { id } }';
    const first = await traced(PROJECT, { id: ws.projectId }, token);
    expect(first.body).toEqual({ data: { project: { id: ws.projectId } }, errors: undefined });
    expect(first.statements.some((x) => /"roles"|\broles\b/.test(x))).toBe(false);
    ok(await t.gql(PROJECT, { id: ws.projectId }, { token }));
    // Names only `roles`; PostgreSQL deletes its grants and assignments itself.
    await t.app.db.orm.em.getConnection().execute('delete from roles where id = ?', [Number(role)]);
    const after = await t.gql(PROJECT, { id: ws.projectId }, { token });
    expect(after.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('sees a change to the caller’s own record, which is read before the query runs', async () => {
    const ME = '{ me { firstName } }';
    ok(await t.gql(ME, {}, { token: member }));
    await t.app.db.orm.em
      .getConnection()
      .execute('update users set first_name = ? where email = ?', [
        'Renamed',
        'cache-member@example.com',
      ]);
    expect(ok(await t.gql<{ me: { firstName: string } }>(ME, {}, { token: member })).me).toEqual({
      firstName: 'Renamed',
    });
  });

  it('sees traits an SDK wrote', async () => {
    const IDENTITY =
      'query($e: ID!, $id: String!) { identities(environmentId: $e, filter: { search: $id }) { nodes { identifier traits { key value } } } }';
    const env = ws.environments.Development!;
    const identify = (traits: Record<string, unknown>[]) =>
      fetch(`${t.url}/api/v1/identities/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-environment-key': ws.apiKeys.Development!,
        },
        body: JSON.stringify({ identifier: 'cached-user', traits }),
      });
    expect((await identify([{ trait_key: 'plan', trait_value: 'free' }])).status).toBe(200);
    const vars = { e: env, id: 'cached-user' };
    const before = ok(await t.gql(IDENTITY, vars, { token: admin }));
    expect(JSON.stringify(before)).toContain('"value":"free"');
    expect(JSON.stringify(ok(await t.gql(IDENTITY, vars, { token: admin })))).toContain(
      '"value":"free"',
    );
    expect((await identify([{ trait_key: 'plan', trait_value: 'gold' }])).status).toBe(200);
    expect(JSON.stringify(ok(await t.gql(IDENTITY, vars, { token: admin })))).toContain(
      '"value":"gold"',
    );
  });

  it('applies a permission change to the next request', async () => {
    const token = await memberWithGrants(t, ws, 'cache-revoked@example.com', [
      { keys: ['VIEW_PROJECT'] },
      ...environmentIds.map((e) => ({ keys: ['VIEW_ENVIRONMENT'], environment: e })),
    ]);
    ok((await page(token)).body as never);
    ok((await page(token)).body as never);
    ok(
      await t.gql(
        'mutation($h: GrantHolderInput!, $s: GrantScopeInput!) { revokePermissions(holder: $h, scope: $s) }',
        {
          h: { userId: await userIdOf('cache-revoked@example.com') },
          s: { projectId: ws.projectId },
        },
        { token: admin },
      ),
    );
    const after = (await page(token)).body as { errors?: { extensions?: { code?: string } }[] };
    expect(after.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('never hands one caller’s answer to another', async () => {
    const stranger = await memberWithGrants(t, ws, 'cache-stranger@example.com', []);
    ok((await page()).body as never);
    const theirs = (await page(stranger)).body as { data?: unknown; errors?: unknown[] };
    expect(theirs.errors?.length).toBeGreaterThan(0);
    // The same user with a new token: another session, its own answer (cached separately).
    const again = await t.gql<{ login: { token: string } }>(
      'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
      { e: 'cache-member@example.com', p: 'correct horse battery staple' },
    );
    const fresh = await page(ok(again).login.token);
    expect(readsFeatures(fresh.statements)).toBeGreaterThan(0);
  });

  it('computes fields marked @NotCached every time (your sessions: they depend on the clock)', async () => {
    const SESSIONS = '{ mySessions(first: 5) { totalCount } }';
    const first = await traced(SESSIONS, {}, member);
    const second = await traced(SESSIONS, {}, member);
    expect(second.body).toEqual(first.body);
    const readsSessions = (s: readonly string[]) =>
      s.filter((x) => /from "user_sessions"/.test(x) && !/"id_hash" = /.test(x)).length;
    expect(readsSessions(second.statements)).toBe(readsSessions(first.statements));
    expect(readsSessions(second.statements)).toBeGreaterThan(0);
  });

  it('keeps nothing when GRAPHQL_CACHE_MB is 0', async () => {
    const off = await createTestApp(undefined, {
      GRAPHQL_CACHE_MB: '0',
      WEBHOOK_WORKER: 'false',
      USAGE_FLUSH_SECONDS: '3600',
    });
    try {
      const token = (await off.createUser('off@example.com')).token;
      const offWs = await createWorkspace(off, token);
      const q = 'query($p: ID!) { features(projectId: $p) { totalCount } }';
      for (let i = 0; i < 2; i++) {
        const run = await sqlDuring(off, () => off.gql(q, { p: offWs.projectId }, { token }));
        ok(run.result);
        expect(readsFeatures(run.statements)).toBeGreaterThan(0);
      }
    } finally {
      await off.close();
    }
  });

  async function userIdOf(email: string): Promise<string> {
    const rows = await t.app.db.orm.em
      .getConnection()
      .execute<{ id: number }[]>('select id from users where email = ?', [email]);
    return String(rows[0]!.id);
  }
});
