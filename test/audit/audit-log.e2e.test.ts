import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditObjectType, ChangeType } from '../../src/audit/audit-log.entity';
import { UserGroup, UserGroupMembership } from '../../src/groups/user-group.entity';
import { GrantScope, PermissionGrant } from '../../src/permissions/permission-grant.entity';
import type { User } from '../../src/users/user.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type GqlResult, OrganisationRole, type TestApp } from '../support/test-app';

interface AuditRow {
  id: string;
  createdAt: string;
  log: string;
  relatedObjectType: string;
  relatedObjectId: string;
  relatedObjectUuid: string | null;
  changeType: string;
  isSystemEvent: boolean;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  projectId: string | null;
  environmentId: string | null;
  apiKeyName: string | null;
  author: { id: string; email: string | null } | null;
}

interface Connection {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: AuditRow }[];
}

const LIST = `query($o: ID!, $f: AuditLogFilter, $n: Int, $a: String) {
  auditLogs(organisationId: $o, filter: $f, first: $n, after: $a) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id createdAt log relatedObjectType relatedObjectId relatedObjectUuid changeType
      isSystemEvent before after projectId environmentId apiKeyName author { id email } } } } }`;

interface ListOptions {
  readonly org?: string;
  readonly filter?: Record<string, unknown>;
  readonly first?: number;
  readonly after?: string;
}

describe('audit log query', () => {
  let t: TestApp;
  let admin: string;
  let adminUser: User;
  let ws: Workspace;
  let projectB: string;
  let prod: string;
  let feature: string;
  let featureB: string;
  let segment: string;
  let pagedOrg: string;
  const em = () => t.app.db.orm.em.fork();

  const list = (token: string | undefined, opts: ListOptions = {}) =>
    t.gql<{ auditLogs: Connection }>(
      LIST,
      { o: opts.org ?? ws.organisationId, f: opts.filter, n: opts.first, a: opts.after },
      token ? { token } : {},
    );
  const nodes = async (token: string, opts: ListOptions = {}) =>
    ok(await list(token, { first: 100, ...opts })).auditLogs.edges.map((e) => e.node);
  const fieldOf = (res: Pick<GqlResult, 'errors'>) => res.errors?.[0]?.extensions?.field;

  /** Ids of the organisation's stored records matching `where`, newest first. */
  async function storedIds(where: Record<string, unknown> = {}, org = ws.organisationId) {
    const rows = await em().find(
      AuditLog,
      { organisation: Number(org), ...where },
      { orderBy: { id: 'desc' } },
    );
    return rows.map((r) => r.id);
  }

  beforeAll(async () => {
    t = await createTestApp();
    const created = await t.createUser('admin@acme.test');
    admin = created.token;
    adminUser = created.user;
    ws = await createWorkspace(t, admin);
    prod = ws.environments.Production!;
    projectB = ok(
      await t.gql<{ createProject: { id: string } }>(
        'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Mobile" }) { id } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).createProject.id;
    const createFeature = async (projectId: string, name: string) =>
      ok(
        await t.gql<{ createFeature: { id: string } }>(
          'mutation($p: ID!, $n: String!) { createFeature(input: { projectId: $p, name: $n }) { id } }',
          { p: projectId, n: name },
          { token: admin },
        ),
      ).createFeature.id;
    feature = await createFeature(ws.projectId, 'checkout');
    featureB = await createFeature(projectB, 'dark_mode');
    const state = ok(
      await t.gql<{ featureStates: { nodes: { id: string }[] } }>(
        'query($e: ID!, $f: [ID!]) { featureStates(environmentId: $e, filter: { featureIds: $f }) { nodes { id } } }',
        { e: prod, f: [feature] },
        { token: admin },
      ),
    ).featureStates.nodes[0]!.id;
    ok(
      await t.gql(
        'mutation($id: ID!) { updateFeatureState(id: $id, input: { enabled: true }) { id } }',
        { id: state },
        { token: admin },
      ),
    );
    segment = ok(
      await t.gql<{ createSegment: { id: string } }>(
        'mutation($p: ID!) { createSegment(input: { projectId: $p, name: "Beta users", rules: [] }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    ).createSegment.id;

    // A second organisation whose log is filled directly: 25 records at known times and texts.
    pagedOrg = ok(
      await t.gql<{ createOrganisation: { id: string } }>(
        'mutation { createOrganisation(input: { name: "Paged" }) { id } }',
        {},
        { token: admin },
      ),
    ).createOrganisation.id;
    const e = em();
    const texts = ['100% done', '100_ done', '1000 DONE', 'back\\slash'];
    for (let i = 0; i < 25; i++) {
      e.create(AuditLog, {
        organisation: Number(pagedOrg),
        author: adminUser.id,
        relatedObjectType: AuditObjectType.ORGANISATION,
        relatedObjectId: String(i),
        changeType: ChangeType.UPDATE,
        log: texts[i] ?? `entry ${i}`,
        createdAt: new Date(Date.UTC(2030, 0, 1 + i)),
      });
    }
    await e.flush();
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('records of changes made through GraphQL', () => {
    it('lists them newest first with their type, change, scope and author', async () => {
      const rows = await nodes(admin);
      expect(rows.map((r) => r.id)).toEqual(await storedIds());
      const ids = rows.map((r) => BigInt(r.id));
      for (let i = 1; i < ids.length; i++) expect(ids[i]! < ids[i - 1]!).toBe(true);

      const find = (type: string, objectId: string) =>
        rows.find((r) => r.relatedObjectType === type && r.relatedObjectId === objectId);
      expect(find('FEATURE', feature)).toMatchObject({
        changeType: 'CREATE',
        log: 'New Flag / Remote Config created: checkout',
        projectId: ws.projectId,
        environmentId: null,
        author: { id: String(adminUser.id), email: 'admin@acme.test' },
        apiKeyName: null,
        isSystemEvent: false,
      });
      expect(find('FEATURE', featureB)).toMatchObject({
        changeType: 'CREATE',
        projectId: projectB,
      });
      const stateRow = rows.find((r) => r.relatedObjectType === 'FEATURE_STATE');
      expect(stateRow).toMatchObject({
        changeType: 'UPDATE',
        log: 'Flag state / Remote Config value updated: checkout',
        projectId: ws.projectId,
        environmentId: prod,
        author: { id: String(adminUser.id) },
      });
      expect(stateRow!.before).toMatchObject({ enabled: false });
      expect(stateRow!.after).toMatchObject({ enabled: true });
      expect(find('SEGMENT', segment)).toMatchObject({
        changeType: 'CREATE',
        projectId: ws.projectId,
        environmentId: null,
        author: { id: String(adminUser.id) },
      });
      expect(find('ORGANISATION', ws.organisationId)).toMatchObject({
        changeType: 'CREATE',
        projectId: null,
      });
      // The other organisation's records stay out.
      expect(rows.some((r) => r.log === '100% done')).toBe(false);
    });
  });

  describe('filters', () => {
    it('narrows by project and by environment', async () => {
      const a = await nodes(admin, { filter: { projectId: ws.projectId } });
      expect(a.map((r) => r.id)).toEqual(await storedIds({ project: Number(ws.projectId) }));
      expect(a.length).toBeGreaterThan(2);
      expect(a.every((r) => r.projectId === ws.projectId)).toBe(true);

      const env = ok(await list(admin, { filter: { environmentId: prod } })).auditLogs;
      expect(env.edges.map((e) => e.node.id)).toEqual(
        await storedIds({ environment: Number(prod) }),
      );
      expect(env.edges.some((e) => e.node.relatedObjectType === 'FEATURE_STATE')).toBe(true);
      expect(env.edges.every((e) => e.node.environmentId === prod)).toBe(true);
      expect(env.totalCount).toBe(env.edges.length);
    });

    it('narrows by object type and by author', async () => {
      const segments = await nodes(admin, { filter: { relatedObjectType: 'SEGMENT' } });
      expect(segments.map((r) => r.relatedObjectId)).toEqual([segment]);

      const other = await t.createUser('other@acme.test');
      expect(await nodes(admin, { filter: { authorId: String(other.user.id) } })).toEqual([]);
      const mine = await nodes(admin, { filter: { authorId: String(adminUser.id) } });
      expect(mine.map((r) => r.id)).toEqual(await storedIds({ author: adminUser.id }));
      expect(mine.length).toBeGreaterThan(0);
    });

    it('narrows by time: since inclusive, until exclusive', async () => {
      const day = (d: number) => new Date(Date.UTC(2030, 0, d)).toISOString();
      const res = ok(
        await list(admin, {
          org: pagedOrg,
          first: 100,
          filter: { since: day(3), until: day(6) },
        }),
      ).auditLogs;
      // Days 3, 4 and 5 (records 2, 3, 4); day 6 is excluded.
      expect(res.edges.map((e) => e.node.relatedObjectId)).toEqual(['4', '3', '2']);
      expect(res.totalCount).toBe(3);
      expect(res.edges.map((e) => e.node.createdAt)).toEqual([day(5), day(4), day(3)]);
    });

    it('searches the message case-insensitively and literally', async () => {
      const logs = async (search: string) =>
        (await nodes(admin, { org: pagedOrg, filter: { search } })).map((r) => r.log).sort();
      expect(await logs('100%')).toEqual(['100% done']);
      expect(await logs('0_')).toEqual(['100_ done']);
      expect(await logs('done')).toEqual(['100% done', '1000 DONE', '100_ done']);
      expect(await logs('k\\s')).toEqual(['back\\slash']);
      // Records 4–24 read `entry <n>`: `entry 1` is in entry 10 … entry 19.
      expect(await logs('ENTRY 1')).toEqual([...Array(10).keys()].map((i) => `entry 1${i}`));
    });

    it('combines filters (AND)', async () => {
      const rows = await nodes(admin, {
        filter: { projectId: ws.projectId, relatedObjectType: 'FEATURE', search: 'CHECKOUT' },
      });
      expect(rows.map((r) => r.relatedObjectId)).toEqual([feature]);
    });

    it('rejects malformed filter ids naming the field', async () => {
      const res = await list(admin, { filter: { projectId: 'abc' } });
      expect(codeOf(res)).toBe('BAD_USER_INPUT');
      expect(fieldOf(res)).toBe('filter.projectId');
      const author = await list(admin, { filter: { authorId: '-1' } });
      expect(codeOf(author)).toBe('BAD_USER_INPUT');
      expect(fieldOf(author)).toBe('filter.authorId');
    });
  });

  describe('cursor pagination', () => {
    it('walks every record once, 10 at a time, with the right totalCount', async () => {
      const expected = await storedIds({}, pagedOrg);
      expect(expected.length).toBe(26); // the organisation's creation + 25 inserted
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      for (;;) {
        const page = ok(await list(admin, { org: pagedOrg, first: 10, after })).auditLogs;
        pages++;
        expect(page.totalCount).toBe(26);
        expect(page.edges.length).toBe(pages < 3 ? 10 : 6);
        expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)!.cursor);
        seen.push(...page.edges.map((e) => e.node.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor!;
        expect(pages).toBeLessThan(3);
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(expected);
    });

    it('resumes after any edge cursor, and an empty page has no end cursor', async () => {
      const all = ok(await list(admin, { org: pagedOrg, first: 100 })).auditLogs.edges;
      const from = ok(
        await list(admin, { org: pagedOrg, first: 3, after: all[4]!.cursor }),
      ).auditLogs;
      expect(from.edges.map((e) => e.node.id)).toEqual(all.slice(5, 8).map((e) => e.node.id));
      expect(from.pageInfo.hasNextPage).toBe(true);

      const end = ok(await list(admin, { org: pagedOrg, after: all.at(-1)!.cursor })).auditLogs;
      expect(end.edges).toEqual([]);
      expect(end.pageInfo).toEqual({ hasNextPage: false, endCursor: null });
      expect(end.totalCount).toBe(26);
    });

    it('defaults to 50 and rejects `first` outside 1–100', async () => {
      const page = ok(await list(admin, { org: pagedOrg })).auditLogs;
      expect(page.edges).toHaveLength(26);
      expect(page.pageInfo.hasNextPage).toBe(false);
      for (const first of [0, -1, 101]) {
        const res = await list(admin, { first });
        expect(codeOf(res)).toBe('BAD_USER_INPUT');
        expect(fieldOf(res)).toBe('first');
      }
      expect(ok(await list(admin, { org: pagedOrg, first: 100 })).auditLogs.edges).toHaveLength(26);
    });

    it('rejects a malformed cursor naming `after`', async () => {
      const b64 = (s: string) => Buffer.from(s).toString('base64url');
      const made = (order: string, value: unknown, id: unknown) =>
        b64(JSON.stringify([order, value, id]));
      for (const after of [
        '',
        'not a cursor!',
        b64('abc'),
        b64('1'),
        made('ID:DESC', '1', '0'),
        made('ID:DESC', '1', '-5'),
        made('ID:DESC', '1', '12 '),
        made('ID:DESC', { $ne: null }, '1'),
        made('ID:ASC', '1', '1'),
        'x'.repeat(600),
      ]) {
        const res = await list(admin, { after });
        expect(codeOf(res), after).toBe('BAD_USER_INPUT');
        expect(fieldOf(res), after).toBe('after');
      }
      // A cursor of the order it was made for (newest first): nothing is older than id 1.
      expect(ok(await list(admin, { after: made('ID:DESC', '1', '1') })).auditLogs.edges).toEqual(
        [],
      );
    });
  });

  describe('visibility', () => {
    const projectGrant = (email: string, project: string, keys: string[], admin = false) =>
      memberWithGrants(t, { ...ws, projectId: project }, email, [{ keys, admin }]);

    it('an organisation admin sees organisation-level records and every project', async () => {
      const rows = await nodes(admin);
      expect(rows.some((r) => r.projectId === null)).toBe(true);
      expect(rows.some((r) => r.projectId === ws.projectId)).toBe(true);
      expect(rows.some((r) => r.projectId === projectB)).toBe(true);
      expect(ok(await list(admin)).auditLogs.totalCount).toBe((await storedIds()).length);
    });

    it('a member with VIEW_AUDIT_LOG on a project sees that project only', async () => {
      const token = await projectGrant('viewer-a@acme.test', ws.projectId, ['VIEW_AUDIT_LOG']);
      const res = ok(await list(token, { first: 100 })).auditLogs;
      const expected = await storedIds({ project: Number(ws.projectId) });
      expect(expected.length).toBeGreaterThan(2);
      expect(res.edges.map((e) => e.node.id)).toEqual(expected);
      expect(res.totalCount).toBe(expected.length);
      // Authors' emails stay guarded: this member is no admin of the author's organisation.
      expect(res.edges[0]!.node.author).toEqual({ id: String(adminUser.id), email: null });

      const b = ok(await list(token, { filter: { projectId: projectB } })).auditLogs;
      expect(b).toEqual({
        totalCount: 0,
        edges: [],
        pageInfo: { hasNextPage: false, endCursor: null },
      });
      const paged = await list(token, { filter: { relatedObjectType: 'ORGANISATION' } });
      expect(ok(paged).auditLogs.totalCount).toBe(0);
    });

    it('project admins, and grants through a group, count too', async () => {
      const projectAdmin = await projectGrant('padmin-b@acme.test', projectB, [], true);
      const rows = await nodes(projectAdmin);
      expect(rows.map((r) => r.id)).toEqual(await storedIds({ project: Number(projectB) }));
      expect(rows.length).toBeGreaterThan(0);

      const { user, token } = await t.createUser('grouped@acme.test');
      await t.addMember(user, ws.organisationId, OrganisationRole.USER);
      const e = em();
      const group = e.create(UserGroup, {
        name: 'auditors',
        organisation: Number(ws.organisationId),
      });
      e.create(UserGroupMembership, { group, user: user.id });
      e.create(PermissionGrant, {
        scope: GrantScope.PROJECT,
        organisation: Number(ws.organisationId),
        project: Number(projectB),
        group,
        keys: ['VIEW_AUDIT_LOG'],
        admin: false,
      });
      await e.flush();
      const viaGroup = ok(await list(token)).auditLogs;
      expect(viaGroup.edges.map((x) => x.node.id)).toEqual(
        await storedIds({ project: Number(projectB) }),
      );
      expect(viaGroup.totalCount).toBe(viaGroup.edges.length);
    });

    it('a member without VIEW_AUDIT_LOG sees nothing', async () => {
      const plain = await memberWithGrants(t, ws, 'plain@acme.test');
      expect(ok(await list(plain)).auditLogs).toEqual({
        totalCount: 0,
        edges: [],
        pageInfo: { hasNextPage: false, endCursor: null },
      });
      const viewer = await projectGrant('viewer@acme.test', ws.projectId, ['VIEW_PROJECT']);
      expect(ok(await list(viewer)).auditLogs.totalCount).toBe(0);
      expect(await nodes(viewer, { filter: { projectId: ws.projectId } })).toEqual([]);
    });

    it('a superuser sees every record without being a member', async () => {
      const root = await t.createUser('root@flagward.test', { isSuperuser: true });
      const res = ok(await list(root.token, { first: 100 })).auditLogs;
      expect(res.edges.map((e) => e.node.id)).toEqual(await storedIds());
    });

    it('an outsider and an unknown organisation read the same NOT_FOUND', async () => {
      const outsider = (await t.createUser('outsider@else.test')).token;
      const hidden = await list(outsider);
      const unknown = await list(outsider, { org: '987654' });
      expect(codeOf(hidden)).toBe('NOT_FOUND');
      expect(hidden.data).toBeNull();
      expect(hidden.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
      expect(codeOf(unknown)).toBe('NOT_FOUND');
      expect(codeOf(await list(admin, { org: '987654' }))).toBe('NOT_FOUND');
    });

    it('anonymous callers are told to sign in', async () => {
      const res = await list(undefined);
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
      expect(res.data).toBeNull();
    });
  });
});
