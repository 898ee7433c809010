/**
 * Lists as Relay connections: every list of records in the schema is a connection with
 * `first`/`after`, an ordering and (but for the few named) a filter; pages walk a list in
 * order without repeating or skipping rows; cursors only work for the ordering they were
 * made for; and `totalCount` counts exactly what the caller may see.
 */
import {
  type GraphQLField,
  type GraphQLNamedType,
  getNamedType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLOutputType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFlagwardSchema } from '../../src/graphql/schema';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, OrganisationRole, PASSWORD, type TestApp } from '../support/test-app';

/**
 * Lists left as plain arrays: parts of one record, bounded in size, read with it (or fixed
 * reports and enumerations). Every other list of objects must be a connection.
 */
const PLAIN_LISTS: Record<string, string> = {
  'Query.adminModels': 'the kinds of instance-wide record: a fixed, short set',
  'Query.environmentUsage': 'a report: at most 366 days × the request kinds',
  'Query.featureEvaluations': 'a report: at most 366 days × the features evaluated',
  'Environment.serverSideKeys': "an environment's few server-side keys",
  'Feature.multivariateOptions': "a feature's options (their shares add up to at most 100%)",
  'Feature.owners': "a feature's owners (at most 100, set in one input)",
  'Feature.states': "the feature's state in the environments named (the caller's list)",
  'Feature.tags': "a feature's tags (at most 100, set in one input)",
  'FeatureState.multivariateAllocations': "one state's shares, one per option",
  'Identity.overrides': "one identity's overrides, at most one per feature",
  'Identity.traits': "one identity's traits, written in bounded batches",
  'Role.assignments': "a role's holders, read with the role by organisation admins",
  'Role.grants': "a role's grants, read with the role by organisation admins",
  'Segment.rules': "a segment's rule tree (bounded by MAX_CONDITIONS)",
  'SegmentRule.conditions': 'one rule (bounded by MAX_CONDITIONS)',
  'SegmentRule.rules': 'one rule (bounded by MAX_CONDITIONS)',
  'WebhookDelivery.attempts': "one delivery's attempts, bounded by its retry schedule",
};

/** Connections without a `filter` argument, and why. */
const UNFILTERED: Record<string, string> = {
  'Query.segmentOverrides': 'one feature in one environment: the two ids are the filter',
  'Query.webhookDeliveries': 'filtered by its `status` argument',
};

function isListOfObjects(type: GraphQLOutputType): boolean {
  const inner = isNonNullType(type) ? type.ofType : type;
  return isListType(inner) && isObjectType(getNamedType(inner));
}

describe('lists as connections', () => {
  it('makes every list of records a connection with first, after, orderBy and a filter', async () => {
    const schema = await buildFlagwardSchema();
    const problems: string[] = [];
    let connections = 0;
    for (const type of Object.values(schema.getTypeMap()) as GraphQLNamedType[]) {
      if (!isObjectType(type) || type.name.startsWith('__') || type.name === 'Mutation') continue;
      if (type.name.endsWith('Connection') || type.name.endsWith('Edge')) continue;
      for (const field of Object.values(type.getFields()) as GraphQLField<unknown, unknown>[]) {
        const name = `${type.name}.${field.name}`;
        if (isListOfObjects(field.type)) {
          if (!PLAIN_LISTS[name]) problems.push(`${name} is a plain list`);
          continue;
        }
        if (!getNamedType(field.type).name.endsWith('Connection')) continue;
        connections++;
        const args = new Set(field.args.map((a) => a.name));
        for (const needed of ['first', 'after', 'orderBy'])
          if (!args.has(needed)) problems.push(`${name} has no ${needed}`);
        if (!args.has('filter') && !UNFILTERED[name]) problems.push(`${name} has no filter`);
        const conn = getNamedType(field.type);
        if (isObjectType(conn)) {
          for (const part of ['edges', 'nodes', 'pageInfo', 'totalCount'])
            if (!conn.getFields()[part]) problems.push(`${conn.name} has no ${part}`);
        }
      }
    }
    for (const name of Object.keys(PLAIN_LISTS)) {
      const [typeName, fieldName] = name.split('.') as [string, string];
      const type = schema.getType(typeName);
      if (!isObjectType(type) || !type.getFields()[fieldName])
        problems.push(`${name} is listed as a plain list but is not in the schema`);
    }
    expect(problems).toEqual([]);
    expect(connections).toBeGreaterThan(20);
  });

  describe('paging', () => {
    let t: TestApp;
    let admin: string;
    let ws: Workspace;

    interface FeaturePage {
      features: {
        totalCount: number;
        nodes: { id: string; name: string }[];
        edges: { cursor: string; node: { id: string } }[];
        pageInfo: {
          hasNextPage: boolean;
          hasPreviousPage: boolean;
          startCursor: string | null;
          endCursor: string | null;
        };
      };
    }
    const PAGE = `query($p: ID!, $first: Int!, $after: String, $order: FeatureOrder!, $search: String) {
      features(projectId: $p, first: $first, after: $after, orderBy: $order, filter: { search: $search }) {
        totalCount nodes { id name } edges { cursor node { id } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
    const page = async (vars: Record<string, unknown>, token = admin) =>
      ok(
        await t.gql<FeaturePage>(
          PAGE,
          { p: ws.projectId, order: { field: 'ID', direction: 'ASC' }, ...vars },
          { token },
        ),
      ).features;

    /** Every page of the list, `first` at a time; `between` runs after the first page. */
    async function walk(
      vars: Record<string, unknown>,
      first: number,
      between?: () => Promise<void>,
    ): Promise<{ names: string[]; pages: number; counts: number[] }> {
      const names: string[] = [];
      const counts: number[] = [];
      let after: string | null = null;
      for (let pages = 1; ; pages++) {
        const p = await page({ ...vars, first, after });
        names.push(...p.nodes.map((n) => n.name));
        counts.push(p.totalCount);
        expect(p.edges.map((e) => e.node.id)).toEqual(p.nodes.map((n) => n.id));
        expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
        expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
        expect(p.pageInfo.hasPreviousPage).toBe(after !== null);
        if (pages === 1 && between) await between();
        if (!p.pageInfo.hasNextPage) return { names, pages, counts };
        after = p.pageInfo.endCursor;
      }
    }

    const create = async (name: string) =>
      ok(
        await t.gql<{ createFeature: { id: string } }>(
          'mutation($i: CreateFeatureInput!) { createFeature(input: $i) { id } }',
          { i: { projectId: ws.projectId, name } },
          { token: admin },
        ),
      ).createFeature.id;
    const remove = (id: string) =>
      t.gql('mutation($id: ID!) { deleteFeature(id: $id) }', { id }, { token: admin });

    beforeAll(async () => {
      t = await createTestApp(undefined, { WEBHOOK_WORKER: 'false' });
      admin = (await t.createUser('pages@example.com')).token;
      ws = await createWorkspace(t, admin);
      for (const name of ['delta', 'alpha', 'echo', 'charlie', 'bravo']) await create(name);
    });
    afterAll(() => t.close());

    it('walks a list in each order, page by page, with the same total on every page', async () => {
      const byId = await walk({}, 2);
      expect(byId).toEqual({
        names: ['delta', 'alpha', 'echo', 'charlie', 'bravo'],
        pages: 3,
        counts: [5, 5, 5],
      });
      const byName = await walk({ order: { field: 'NAME', direction: 'ASC' } }, 2);
      expect(byName.names).toEqual(['alpha', 'bravo', 'charlie', 'delta', 'echo']);
      const backwards = await walk({ order: { field: 'NAME', direction: 'DESC' } }, 3);
      expect(backwards.names).toEqual(['echo', 'delta', 'charlie', 'bravo', 'alpha']);
      expect(backwards.pages).toBe(2);
      const filtered = await walk({ search: 'A', order: { field: 'NAME', direction: 'DESC' } }, 1);
      expect(filtered).toEqual({
        names: ['delta', 'charlie', 'bravo', 'alpha'],
        pages: 4,
        counts: [4, 4, 4, 4],
      });
      const empty = await page({ first: 10, search: 'zulu' });
      expect(empty).toMatchObject({
        totalCount: 0,
        nodes: [],
        pageInfo: { hasNextPage: false, startCursor: null, endCursor: null },
      });
    });

    it('neither repeats nor skips rows when rows come and go between pages', async () => {
      // After the first page (alpha, bravo by name), a row is added before the cursor and one
      // after it, and a row not yet read is deleted: the rest continues from the cursor.
      const charlie = (await page({ first: 10, search: 'charlie' })).nodes[0]!.id;
      let added: string[] = [];
      const seen = await walk({ order: { field: 'NAME', direction: 'ASC' } }, 2, async () => {
        added = [await create('aardvark'), await create('foxtrot')];
        await remove(charlie);
      });
      expect(seen.names).toEqual(['alpha', 'bravo', 'delta', 'echo', 'foxtrot']);
      for (const id of added) await remove(id);
      await create('charlie');
    });

    it('refuses a cursor made for another ordering, or not made here, naming `after`', async () => {
      const byName = await page({ first: 1, order: { field: 'NAME', direction: 'ASC' } });
      const cursor = byName.pageInfo.endCursor!;
      for (const order of [
        { field: 'ID', direction: 'ASC' },
        { field: 'NAME', direction: 'DESC' },
      ]) {
        const res = await t.gql(
          PAGE,
          { p: ws.projectId, first: 1, after: cursor, order },
          { token: admin },
        );
        expect(codeOf(res)).toBe('BAD_USER_INPUT');
        expect(res.errors?.[0]?.message).toMatch(/another ordering/);
      }
      const forged = Buffer.from(JSON.stringify(['NAME:ASC', { $gt: '' }, '1'])).toString(
        'base64url',
      );
      const res = await t.gql(
        PAGE,
        { p: ws.projectId, first: 1, after: forged, order: { field: 'NAME', direction: 'ASC' } },
        { token: admin },
      );
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    });

    it('counts only what the caller may see, in lists and nested lists alike', async () => {
      const second = ok(
        await t.gql<{ createProject: { id: string } }>(
          'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Second" }) { id } }',
          { o: ws.organisationId },
          { token: admin },
        ),
      ).createProject.id;
      const viewer = await memberWithGrants(t, ws, 'viewer@example.com', [
        { keys: ['VIEW_PROJECT'] },
        { keys: ['VIEW_ENVIRONMENT'], environment: ws.environments.Production },
      ]);
      const LISTS = `query($o: ID!, $p: ID!) {
        projects(organisationId: $o) { totalCount nodes { id } }
        environments(projectId: $p) { totalCount nodes { name } }
        organisation(id: $o) {
          members(orderBy: { field: EMAIL, direction: ASC }) { totalCount nodes { user { id } } }
          projects(first: 1) { totalCount nodes { id } pageInfo { hasNextPage } } } }`;
      interface Lists {
        projects: { totalCount: number; nodes: { id: string }[] };
        environments: { totalCount: number; nodes: { name: string }[] };
        organisation: {
          members: { totalCount: number; nodes: unknown[] };
          projects: { totalCount: number; nodes: unknown[]; pageInfo: { hasNextPage: boolean } };
        };
      }
      const asViewer = ok(
        await t.gql<Lists>(LISTS, { o: ws.organisationId, p: ws.projectId }, { token: viewer }),
      );
      expect(asViewer.projects).toEqual({ totalCount: 1, nodes: [{ id: ws.projectId }] });
      expect(asViewer.environments).toEqual({ totalCount: 1, nodes: [{ name: 'Production' }] });
      expect(asViewer.organisation.members.totalCount).toBe(2);
      expect(asViewer.organisation.members.nodes).toHaveLength(2);
      expect(asViewer.organisation.projects).toMatchObject({
        totalCount: 1,
        pageInfo: { hasNextPage: false },
      });

      const asAdmin = ok(
        await t.gql<Lists>(LISTS, { o: ws.organisationId, p: ws.projectId }, { token: admin }),
      );
      expect(asAdmin.projects.totalCount).toBe(2);
      expect(asAdmin.projects.nodes.map((p) => p.id)).toContain(second);
      expect(asAdmin.environments.totalCount).toBe(2);
      expect(asAdmin.organisation.projects).toMatchObject({
        totalCount: 2,
        pageInfo: { hasNextPage: true },
      });
      expect(asAdmin.organisation.projects.nodes).toHaveLength(1);
    });

    it('pages lists kept in memory the same way (your sessions)', async () => {
      const { user, token } = await t.createUser('many-sessions@example.com');
      await t.addMember(user, ws.organisationId, OrganisationRole.USER);
      for (let i = 0; i < 3; i++)
        ok(
          await t.gql(
            'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
            { e: 'many-sessions@example.com', p: PASSWORD },
          ),
        );
      const SESSIONS = `query($a: String) { mySessions(first: 1, after: $a, filter: { kind: TOKEN }) {
        totalCount nodes { id } pageInfo { hasNextPage endCursor } } }`;
      const ids: string[] = [];
      let after: string | null = null;
      for (;;) {
        const p: {
          totalCount: number;
          nodes: { id: string }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        } = ok(
          await t.gql<{
            mySessions: {
              totalCount: number;
              nodes: { id: string }[];
              pageInfo: { hasNextPage: boolean; endCursor: string | null };
            };
          }>(SESSIONS, { a: after }, { token }),
        ).mySessions;
        expect(p.totalCount).toBe(4);
        ids.push(...p.nodes.map((n) => n.id));
        if (!p.pageInfo.hasNextPage) break;
        after = p.pageInfo.endCursor;
      }
      expect(ids).toHaveLength(4);
      expect(new Set(ids).size).toBe(4);
    });
  });
});
