import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role, RoleAssignment } from '../../src/roles/role.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type GqlResult, type TestApp } from '../support/test-app';

/** Roles: named sets of grants, given to members, groups and non-admin API keys. */
describe('roles', () => {
  let t: TestApp;
  let admin: string;
  let ws: Workspace;
  let other: Workspace;
  let outsider: string;
  let seq = 0;
  const em = () => t.app.db.orm.em.fork();

  const ROLE_FIELDS =
    'id organisationId name description grants { scope projectId keys admin } assignments { user { email } group { name } apiKey { name } }';
  const CREATE = `mutation($i: CreateRoleInput!) { createRole(input: $i) { ${ROLE_FIELDS} } }`;
  const UPDATE = `mutation($id: ID!, $i: UpdateRoleInput!) { updateRole(id: $id, input: $i) { ${ROLE_FIELDS} } }`;
  const DELETE = 'mutation($id: ID!) { deleteRole(id: $id) }';
  const ASSIGN = `mutation($r: ID!, $h: RoleHolderInput!) { assignRole(roleId: $r, holder: $h) { ${ROLE_FIELDS} } }`;
  const UNASSIGN = `mutation($r: ID!, $h: RoleHolderInput!) { unassignRole(roleId: $r, holder: $h) { ${ROLE_FIELDS} } }`;
  const ONE = `query($id: ID!) { role(id: $id) { ${ROLE_FIELDS} } }`;
  const LIST = 'query($o: ID!) { roles(organisationId: $o) { nodes { id name } } }';
  const GRANT = 'mutation($i: GrantPermissionsInput!) { grantPermissions(input: $i) { id } }';

  type RoleOut = {
    id: string;
    name: string;
    description: string | null;
    grants: { scope: string; projectId: string | null; keys: string[]; admin: boolean }[];
    assignments: {
      user: { email: string } | null;
      group: { name: string } | null;
      apiKey: { name: string } | null;
    }[];
  };

  const fieldOf = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.field;
  const permissionOf = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.permission;

  async function member(): Promise<{ id: string; token: string; email: string }> {
    const email = `member${++seq}@roles.test`;
    const token = await memberWithGrants(t, ws, email);
    const rows = (await em()
      .getConnection()
      .execute('select id from users where email = ?', [email])) as { id: number }[];
    return { id: String(rows[0]!.id), token, email };
  }

  async function newRole(
    name = `role ${++seq}`,
    organisationId = ws.organisationId,
    token = admin,
  ) {
    return ok(
      await t.gql<{ createRole: RoleOut }>(CREATE, { i: { organisationId, name } }, { token }),
    ).createRole;
  }

  async function newKey(isAdmin: boolean, workspace = ws, token = admin) {
    return ok(
      await t.gql<{ createOrganisationApiKey: { key: string; apiKey: { id: string } } }>(
        'mutation($i: CreateOrganisationApiKeyInput!) { createOrganisationApiKey(input: $i) { key apiKey { id } } }',
        { i: { organisationId: workspace.organisationId, name: `key ${++seq}`, isAdmin } },
        { token },
      ),
    ).createOrganisationApiKey;
  }

  async function withKey(key: string, query: string, variables: Record<string, unknown>) {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Api-Key ${key}` },
      body: JSON.stringify({ query, variables }),
    });
    return (await res.json()) as GqlResult<{ project: { id: string } }>;
  }

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.createUser('roles-admin@example.com')).token;
    ws = await createWorkspace(t, admin);
    outsider = (await t.createUser('roles-outsider@example.com')).token;
    other = await createWorkspace(t, outsider, { organisation: 'Elsewhere' });
  });
  afterAll(() => t?.close());

  it('an organisation admin creates, lists, reads, changes and deletes roles', async () => {
    const created = ok(
      await t.gql<{ createRole: RoleOut }>(
        CREATE,
        { i: { organisationId: ws.organisationId, name: 'Viewer', description: 'reads' } },
        { token: admin },
      ),
    ).createRole;
    expect(created).toMatchObject({
      name: 'Viewer',
      description: 'reads',
      grants: [],
      assignments: [],
    });
    expect(
      codeOf(
        await t.gql(
          CREATE,
          { i: { organisationId: ws.organisationId, name: 'Viewer' } },
          { token: admin },
        ),
      ),
    ).toBe('CONFLICT');
    const listed = ok(
      await t.gql<{ roles: { nodes: { id: string }[] } }>(
        LIST,
        { o: ws.organisationId },
        { token: admin },
      ),
    ).roles;
    expect(listed.nodes.map((r) => r.id)).toContain(created.id);

    ok(
      await t.gql(
        GRANT,
        { i: { holder: { roleId: created.id }, projectId: ws.projectId, keys: ['VIEW_PROJECT'] } },
        { token: admin },
      ),
    );
    const m = await member();
    ok(await t.gql(ASSIGN, { r: created.id, h: { userId: m.id } }, { token: admin }));
    const read = ok(await t.gql<{ role: RoleOut }>(ONE, { id: created.id }, { token: admin })).role;
    expect(read.grants).toEqual([
      { scope: 'PROJECT', projectId: ws.projectId, keys: ['VIEW_PROJECT'], admin: false },
    ]);
    expect(read.assignments).toEqual([{ user: { email: m.email }, group: null, apiKey: null }]);

    const updated = ok(
      await t.gql<{ updateRole: RoleOut }>(
        UPDATE,
        { id: created.id, i: { name: 'Readers', description: null } },
        { token: admin },
      ),
    ).updateRole;
    expect(updated).toMatchObject({ name: 'Readers', description: null });

    expect(ok(await t.gql(DELETE, { id: created.id }, { token: admin }))).toEqual({
      deleteRole: created.id,
    });
    expect(await em().count(Role, { id: Number(created.id) })).toBe(0);
    expect(await em().count(RoleAssignment, { role: Number(created.id) })).toBe(0);
  });

  it('is for organisation admins only: members are told what they need', async () => {
    const role = await newRole();
    const m = await member();
    const tries: [string, Record<string, unknown>][] = [
      [LIST, { o: ws.organisationId }],
      [ONE, { id: role.id }],
      [CREATE, { i: { organisationId: ws.organisationId, name: 'mine' } }],
      [UPDATE, { id: role.id, i: { name: 'mine' } }],
      [DELETE, { id: role.id }],
      [ASSIGN, { r: role.id, h: { userId: m.id } }],
      [UNASSIGN, { r: role.id, h: { userId: m.id } }],
    ];
    for (const [query, vars] of tries) {
      const res = await t.gql(query, vars, { token: m.token });
      expect(codeOf(res), query).toBe('FORBIDDEN');
      expect(permissionOf(res), query).toBe('ORGANISATION_ADMIN');
    }
    expect(await em().count(RoleAssignment, { role: Number(role.id) })).toBe(0);
    expect(await em().count(Role, { organisation: Number(ws.organisationId), name: 'mine' })).toBe(
      0,
    );
  });

  it('outsiders get NOT_FOUND, exactly as for ids that do not exist', async () => {
    const role = await newRole();
    const m = await member();
    const pairs: [string, Record<string, unknown>, Record<string, unknown>][] = [
      [ONE, { id: role.id }, { id: '999999' }],
      [UPDATE, { id: role.id, i: { name: 'x' } }, { id: '999999', i: { name: 'x' } }],
      [DELETE, { id: role.id }, { id: '999999' }],
      [ASSIGN, { r: role.id, h: { userId: m.id } }, { r: '999999', h: { userId: m.id } }],
      [UNASSIGN, { r: role.id, h: { userId: m.id } }, { r: '999999', h: { userId: m.id } }],
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
    }
    expect(await em().count(Role, { id: Number(role.id) })).toBe(1);
  });

  it('is given only to members, groups and non-admin API keys of its organisation', async () => {
    const role = await newRole();
    const stranger = await t.createUser(`stranger${++seq}@roles.test`);
    const theirGroup = ok(
      await t.gql<{ createGroup: { id: string } }>(
        'mutation($o: ID!) { createGroup(input: { organisationId: $o, name: "Theirs" }) { id } }',
        { o: other.organisationId },
        { token: outsider },
      ),
    ).createGroup.id;
    const theirKey = await newKey(false, other, outsider);
    const adminKey = await newKey(true);
    const refused: [Record<string, string>, string][] = [
      [{ userId: String(stranger.user.id) }, 'holder.userId'],
      [{ groupId: theirGroup }, 'holder.groupId'],
      [{ apiKeyId: theirKey.apiKey.id }, 'holder.apiKeyId'],
      [{ apiKeyId: adminKey.apiKey.id }, 'holder.apiKeyId'],
      [{}, 'holder'],
    ];
    for (const [holder, field] of refused) {
      const res = await t.gql(ASSIGN, { r: role.id, h: holder }, { token: admin });
      expect(codeOf(res), field).toBe('BAD_USER_INPUT');
      expect(fieldOf(res)).toBe(field);
    }
    expect(await em().count(RoleAssignment, { role: Number(role.id) })).toBe(0);
  });

  it('a non-admin API key sees a project through a role granting VIEW_PROJECT', async () => {
    const PROJECT = 'query($id: ID!) { project(id: $id) { id } }';
    const { key, apiKey } = await newKey(false);
    expect(codeOf(await withKey(key, PROJECT, { id: ws.projectId }))).toBe('NOT_FOUND');

    const role = await newRole('Terraform reader');
    ok(
      await t.gql(
        GRANT,
        { i: { holder: { roleId: role.id }, projectId: ws.projectId, keys: ['VIEW_PROJECT'] } },
        { token: admin },
      ),
    );
    const assigned = ok(
      await t.gql<{ assignRole: RoleOut }>(
        ASSIGN,
        { r: role.id, h: { apiKeyId: apiKey.id } },
        { token: admin },
      ),
    ).assignRole;
    expect(assigned.assignments).toHaveLength(1);
    expect(assigned.assignments[0]!.apiKey).not.toBeNull();
    // Assigning again changes nothing.
    ok(await t.gql(ASSIGN, { r: role.id, h: { apiKeyId: apiKey.id } }, { token: admin }));
    expect(await em().count(RoleAssignment, { role: Number(role.id) })).toBe(1);

    expect(ok(await withKey(key, PROJECT, { id: ws.projectId }))).toEqual({
      project: { id: ws.projectId },
    });
    ok(await t.gql(UNASSIGN, { r: role.id, h: { apiKeyId: apiKey.id } }, { token: admin }));
    expect(codeOf(await withKey(key, PROJECT, { id: ws.projectId }))).toBe('NOT_FOUND');
  });

  it("a role given to a group reaches the group's members", async () => {
    const PROJECT = 'query($id: ID!) { project(id: $id) { id } }';
    const m = await member();
    const group = ok(
      await t.gql<{ createGroup: { id: string } }>(
        'mutation($o: ID!) { createGroup(input: { organisationId: $o, name: "Readers" }) { id } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).createGroup.id;
    ok(
      await t.gql(
        'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }',
        { g: group, u: [m.id] },
        { token: admin },
      ),
    );
    const role = await newRole();
    ok(
      await t.gql(
        GRANT,
        { i: { holder: { roleId: role.id }, projectId: ws.projectId, keys: ['VIEW_PROJECT'] } },
        { token: admin },
      ),
    );
    expect(codeOf(await t.gql(PROJECT, { id: ws.projectId }, { token: m.token }))).toBe(
      'NOT_FOUND',
    );
    ok(await t.gql(ASSIGN, { r: role.id, h: { groupId: group } }, { token: admin }));
    expect(ok(await t.gql(PROJECT, { id: ws.projectId }, { token: m.token }))).toEqual({
      project: { id: ws.projectId },
    });
    // Deleting the role takes it away.
    ok(await t.gql(DELETE, { id: role.id }, { token: admin }));
    expect(codeOf(await t.gql(PROJECT, { id: ws.projectId }, { token: m.token }))).toBe(
      'NOT_FOUND',
    );
  });
});
