import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/test-app';
import { sqlDuring } from '../support/sql';

const PAGE = `query($p: ID!, $limit: Int!, $envs: [ID!]!) {
  features(projectId: $p, first: $limit) { nodes {
    id name
    project { name organisation { name } }
    tags { label }
    owners { email }
    multivariateOptions { value defaultPercentageAllocation }
    states(environmentIds: $envs) { enabled value environment { name } multivariateAllocations { percentageAllocation } }
  } }
}`;

interface Page {
  features: {
    nodes: {
      name: string;
      tags: { label: string }[];
      owners: { email: string }[];
      multivariateOptions: unknown[];
      states: { environment: { name: string } }[];
    }[];
  };
}

/** The statements a page ran more than once (what a failure should point at). */
function repeated(statements: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const sql of statements) counts.set(sql, (counts.get(sql) ?? 0) + 1);
  const lines = [...counts].filter(([, n]) => n > 1).map(([sql, n]) => `${n} × ${sql}`);
  return `statements run more than once:\n${lines.join('\n')}`;
}

describe('batched reads (DataLoader)', () => {
  let t: TestApp;
  let token: string;
  let ws: Workspace;

  beforeAll(async () => {
    // No webhook worker: its polls would count as statements.
    t = await createTestApp(undefined, { WEBHOOK_WORKER: 'false' });
    const owner = await t.createUser('pages@example.com');
    token = owner.token;
    ws = await createWorkspace(t, token, {
      environments: ['Development', 'Staging', 'Production'],
    });
    const tagIds: string[] = [];
    for (const label of ['beta', 'ops']) {
      const tag = ok(
        await t.gql<{ createTag: { id: string } }>(
          'mutation($p: ID!, $l: String!) { createTag(input: { projectId: $p, label: $l }) { id } }',
          { p: ws.projectId, l: label },
          { token },
        ),
      );
      tagIds.push(tag.createTag.id);
    }
    for (let chunk = 0; chunk < 10; chunk++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          t
            .gql(
              'mutation($i: CreateFeatureInput!) { createFeature(input: $i) { id } }',
              {
                i: {
                  projectId: ws.projectId,
                  name: `flag_${String(chunk * 10 + i).padStart(3, '0')}`,
                  initialValue: 'blue',
                  tagIds,
                  ownerIds: [String(owner.user.id)],
                  multivariateOptions: [{ value: 'red', defaultPercentageAllocation: 30 }],
                },
              },
              { token },
            )
            .then(ok),
        ),
      );
    }
  });
  afterAll(() => t.close());

  /** The page's answer and the SQL statements it ran. */
  async function page(limit: number): Promise<{ data: Page; statements: string[] }> {
    const { result, statements } = await sqlDuring(t, () =>
      t.gql<Page>(
        PAGE,
        { p: ws.projectId, limit, envs: Object.values(ws.environments) },
        { token },
      ),
    );
    return { data: ok(result), statements };
  }

  it('reads a page of 100 features with the statements a page of 10 takes', async () => {
    const small = await page(10);
    const large = await page(100);
    expect(small.data.features.nodes).toHaveLength(10);
    expect(large.data.features.nodes).toHaveLength(100);
    for (const feature of large.data.features.nodes) {
      expect(feature.tags.map((tag) => tag.label)).toEqual(['beta', 'ops']);
      expect(feature.owners).toEqual([{ email: 'pages@example.com' }]);
      expect(feature.multivariateOptions).toHaveLength(1);
      expect(feature.states.map((s) => s.environment.name)).toEqual([
        'Development',
        'Staging',
        'Production',
      ]);
    }
    console.log(
      `batching: a page of 10 ran ${small.statements.length} SQL statements, a page of 100 ran ${large.statements.length}`,
    );
    expect(large.statements.length, repeated(large.statements)).toBe(small.statements.length);
    expect(small.statements.length).toBeLessThan(20);
  });
});
