import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermissionGrant } from '../../src/permissions/permission-grant.entity';
import { codeOf, createWorkspace, memberWithGrants, ok, type Workspace } from '../support/fixtures';
import { createTestApp, type GqlResult, type TestApp } from '../support/test-app';

/**
 * Object-level grants through the API: they take effect at once, and nobody can grant more
 * than they hold (organisation ADMIN for organisation grants, project admin for project
 * grants, environment admin for environment grants).
 */
describe('permission grants', () => {
  let t: TestApp;
  let admin: string;
  let ws: Workspace;
  /** A second project of the same organisation. */
  let otherProject: string;
  let outsider: string;
  let seq = 0;
  const em = () => t.app.db.orm.em.fork();

  const GRANT =
    'mutation($i: GrantPermissionsInput!) { grantPermissions(input: $i) { id scope organisationId projectId environmentId keys admin user { email } group { name } role { name } } }';
  const REVOKE =
    'mutation($h: GrantHolderInput!, $s: GrantScopeInput!) { revokePermissions(holder: $h, scope: $s) }';
  const LIST =
    'query($o: ID, $p: ID, $e: ID) { permissionGrants(organisationId: $o, projectId: $p, environmentId: $e) { nodes { id keys admin user { email } group { name } role { name } } } }';
  const PROJECT = 'query($id: ID!) { project(id: $id) { id name } }';

  const grant = (token: string, input: Record<string, unknown>) =>
    t.gql<{ grantPermissions: { id: string; keys: string[]; admin: boolean } }>(
      GRANT,
      { i: input },
      { token },
    );
  const seesProject = async (token: string, id = ws.projectId) => {
    const res = await t.gql(PROJECT, { id }, { token });
    if (codeOf(res) === 'NOT_FOUND') return false;
    ok(res);
    return true;
  };
  const fieldOf = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.field;
  const permissionOf = (res: GqlResult<unknown>) => res.errors?.[0]?.extensions?.permission;

  /** A new USER member; returns their id and token. */
  async function member(
    grants: Parameters<typeof memberWithGrants>[3] = [],
  ): Promise<{ id: string; token: string; email: string }> {
    const email = `member${++seq}@grants.test`;
    const token = await memberWithGrants(t, ws, email, grants);
    const user = await em()
      .getConnection()
      .execute('select id from users where email = ?', [email]);
    return { id: String((user[0] as { id: number }).id), token, email };
  }

  beforeAll(async () => {
    t = await createTestApp();
    admin = (await t.createUser('grants-admin@example.com')).token;
    ws = await createWorkspace(t, admin);
    otherProject = ok(
      await t.gql<{ createProject: { id: string } }>(
        'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Other" }) { id } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).createProject.id;
    const out = await t.createUser('grants-outsider@example.com');
    outsider = out.token;
    await createWorkspace(t, outsider, { organisation: 'Elsewhere' });
  });
  afterAll(() => t?.close());

  it('a grant made through the API takes effect, is listed, and revoking removes it', async () => {
    const m = await member();
    expect(await seesProject(m.token)).toBe(false);

    const made = ok(
      await grant(admin, {
        holder: { userId: m.id },
        projectId: ws.projectId,
        keys: ['VIEW_PROJECT'],
      }),
    ).grantPermissions;
    expect(made).toMatchObject({
      scope: 'PROJECT',
      projectId: ws.projectId,
      environmentId: null,
      keys: ['VIEW_PROJECT'],
      admin: false,
      user: { email: m.email },
    });
    expect(await seesProject(m.token)).toBe(true);

    const listed = ok(
      await t.gql<{
        permissionGrants: { nodes: { id: string; user: { email: string } | null }[] };
      }>(LIST, { p: ws.projectId }, { token: admin }),
    ).permissionGrants;
    expect(listed.nodes.find((g) => g.id === made.id)?.user?.email).toBe(m.email);

    expect(
      ok(
        await t.gql(
          REVOKE,
          { h: { userId: m.id }, s: { projectId: ws.projectId } },
          { token: admin },
        ),
      ),
    ).toEqual({ revokePermissions: true });
    expect(await seesProject(m.token)).toBe(false);
    // Nothing left to revoke.
    expect(
      ok(
        await t.gql(
          REVOKE,
          { h: { userId: m.id }, s: { projectId: ws.projectId } },
          { token: admin },
        ),
      ),
    ).toEqual({ revokePermissions: false });
  });

  it('sets (replaces) the keys: one row per holder and scope', async () => {
    const m = await member();
    const first = ok(
      await grant(admin, {
        holder: { userId: m.id },
        projectId: ws.projectId,
        keys: ['VIEW_PROJECT', 'CREATE_FEATURE', 'VIEW_PROJECT'],
      }),
    ).grantPermissions;
    expect(first.keys).toEqual(['VIEW_PROJECT', 'CREATE_FEATURE']);
    const second = ok(
      await grant(admin, {
        holder: { userId: m.id },
        projectId: ws.projectId,
        keys: ['MANAGE_TAGS'],
        admin: true,
      }),
    ).grantPermissions;
    expect(second).toMatchObject({ id: first.id, keys: ['MANAGE_TAGS'], admin: true });
    const rows = await em().find(PermissionGrant, { user: Number(m.id) });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.keys).toEqual(['MANAGE_TAGS']);
  });

  it('a grant to a group reaches its members', async () => {
    const m = await member();
    const groupId = ok(
      await t.gql<{ createGroup: { id: string } }>(
        'mutation($o: ID!) { createGroup(input: { organisationId: $o, name: "Viewers" }) { id } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).createGroup.id;
    ok(
      await t.gql(
        'mutation($g: ID!, $u: [ID!]!) { addGroupMembers(groupId: $g, userIds: $u) { id } }',
        { g: groupId, u: [m.id] },
        { token: admin },
      ),
    );
    expect(await seesProject(m.token)).toBe(false);
    const made = ok(
      await grant(admin, { holder: { groupId }, projectId: ws.projectId, keys: ['VIEW_PROJECT'] }),
    ).grantPermissions;
    expect(made).toMatchObject({ user: null, group: { name: 'Viewers' } });
    expect(await seesProject(m.token)).toBe(true);
    ok(await t.gql(REVOKE, { h: { groupId }, s: { projectId: ws.projectId } }, { token: admin }));
    expect(await seesProject(m.token)).toBe(false);
  });

  it('a grant to a role reaches those it is assigned to', async () => {
    const m = await member();
    const roleId = ok(
      await t.gql<{ createRole: { id: string } }>(
        'mutation($o: ID!) { createRole(input: { organisationId: $o, name: "Project viewer" }) { id } }',
        { o: ws.organisationId },
        { token: admin },
      ),
    ).createRole.id;
    ok(await grant(admin, { holder: { roleId }, projectId: ws.projectId, keys: ['VIEW_PROJECT'] }));
    expect(await seesProject(m.token)).toBe(false);
    const ASSIGN =
      'mutation($r: ID!, $h: RoleHolderInput!) { assignRole(roleId: $r, holder: $h) { id } }';
    ok(await t.gql(ASSIGN, { r: roleId, h: { userId: m.id } }, { token: admin }));
    expect(await seesProject(m.token)).toBe(true);
    ok(
      await t.gql(
        'mutation($r: ID!, $h: RoleHolderInput!) { unassignRole(roleId: $r, holder: $h) { id } }',
        { r: roleId, h: { userId: m.id } },
        { token: admin },
      ),
    );
    expect(await seesProject(m.token)).toBe(false);
  });

  it('a project admin grants on their project, but not on the organisation nor another project', async () => {
    const projectAdmin = await member([{ keys: [], admin: true }]);
    const m = await member();
    ok(
      await grant(projectAdmin.token, {
        holder: { userId: m.id },
        projectId: ws.projectId,
        keys: ['VIEW_PROJECT'],
        admin: true,
      }),
    );
    expect(await seesProject(m.token)).toBe(true);
    ok(
      await grant(projectAdmin.token, {
        holder: { userId: m.id },
        environmentId: ws.environments.Production,
        keys: ['VIEW_ENVIRONMENT'],
      }),
    );
    expect(
      ok(
        await t.gql<{ permissionGrants: { nodes: unknown[] } }>(
          LIST,
          { p: ws.projectId },
          { token: projectAdmin.token },
        ),
      ).permissionGrants.nodes.length,
    ).toBeGreaterThan(0);

    const onOrg = await grant(projectAdmin.token, {
      holder: { userId: m.id },
      organisationId: ws.organisationId,
      keys: ['CREATE_PROJECT'],
    });
    expect(codeOf(onOrg)).toBe('FORBIDDEN');
    expect(permissionOf(onOrg)).toBe('ORGANISATION_ADMIN');

    // Another project they cannot see: as if it did not exist.
    const elsewhere = await grant(projectAdmin.token, {
      holder: { userId: m.id },
      projectId: otherProject,
      keys: ['VIEW_PROJECT'],
    });
    expect(codeOf(elsewhere)).toBe('NOT_FOUND');
    expect(fieldOf(elsewhere)).toBe('input.projectId');
    expect(await seesProject(m.token, otherProject)).toBe(false);

    // … and one they can see but do not administer: told what they need.
    const viewer = await member([{ keys: [], admin: true }]);
    ok(
      await grant(admin, {
        holder: { userId: viewer.id },
        projectId: otherProject,
        keys: ['VIEW_PROJECT'],
      }),
    );
    const notAdmin = await grant(viewer.token, {
      holder: { userId: m.id },
      projectId: otherProject,
      keys: ['VIEW_PROJECT'],
    });
    expect(codeOf(notAdmin)).toBe('FORBIDDEN');
    expect(permissionOf(notAdmin)).toBe('PROJECT_ADMIN');
  });

  it('an environment admin grants environment keys there, but cannot grant project keys', async () => {
    const dev = ws.environments.Development!;
    const envAdmin = await member([
      { keys: ['VIEW_PROJECT'] },
      { keys: [], environment: dev, admin: true },
    ]);
    const m = await member();
    const ok1 = ok(
      await grant(envAdmin.token, {
        holder: { userId: m.id },
        environmentId: dev,
        keys: ['VIEW_ENVIRONMENT', 'UPDATE_FEATURE_STATE'],
        admin: true,
      }),
    ).grantPermissions;
    expect(ok1).toMatchObject({ admin: true, keys: ['VIEW_ENVIRONMENT', 'UPDATE_FEATURE_STATE'] });

    const projectKeys = await grant(envAdmin.token, {
      holder: { userId: m.id },
      projectId: ws.projectId,
      keys: ['VIEW_PROJECT'],
    });
    expect(codeOf(projectKeys)).toBe('FORBIDDEN');
    expect(permissionOf(projectKeys)).toBe('PROJECT_ADMIN');
    expect(await seesProject(m.token)).toBe(false);

    const projectKeysOnEnv = await grant(envAdmin.token, {
      holder: { userId: m.id },
      environmentId: dev,
      keys: ['VIEW_PROJECT'],
    });
    expect(codeOf(projectKeysOnEnv)).toBe('BAD_USER_INPUT');
    expect(fieldOf(projectKeysOnEnv)).toBe('input.keys');

    // Another environment of the project, which they cannot see.
    const prod = await grant(envAdmin.token, {
      holder: { userId: m.id },
      environmentId: ws.environments.Production,
      keys: ['VIEW_ENVIRONMENT'],
    });
    expect(codeOf(prod)).toBe('NOT_FOUND');
  });

  it('a plain member cannot grant, nor list grants', async () => {
    const plain = await member([{ keys: ['VIEW_PROJECT', 'CREATE_FEATURE'] }]);
    const m = await member();
    const onProject = await grant(plain.token, {
      holder: { userId: m.id },
      projectId: ws.projectId,
      keys: ['VIEW_PROJECT'],
    });
    expect(codeOf(onProject)).toBe('FORBIDDEN');
    expect(permissionOf(onProject)).toBe('PROJECT_ADMIN');
    const onOrg = await grant(plain.token, {
      holder: { userId: plain.id },
      organisationId: ws.organisationId,
      keys: ['CREATE_PROJECT'],
    });
    expect(codeOf(onOrg)).toBe('FORBIDDEN');
    expect(permissionOf(onOrg)).toBe('ORGANISATION_ADMIN');
    const list = await t.gql(LIST, { p: ws.projectId }, { token: plain.token });
    expect(codeOf(list)).toBe('FORBIDDEN');
    const revoke = await t.gql(
      REVOKE,
      { h: { userId: plain.id }, s: { projectId: ws.projectId } },
      { token: plain.token },
    );
    expect(codeOf(revoke)).toBe('FORBIDDEN');
    expect(await em().count(PermissionGrant, { user: Number(m.id) })).toBe(0);
  });

  it('keys must belong to the scope, and admin is not an organisation grant', async () => {
    const m = await member();
    for (const [where, keys] of [
      [{ organisationId: ws.organisationId }, ['VIEW_PROJECT']],
      [{ projectId: ws.projectId }, ['VIEW_ENVIRONMENT']],
      [{ projectId: ws.projectId }, ['NOT_A_KEY']],
      [{ environmentId: ws.environments.Development }, ['CREATE_PROJECT']],
    ] as const) {
      const res = await grant(admin, { holder: { userId: m.id }, ...where, keys: [...keys] });
      expect(codeOf(res), JSON.stringify(where)).toBe('BAD_USER_INPUT');
      expect(fieldOf(res)).toBe('input.keys');
      expect(res.errors?.[0]?.message).toContain(keys[0]);
    }
    const adminOnOrg = await grant(admin, {
      holder: { userId: m.id },
      organisationId: ws.organisationId,
      keys: [],
      admin: true,
    });
    expect(codeOf(adminOnOrg)).toBe('BAD_USER_INPUT');
    expect(fieldOf(adminOnOrg)).toBe('input.admin');
    const twoScopes = await grant(admin, {
      holder: { userId: m.id },
      projectId: ws.projectId,
      environmentId: ws.environments.Development,
      keys: [],
    });
    expect(codeOf(twoScopes)).toBe('BAD_USER_INPUT');
    expect(await em().count(PermissionGrant, { user: Number(m.id) })).toBe(0);
  });

  it('the holder must belong to the organisation', async () => {
    const stranger = await t.createUser(`stranger${++seq}@grants.test`);
    const res = await grant(admin, {
      holder: { userId: String(stranger.user.id) },
      projectId: ws.projectId,
      keys: ['VIEW_PROJECT'],
    });
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(fieldOf(res)).toBe('input.holder.userId');

    // A group and a role of another organisation.
    const otherOrg = ok(
      await t.gql<{ organisations: { nodes: { id: string }[] } }>(
        '{ organisations { nodes { id } } }',
        {},
        { token: outsider },
      ),
    ).organisations.nodes[0]!.id;
    const foreignGroup = ok(
      await t.gql<{ createGroup: { id: string } }>(
        'mutation($o: ID!) { createGroup(input: { organisationId: $o, name: "Theirs" }) { id } }',
        { o: otherOrg },
        { token: outsider },
      ),
    ).createGroup.id;
    const foreignRole = ok(
      await t.gql<{ createRole: { id: string } }>(
        'mutation($o: ID!) { createRole(input: { organisationId: $o, name: "Theirs" }) { id } }',
        { o: otherOrg },
        { token: outsider },
      ),
    ).createRole.id;
    const g = await grant(admin, {
      holder: { groupId: foreignGroup },
      projectId: ws.projectId,
      keys: [],
    });
    expect(fieldOf(g)).toBe('input.holder.groupId');
    const r = await grant(admin, {
      holder: { roleId: foreignRole },
      projectId: ws.projectId,
      keys: [],
    });
    expect(fieldOf(r)).toBe('input.holder.roleId');
    const none = await grant(admin, { holder: {}, projectId: ws.projectId, keys: [] });
    expect(fieldOf(none)).toBe('input.holder');
    // A member who has left: no longer a holder one can grant to.
    const leaver = await member();
    await em()
      .getConnection()
      .execute('delete from organisation_memberships where user_id = ?', [Number(leaver.id)]);
    expect(
      fieldOf(
        await grant(admin, { holder: { userId: leaver.id }, projectId: ws.projectId, keys: [] }),
      ),
    ).toBe('input.holder.userId');
  });

  it('outsiders get NOT_FOUND, exactly as for ids that do not exist', async () => {
    const m = await member();
    const cases: [Record<string, string>, string][] = [
      [{ organisationId: ws.organisationId }, 'input.organisationId'],
      [{ projectId: ws.projectId }, 'input.projectId'],
      [{ environmentId: ws.environments.Development! }, 'input.environmentId'],
    ];
    for (const [where, field] of cases) {
      const key = Object.keys(where)[0]!;
      const theirs = await grant(outsider, { holder: { userId: m.id }, ...where, keys: [] });
      const unknown = await grant(outsider, {
        holder: { userId: m.id },
        [key]: '999999',
        keys: [],
      });
      expect(codeOf(theirs), field).toBe('NOT_FOUND');
      expect(fieldOf(theirs)).toBe(field);
      expect(theirs.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
      expect(theirs.errors?.[0]?.extensions).toEqual(unknown.errors?.[0]?.extensions);

      const listTheirs = await t.gql(
        LIST,
        { o: where.organisationId, p: where.projectId, e: where.environmentId },
        { token: outsider },
      );
      expect(codeOf(listTheirs)).toBe('NOT_FOUND');
      const revokeTheirs = await t.gql(
        REVOKE,
        { h: { userId: m.id }, s: where },
        { token: outsider },
      );
      const revokeUnknown = await t.gql(
        REVOKE,
        { h: { userId: m.id }, s: { [key]: '999999' } },
        { token: outsider },
      );
      expect(codeOf(revokeTheirs)).toBe('NOT_FOUND');
      expect(revokeTheirs.errors?.[0]?.extensions).toEqual(revokeUnknown.errors?.[0]?.extensions);
    }
    expect(await em().count(PermissionGrant, { user: Number(m.id) })).toBe(0);
  });

  it('a record reached through a visible one is checked on its own', async () => {
    // The environment and its states are visible to the member (VIEW_ENVIRONMENT); their
    // project and features are not (no VIEW_PROJECT): reached through them, they read as
    // null, while the admin reads the same query whole.
    ok(
      await t.gql(
        'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "reached_through" }) { id } }',
        { p: ws.projectId },
        { token: admin },
      ),
    );
    const env = ws.environments.Production!;
    const m = await member([{ environment: env, keys: ['VIEW_ENVIRONMENT'] }]);
    const QUERY =
      'query($e: ID!) { environment(id: $e) { name project { name } } featureStates(environmentId: $e, first: 5) { nodes { enabled feature { name } } } }';
    type Answer = {
      environment: { name: string; project: { name: string } | null };
      featureStates: { nodes: { enabled: boolean; feature: { name: string } | null }[] };
    };

    const mine = ok(await t.gql<Answer>(QUERY, { e: env }, { token: m.token }));
    expect(mine.environment).toEqual({ name: 'Production', project: null });
    expect(mine.featureStates.nodes.length).toBeGreaterThan(0);
    expect(mine.featureStates.nodes.every((n) => n.feature === null)).toBe(true);

    const theirs = ok(await t.gql<Answer>(QUERY, { e: env }, { token: admin }));
    expect(theirs.environment.project).not.toBeNull();
    expect(theirs.featureStates.nodes.map((n) => n.feature?.name)).toContain('reached_through');
  });

  it('an organisation grant of MANAGE_USER_GROUPS is an organisation key', async () => {
    const m = await member();
    const made = ok(
      await grant(admin, {
        holder: { userId: m.id },
        organisationId: ws.organisationId,
        keys: ['MANAGE_USER_GROUPS', 'CREATE_PROJECT'],
      }),
    ).grantPermissions;
    expect(made).toMatchObject({ scope: 'ORGANISATION', projectId: null, admin: false });
    // Organisation keys are not admin: still no project to see.
    expect(await seesProject(m.token)).toBe(false);
    // CREATE_PROJECT lets them create one and administer it, as its creator, from the same
    // answer on (the request's permissions are read again after the creator's grant).
    const created = ok(
      await t.gql<{
        createProject: { id: string; name: string; environments: { nodes: unknown[] } };
      }>(
        'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Theirs" }) { id name environments { nodes { id } } } }',
        { o: ws.organisationId },
        { token: m.token },
      ),
    ).createProject;
    expect(created).toMatchObject({ name: 'Theirs', environments: { nodes: [] } });
    expect(await seesProject(m.token, created.id)).toBe(true);
    const env = ok(
      await t.gql<{ createEnvironment: { name: string; apiKey: string } }>(
        'mutation($p: ID!) { createEnvironment(input: { projectId: $p, name: "Mine" }) { name apiKey } }',
        { p: created.id },
        { token: m.token },
      ),
    ).createEnvironment;
    expect(env.name).toBe('Mine');
  });
});
