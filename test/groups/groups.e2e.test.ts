import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditObjectType } from '../../src/audit/audit-log.entity';
import { UserGroup, UserGroupMembership } from '../../src/groups/user-group.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type GqlResult, type TestApp } from '../support/test-app';

/**
 * Organisation groups: organisation admins create, change and delete them; membership is
 * also managed by MANAGE_USER_GROUPS holders and the group's own admins.
 */
describe('user groups', () => {
  let t: TestApp;
  let admin: string;
  let ws: Workspace;
  let outsider: string;
  let seq = 0;
  const em = () => t.app.db.orm.em.fork();

  const GROUP_FIELDS =
    'id organisationId name isDefault externalId members { nodes { groupAdmin user { id email } } }';
  const CREATE = `mutation($i: CreateGroupInput!) { createGroup(input: $i) { ${GROUP_FIELDS} } }`;
  const UPDATE = `mutation($id: ID!, $i: UpdateGroupInput!) { updateGroup(id: $id, input: $i) { ${GROUP_FIELDS} } }`;
  const DELETE = 'mutation($id: ID!) { deleteGroup(id: $id) }';
  const ADD = `mutation($g: ID!, $u: [ID!]!, $a: Boolean) { addGroupMembers(groupId: $g, userIds: $u, groupAdmin: $a) { ${GROUP_FIELDS} } }`;
  const REMOVE = `mutation($g: ID!, $u: [ID!]!) { removeGroupMembers(groupId: $g, userIds: $u) { ${GROUP_FIELDS} } }`;
  const ONE = `query($id: ID!) { group(id: $id) { ${GROUP_FIELDS} } }`;
  const LIST = 'query($o: ID!) { groups(organisationId: $o) { nodes { id name } } }';

  type Group = {
    id: string;
    name: string;
    isDefault: boolean;
    members: { nodes: { groupAdmin: boolean; user: { id: string; email: string } }[] };
  };

  const fieldOf = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.field;
  const permissionOf = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.permission;
  const memberIds = (g: Group) => g.members.nodes.map((m) => m.user.id).sort();

  async function member(
    grants: Parameters<typeof memberWithGrants>[3] = [],
  ): Promise<{ id: string; token: string; email: string }> {
    const email = `member${++seq}@groups.test`;
    const token = await memberWithGrants(t, ws, email, grants);
    const rows = (await em()
      .getConnection()
      .execute('select id from users where email = ?', [email])) as { id: number }[];
    return { id: String(rows[0]!.id), token, email };
  }

  async function newGroup(input: Record<string, unknown> = {}): Promise<Group> {
    return ok(
      await t.gql<{ createGroup: Group }>(
        CREATE,
        { i: { organisationId: ws.organisationId, name: `group ${++seq}`, ...input } },
        { token: admin },
      ),
    ).createGroup;
  }

  const add = (token: string, g: string, users: string[], groupAdmin?: boolean) =>
    t.gql<{ addGroupMembers: Group }>(ADD, { g, u: users, a: groupAdmin }, { token });
  const remove = (token: string, g: string, users: string[]) =>
    t.gql<{ removeGroupMembers: Group }>(REMOVE, { g, u: users }, { token });

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.createUser('groups-admin@example.com')).token;
    ws = await createWorkspace(t, admin);
    outsider = (await t.createUser('groups-outsider@example.com')).token;
    await createWorkspace(t, outsider, { organisation: 'Elsewhere' });
  });
  afterAll(() => t?.close());

  it('an organisation admin creates, lists, reads, changes and deletes groups', async () => {
    const created = ok(
      await t.gql<{ createGroup: Group }>(
        CREATE,
        { i: { organisationId: ws.organisationId, name: ' Engineers ', externalId: 'eng' } },
        { token: admin },
      ),
    ).createGroup;
    expect(created).toMatchObject({
      organisationId: ws.organisationId,
      name: 'Engineers',
      isDefault: false,
      externalId: 'eng',
      members: { nodes: [] },
    });
    const listed = ok(
      await t.gql<{ groups: { nodes: { id: string }[] } }>(
        LIST,
        { o: ws.organisationId },
        { token: admin },
      ),
    ).groups;
    expect(listed.nodes.map((g) => g.id)).toContain(created.id);

    const dup = await t.gql(
      CREATE,
      { i: { organisationId: ws.organisationId, name: 'Engineers' } },
      { token: admin },
    );
    expect(codeOf(dup)).toBe('CONFLICT');

    const updated = ok(
      await t.gql<{ updateGroup: Group }>(
        UPDATE,
        { id: created.id, i: { name: 'Engineering', externalId: null } },
        { token: admin },
      ),
    ).updateGroup;
    expect(updated).toMatchObject({ name: 'Engineering', externalId: null });

    const m = await member();
    const withMember = ok(await add(admin, created.id, [m.id], true)).addGroupMembers;
    expect(withMember.members.nodes).toEqual([
      { groupAdmin: true, user: { id: m.id, email: m.email } },
    ]);
    expect(
      ok(await t.gql<{ group: Group }>(ONE, { id: created.id }, { token: admin })).group.members
        .nodes,
    ).toHaveLength(1);

    expect(ok(await t.gql(DELETE, { id: created.id }, { token: admin }))).toEqual({
      deleteGroup: created.id,
    });
    expect(await em().count(UserGroup, { id: Number(created.id) })).toBe(0);
    expect(await em().count(UserGroupMembership, { group: Number(created.id) })).toBe(0);
    expect(codeOf(await t.gql(ONE, { id: created.id }, { token: admin }))).toBe('NOT_FOUND');
    const audit = await em().find(AuditLog, {
      relatedObjectType: AuditObjectType.PERMISSION,
      relatedObjectId: created.id,
    });
    expect(audit.map((a) => a.changeType).sort()).toEqual(['CREATE', 'DELETE', 'UPDATE', 'UPDATE']);
  });

  it('adds and removes members; only members of the organisation', async () => {
    const g = await newGroup();
    const [a, b] = [await member(), await member()];
    const added = ok(await add(admin, g.id, [a.id, b.id, a.id])).addGroupMembers;
    expect(memberIds(added)).toEqual([a.id, b.id].sort());
    expect(added.members.nodes.every((m) => !m.groupAdmin)).toBe(true);
    // Adding again with groupAdmin sets it; leaving it out keeps it.
    expect(
      ok(await add(admin, g.id, [a.id], true)).addGroupMembers.members.nodes.find(
        (m) => m.user.id === a.id,
      )?.groupAdmin,
    ).toBe(true);
    expect(
      ok(await add(admin, g.id, [a.id])).addGroupMembers.members.nodes.find(
        (m) => m.user.id === a.id,
      )?.groupAdmin,
    ).toBe(true);

    const stranger = await t.createUser(`stranger${++seq}@groups.test`);
    const res = await add(admin, g.id, [b.id, String(stranger.user.id)]);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(fieldOf(res)).toBe('userIds.1');
    expect(fieldOf(await add(admin, g.id, []))).toBe('userIds');

    const removed = ok(await remove(admin, g.id, [a.id])).removeGroupMembers;
    expect(memberIds(removed)).toEqual([b.id]);
  });

  it('MANAGE_USER_GROUPS holders change membership of any group, but cannot create or change groups', async () => {
    const manager = await member();
    ok(
      await t.gql(
        'mutation($i: GrantPermissionsInput!) { grantPermissions(input: $i) { id } }',
        {
          i: {
            holder: { userId: manager.id },
            organisationId: ws.organisationId,
            keys: ['MANAGE_USER_GROUPS'],
          },
        },
        { token: admin },
      ),
    );
    const g = await newGroup();
    const m = await member();
    expect(memberIds(ok(await add(manager.token, g.id, [m.id])).addGroupMembers)).toEqual([m.id]);
    expect(ok(await remove(manager.token, g.id, [m.id])).removeGroupMembers.members.nodes).toEqual(
      [],
    );

    const create = await t.gql(
      CREATE,
      { i: { organisationId: ws.organisationId, name: 'Mine' } },
      { token: manager.token },
    );
    expect(codeOf(create)).toBe('FORBIDDEN');
    expect(permissionOf(create)).toBe('ORGANISATION_ADMIN');
    const update = await t.gql(UPDATE, { id: g.id, i: { name: 'x' } }, { token: manager.token });
    expect(codeOf(update)).toBe('FORBIDDEN');
    expect(codeOf(await t.gql(DELETE, { id: g.id }, { token: manager.token }))).toBe('FORBIDDEN');
    expect(await em().count(UserGroup, { id: Number(g.id) })).toBe(1);
  });

  it("a group admin changes that group's membership only, and cannot create groups", async () => {
    const g = await newGroup();
    const other = await newGroup();
    const groupAdmin = await member();
    ok(await add(admin, g.id, [groupAdmin.id], true));
    const m = await member();

    expect(memberIds(ok(await add(groupAdmin.token, g.id, [m.id])).addGroupMembers)).toEqual(
      [groupAdmin.id, m.id].sort(),
    );
    expect(memberIds(ok(await remove(groupAdmin.token, g.id, [m.id])).removeGroupMembers)).toEqual([
      groupAdmin.id,
    ]);

    const elsewhere = await add(groupAdmin.token, other.id, [m.id]);
    expect(codeOf(elsewhere)).toBe('FORBIDDEN');
    expect(permissionOf(elsewhere)).toBe('MANAGE_USER_GROUPS');
    const create = await t.gql(
      CREATE,
      { i: { organisationId: ws.organisationId, name: 'Mine too' } },
      { token: groupAdmin.token },
    );
    expect(codeOf(create)).toBe('FORBIDDEN');
  });

  it('a plain member sees the groups but cannot change them', async () => {
    const g = await newGroup();
    const plain = await member([{ keys: ['VIEW_PROJECT'] }]);
    ok(await add(admin, g.id, [plain.id])); // a member of the group, not its admin
    const listed = ok(
      await t.gql<{ groups: { nodes: { id: string }[] } }>(
        LIST,
        { o: ws.organisationId },
        { token: plain.token },
      ),
    ).groups;
    expect(listed.nodes.map((x) => x.id)).toContain(g.id);
    const res = await add(plain.token, g.id, [plain.id], true);
    expect(codeOf(res)).toBe('FORBIDDEN');
    expect(codeOf(await remove(plain.token, g.id, [plain.id]))).toBe('FORBIDDEN');
    const row = await em().findOneOrFail(UserGroupMembership, {
      group: Number(g.id),
      user: Number(plain.id),
    });
    expect(row.groupAdmin).toBe(false);
  });

  it('nobody short of organisation ADMIN puts people in a group holding more than they hold', async () => {
    const powerful = await newGroup();
    ok(
      await t.gql(
        'mutation($i: GrantPermissionsInput!) { grantPermissions(input: $i) { id } }',
        { i: { holder: { groupId: powerful.id }, projectId: ws.projectId, keys: [], admin: true } },
        { token: admin },
      ),
    );
    const manager = await member();
    ok(
      await t.gql(
        'mutation($i: GrantPermissionsInput!) { grantPermissions(input: $i) { id } }',
        {
          i: {
            holder: { userId: manager.id },
            organisationId: ws.organisationId,
            keys: ['MANAGE_USER_GROUPS'],
          },
        },
        { token: admin },
      ),
    );
    const res = await add(manager.token, powerful.id, [manager.id]);
    expect(codeOf(res)).toBe('FORBIDDEN');
    expect(permissionOf(res)).toBe('PROJECT_ADMIN');
    expect(await em().count(UserGroupMembership, { group: Number(powerful.id) })).toBe(0);
    // The organisation's admin may.
    expect(memberIds(ok(await add(admin, powerful.id, [manager.id])).addGroupMembers)).toEqual([
      manager.id,
    ]);
  });

  it('new organisation members join the default groups', async () => {
    const defaults = await newGroup({ isDefault: true });
    const plain = await newGroup();
    const user = await t.createUser(`joiner${++seq}@groups.test`);
    ok(
      await t.gql(
        'mutation($i: AddMemberInput!) { addOrganisationMember(input: $i) { role } }',
        { i: { organisationId: ws.organisationId, email: user.user.email, role: 'USER' } },
        { token: admin },
      ),
    );
    const read = async (id: string) =>
      ok(await t.gql<{ group: Group }>(ONE, { id }, { token: admin })).group;
    expect(memberIds(await read(defaults.id))).toEqual([String(user.user.id)]);
    expect(await read(plain.id)).toMatchObject({ members: { nodes: [] } });
  });

  it('outsiders get NOT_FOUND, exactly as for ids that do not exist', async () => {
    const g = await newGroup();
    const m = await member();
    const pairs: [string, Record<string, unknown>, Record<string, unknown>][] = [
      [ONE, { id: g.id }, { id: '999999' }],
      [UPDATE, { id: g.id, i: { name: 'x' } }, { id: '999999', i: { name: 'x' } }],
      [DELETE, { id: g.id }, { id: '999999' }],
      [ADD, { g: g.id, u: [m.id] }, { g: '999999', u: [m.id] }],
      [REMOVE, { g: g.id, u: [m.id] }, { g: '999999', u: [m.id] }],
      [LIST, { o: ws.organisationId }, { o: '999999' }],
      [
        CREATE,
        { i: { organisationId: ws.organisationId, name: 'x' } },
        { i: { organisationId: '999999', name: 'x' } },
      ],
    ];
    for (const [query, theirs, unknown] of pairs) {
      const a = await t.gql(query, theirs, { token: outsider });
      const b = await t.gql(query, unknown, { token: outsider });
      expect(codeOf(a), query).toBe('NOT_FOUND');
      expect(a.errors?.[0]?.extensions, query).toEqual(b.errors?.[0]?.extensions);
      expect(a.errors?.[0]?.message.replace(g.id, '999999'), query).toBe(b.errors?.[0]?.message);
    }
    expect(await em().count(UserGroup, { id: Number(g.id) })).toBe(1);
  });
});
