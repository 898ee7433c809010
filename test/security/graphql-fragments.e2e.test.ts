import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { codeOf, createWorkspace, ok } from '../support/fixtures';
import { createTestApp, type GqlResult, type TestApp } from '../support/test-app';

/**
 * GraphQL's limits (depth 12, aliases 15, directives 20, cost 5000, tokens 5000: the
 * defaults) hold when the request hides its size in fragments: cycles, exponential spreads,
 * depth and aliases and directives multiplied by spreading a fragment in several places, many
 * operations in one document, huge field counts. Each refusal is a 400 before any SQL runs,
 * answered at once (times printed; under 300 ms here even with other test files running, the
 * check allows 5 s of a loaded CI machine). test/graphql/protection.e2e.test.ts has the plain
 * cases.
 */

/** The longest any of these may take: no hang, even on a busy two-core CI machine. */
const LOADED_MACHINE_MS = 5000;

describe('GraphQL limits against fragment tricks', () => {
  let t: TestApp;
  let token: string;
  const timings: string[] = [];

  beforeAll(async () => {
    t = await createTestApp(undefined, { WEBHOOK_WORKER: 'false', USAGE_FLUSH_SECONDS: '3600' });
    token = (await t.createUser('fragments@example.com')).token;
    await createWorkspace(t, token);
  });
  afterAll(async () => {
    console.log(`GraphQL fragment tricks, answer times:\n${timings.join('\n')}`);
    await t?.close();
  });

  /** Sends anonymously (no credential lookup); the answer, its SQL count and its time. */
  async function send(
    name: string,
    query: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ res: GqlResult; sql: number; ms: number }> {
    const spy = vi.spyOn(t.app.db.orm.em.getConnection(), 'execute');
    const start = performance.now();
    try {
      const http = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, ...extra }),
      });
      const body = (await http.json()) as { data?: unknown; errors?: GqlResult['errors'] };
      const ms = performance.now() - start;
      timings.push(`  ${name.padEnd(48)} ${String(http.status)} in ${ms.toFixed(1)} ms`);
      return {
        res: {
          status: http.status,
          data: (body.data ?? null) as never,
          errors: body.errors,
          headers: http.headers,
        },
        sql: spy.mock.calls.length,
        ms,
      };
    } finally {
      spy.mockRestore();
    }
  }

  /** Refused while validating: 400, the code, a message, no SQL, no hang. */
  function refused(
    answer: { res: GqlResult; sql: number; ms: number },
    message: RegExp,
    code = 'GRAPHQL_VALIDATION_FAILED',
  ): void {
    expect(answer.res.status, JSON.stringify(answer.res.errors)).toBe(400);
    expect(codeOf(answer.res)).toBe(code);
    expect(answer.res.errors?.map((e) => e.message).join(' | ')).toMatch(message);
    expect(answer.res.data).toBeNull();
    expect(answer.sql).toBe(0);
    expect(answer.ms).toBeLessThan(LOADED_MACHINE_MS);
  }

  it('refuses cyclic fragments: a fragment spreading itself, two and three in a ring', async () => {
    refused(
      await send('self-spread', 'query { ...Q } fragment Q on Query { __typename ...Q }'),
      /Cannot spread fragment "Q" within itself/,
    );
    refused(
      await send(
        'two-fragment cycle through fields',
        `query { organisations { nodes { ...A } } }
         fragment A on Organisation { projects { nodes { organisation { ...B } } } }
         fragment B on Organisation { id ...A }`,
      ),
      /Cannot spread fragment "A" within itself via "B"/,
    );
    refused(
      await send(
        'three-fragment cycle',
        `query { ...A } fragment A on Query { ...B } fragment B on Query { ...C }
         fragment C on Query { __typename ...A }`,
      ),
      /Cannot spread fragment "A" within itself via "B", "C"/,
    );
  });

  it('refuses an exponential fragment bomb (2^40 expansions) by its cost, at once', async () => {
    // Each fragment spreads the next twice: flattened naively, 2^40 selections.
    const levels = 40;
    const fragments = Array.from(
      { length: levels },
      (_, i) => `fragment F${i} on Organisation { name ...F${i + 1} ...F${i + 1} }`,
    ).join('\n');
    refused(
      await send(
        'exponential spreads (40 levels)',
        `query { organisations { nodes { ...F0 } } }\n${fragments}\nfragment F${levels} on Organisation { id }`,
      ),
      /Query Cost limit of 5000 exceeded/,
    );
    // The same with a different field at each level, so nothing merges away.
    const distinct = Array.from(
      { length: 20 },
      (_, i) =>
        `fragment G${i} on Organisation { projects { nodes { organisation { ...G${i + 1} } } } x${i}: name }`,
    ).join('\n');
    refused(
      await send(
        'nested fragment chain (20 levels)',
        `query { organisations { nodes { ...G0 } } }\n${distinct}\nfragment G20 on Organisation { id }`,
      ),
      /limit/,
    );
  });

  it('counts depth through fragments: 12 levels pass, 13 are refused', async () => {
    // organisations > nodes > projects > nodes > organisation > … one level per fragment.
    const chain = (levels: number): string => {
      const cycle = ['projects', 'nodes', 'organisation'];
      const types = ['Organisation', 'ProjectConnection', 'Project'];
      const fragments: string[] = [];
      for (let i = 0; i < levels - 3; i++) {
        const field = cycle[i % 3]!;
        const inner = i === levels - 4 ? 'id' : `...L${i + 1}`;
        fragments.push(`fragment L${i} on ${types[i % 3]} { ${field} { ${inner} } }`);
      }
      return `query { organisations { nodes { ...L0 } } }\n${fragments.join('\n')}`;
    };
    const within = await t.gql<{ organisations: { nodes: unknown[] } }>(chain(12), {}, { token });
    expect(ok(within).organisations.nodes).toHaveLength(1);
    refused(await send('depth 13 in 10 fragments', chain(13)), /depth limit of 12 exceeded/i);
    // Inline fragments add no depth of their own, and nesting hundreds of them stays a 200.
    const inline = await send(
      '600 nested inline fragments',
      `{ ${'... on Query { '.repeat(600)} __typename ${'} '.repeat(600)} }`,
    );
    expect(inline.res.status).toBe(200);
    expect(inline.res.data).toEqual({ __typename: 'Query' });
  });

  it('counts aliases each time their fragment is spread', async () => {
    const eight = `fragment Eight on Organisation { ${Array.from({ length: 8 }, (_, i) => `a${i}: id`).join(' ')} }`;
    // Spread once: 8 aliases, within the limit of 15.
    const once = await t.gql(`{ organisations { nodes { ...Eight } } }\n${eight}`, {}, { token });
    expect(once.errors).toBeUndefined();
    // Spread in two places: 16.
    refused(
      await send(
        'fragment of 8 aliases spread twice',
        `{ organisations { nodes { ...Eight } } again: organisations { nodes { id } } more: organisations { nodes { ...Eight } } }\n${eight}`,
      ),
      /Aliases limit of 15 exceeded/,
    );
    // Multiplied one level down: a fragment spreading another one three times.
    refused(
      await send(
        'aliases through a fragment of fragments',
        `{ organisations { nodes { ...Outer } } }
         fragment Outer on Organisation { ...Six projects { nodes { organisation { ...Six } } } p: projects { nodes { organisation { ...Six } } } }
         fragment Six on Organisation { ${Array.from({ length: 6 }, (_, i) => `b${i}: name`).join(' ')} }`,
      ),
      /Aliases limit of 15 exceeded, found 19/,
    );
  });

  it('counts directives each time their fragment is spread', async () => {
    const seven = `fragment Seven on Query { ${Array.from({ length: 7 }, (_, i) => `t${i}: __typename @include(if: true)`).join(' ')} }`;
    const once = await send('fragment of 7 directives, once', `{ ...Seven }\n${seven}`);
    expect(once.res.status).toBe(200);
    refused(
      await send(
        'fragment of 7 directives, spread 3 times',
        `{ ...Seven ... on Query { ...Seven } ... on Query { ...Seven } }\n${seven}`,
      ),
      /Directives limit of 20 exceeded/,
    );
  });

  it('runs one operation of a thousand, and refuses a document past the token limit', async () => {
    // 5 tokens each (query Qn { __typename }): 1,000 fill the 5,000-token limit exactly.
    const ops = (n: number): string =>
      Array.from({ length: n }, (_, i) => `query Q${i} { __typename }`).join('\n');
    const named = await send('1,000 operations, one named', ops(1000), { operationName: 'Q999' });
    expect(named.res.status).toBe(200);
    expect(named.res.data).toEqual({ __typename: 'Query' });
    expect(named.ms).toBeLessThan(LOADED_MACHINE_MS);
    const unnamed = await send('1,000 operations, none named', ops(1000));
    expect(unnamed.res.status).toBe(400);
    expect(unnamed.res.errors?.[0]?.message).toMatch(/Must provide operation name/);
    refused(
      await send('1,001 operations', ops(1001), { operationName: 'Q0' }),
      /Document contains more that 5000 tokens/,
      'GRAPHQL_PARSE_FAILED',
    );
  });

  it('refuses huge field counts, written out or spread', async () => {
    refused(await send('4,990 × __typename', `{ ${'__typename '.repeat(4990)}}`), /./);
    refused(
      await send(
        '2,400 fields of one object',
        `{ organisations { nodes { ${'id name '.repeat(1200)}} } }`,
      ),
      /Query Cost limit of 5000 exceeded/,
    );
    const hundred = `fragment Hundred on Organisation { ${Array.from({ length: 50 }, () => 'id name').join(' ')} }`;
    refused(
      await send(
        'a 100-field fragment spread 40 times',
        `{ organisations { nodes { ${'...Hundred '.repeat(40)}} } }\n${hundred}`,
      ),
      /Query Cost limit of 5000 exceeded/,
    );
  });
});
