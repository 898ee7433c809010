import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf, createWorkspace, ok } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/test-app';
import { sqlDuring } from '../support/sql';

/** `organisations { nodes { projects { nodes { organisation { … } } } } }`, `levels` fields deep. */
function nested(levels: number): string {
  const path = ['organisations', 'nodes'];
  const cycle = ['projects', 'nodes', 'organisation'];
  for (let i = 0; path.length < levels - 1; i++) path.push(cycle[i % cycle.length]!);
  return `{ ${path.reduceRight((inner, field) => `${field} { ${inner} }`, 'id')} }`;
}

describe('GraphQL limits and production mode', () => {
  let t: TestApp;
  let prod: TestApp;
  let token: string;

  beforeAll(async () => {
    // No webhook worker: its polls would count as statements.
    t = await createTestApp(undefined, { WEBHOOK_WORKER: 'false' });
    prod = await createTestApp(undefined, { NODE_ENV: 'production', WEBHOOK_WORKER: 'false' });
    token = (await t.createUser('limits@example.com')).token;
    await createWorkspace(t, token);
  });
  afterAll(async () => {
    await t.close();
    await prod.close();
  });

  /** SQL statements run while `work` runs. */
  async function statements(app: TestApp, work: () => Promise<unknown>): Promise<number> {
    return (await sqlDuring(app, work)).statements.length;
  }

  /** Sends a request anonymously; returns the answer and how many SQL statements it ran. */
  async function refused(query: string, app = t) {
    let res: Awaited<ReturnType<TestApp['gql']>> | undefined;
    const sql = await statements(app, async () => {
      res = await app.gql(query);
    });
    return { res: res!, sql };
  }

  it('answers within the limits as usual', async () => {
    const data = ok(
      await t.gql<{ organisations: { nodes: unknown[] } }>(nested(12), {}, { token }),
    );
    expect(data.organisations.nodes).toHaveLength(1);
  });

  it('refuses deep queries, also through fragments, before any SQL', async () => {
    const deep = await refused(nested(13));
    expect(deep.res.status).toBe(400);
    expect(codeOf(deep.res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(deep.res.errors?.[0]?.message).toMatch(/depth limit of 12/i);
    expect(deep.sql).toBe(0);

    const viaFragments = await refused(`
      query { organisations { nodes { ...O } } }
      fragment O on Organisation { projects { nodes { ...P } } }
      fragment P on Project { organisation { projects { nodes { organisation { projects { nodes {
        organisation { projects { nodes { organisation { projects { nodes { id } } } } } } } } } } } } }`);
    expect(codeOf(viaFragments.res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(viaFragments.res.errors?.[0]?.message).toMatch(/depth/i);
    expect(viaFragments.sql).toBe(0);
  });

  it('refuses too many aliases, tokens, directives and too high a cost, before any SQL', async () => {
    const aliases = Array.from(
      { length: 16 },
      (_, i) => `a${i}: organisations { nodes { id } }`,
    ).join(' ');
    const manyAliases = await refused(`{ ${aliases} }`);
    expect(codeOf(manyAliases.res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(manyAliases.res.errors?.[0]?.message).toMatch(/aliases/i);
    expect(manyAliases.sql).toBe(0);

    const tokens = await refused(`{ ${'__typename '.repeat(6000)}}`);
    // Counted by graphql-js's parser: a parse failure, 400 (graphql-armor's plugin made it a 500).
    expect(tokens.res.status).toBe(400);
    expect(tokens.res.errors?.[0]?.message).toMatch(/more that 5000 tokens/i);
    expect(codeOf(tokens.res)).toBe('GRAPHQL_PARSE_FAILED');
    expect(tokens.sql).toBe(0);

    const directives = await refused(`{ __typename ${'@include(if: true) '.repeat(21)}}`);
    expect(codeOf(directives.res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(directives.res.errors?.[0]?.message).toMatch(/directives/i);

    // Wide rather than deep: every field of a project, many times over through fragments.
    const fields =
      'id name uuid createdAt hideDisabledFlags enforceFeatureOwners preventFlagDefaults';
    const spreads = Array.from({ length: 30 }, (_, i) => `...F${i}`).join(' ');
    const fragments = Array.from(
      { length: 30 },
      (_, i) =>
        `fragment F${i} on Project { ${fields} environments { nodes { id name apiKey } } organisation { id name projects { nodes { ${fields} } } } }`,
    ).join('\n');
    const costly = await refused(
      `{ organisations { nodes { projects { nodes { ${spreads} organisation { projects { nodes { ${spreads} } } } } } } } }\n${fragments}`,
    );
    expect(codeOf(costly.res)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(costly.res.errors?.[0]?.message).toMatch(/cost limit/i);
    expect(costly.sql).toBe(0);
  });

  it('refuses batches, suggests no field names and sends no stack traces', async () => {
    const batch = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(batch.status).toBe(400);
    expect(await batch.text()).toMatch(/batch/i);

    const typo = await t.gql('{ organisatons { id } }');
    expect(codeOf(typo)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(typo.errors)).not.toMatch(/did you mean|organisations/i);

    const bad = await t.gql('{ organisation(id: "x") { id } }', {}, { token });
    expect(JSON.stringify(bad.errors)).not.toMatch(/stacktrace|at .*\.ts:\d+/);
  });

  it('in production, answers introspection for staff only', async () => {
    const schemaQuery = '{ __schema { queryType { name } } }';
    const anonymous = await refused(schemaQuery, prod);
    expect(codeOf(anonymous.res)).toBe('FORBIDDEN');
    expect(anonymous.res.errors?.[0]?.extensions?.reason).toBe('INTROSPECTION_DISABLED');
    expect(anonymous.res.status).toBe(403);
    expect(anonymous.sql).toBe(0);

    const { token: member } = await prod.createUser('member@example.com');
    const hidden = await prod.gql(
      '{ __type(name: "Organisation") { name } }',
      {},
      { token: member },
    );
    expect(codeOf(hidden)).toBe('FORBIDDEN');

    const { token: staff } = await prod.createUser('staff@example.com', { isStaff: true });
    const shown = ok(
      await prod.gql<{ __schema: { queryType: { name: string } } }>(
        schemaQuery,
        {},
        { token: staff },
      ),
    );
    expect(shown.__schema.queryType.name).toBe('Query');
    // __typename is not introspection.
    expect(ok(await prod.gql<{ __typename: string }>('{ __typename }')).__typename).toBe('Query');
    // Outside production everyone may look (the development default).
    expect(ok(await t.gql(schemaQuery))).toBeTruthy();
  });
});
