import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelPermissionGrant } from '../../src/permissions/permission-grant.entity';
import { codeOf, createWorkspace, ok } from '../support/fixtures';
import { createTestApp, type TestApp } from '../support/test-app';

const ADMIN_MODELS = '{ adminModels { model actions } }';
const GRANT = 'mutation($i: ModelPermissionInput!) { grantModelPermission(input: $i) }';
const REVOKE = 'mutation($i: ModelPermissionInput!) { revokeModelPermission(input: $i) }';
const HOLDS = 'query($u: ID!) { modelPermissionsOf(userId: $u) }';
const UPDATE =
  'mutation($id: ID!, $i: UpdateUserInput!) { updateUser(id: $id, input: $i) { id firstName isStaff isActive } }';

describe('model permissions: what the admin site shows and who may manage users', () => {
  let t: TestApp;
  let root: string;
  let manager: { id: number; token: string };
  let plain: { id: number; token: string };

  beforeAll(async () => {
    t = await createTestApp();
    root = (await t.createUser('root@models.test', { isSuperuser: true })).token;
    const m = await t.createUser('manager@models.test');
    manager = { id: m.user.id, token: m.token };
    const p = await t.createUser('plain@models.test');
    plain = { id: p.user.id, token: p.token };
    const em = t.app.db.orm.em.fork();
    for (const codename of ['view_user', 'change_user'])
      em.create(ModelPermissionGrant, { user: manager.id, codename });
    await em.flush();
  });
  afterAll(() => t.close());

  it('lists the models each caller may see, with the actions (module visibility)', async () => {
    expect(ok(await t.gql(ADMIN_MODELS, {}, { token: plain.token }))).toEqual({ adminModels: [] });
    expect(ok(await t.gql(ADMIN_MODELS, {}, { token: manager.token }))).toEqual({
      adminModels: [{ model: 'user', actions: ['view', 'change'] }],
    });
    const all = ok(
      await t.gql<{ adminModels: { model: string; actions: string[] }[] }>(
        ADMIN_MODELS,
        {},
        {
          token: root,
        },
      ),
    ).adminModels;
    expect(all.map((m) => m.model)).toEqual([
      'user',
      'organisation',
      'project',
      'environment',
      'auditlog',
      'usergroup',
      'role',
    ]);
    for (const m of all) expect(m.actions).toEqual(['view', 'add', 'change', 'delete']);
    expect(codeOf(await t.gql(ADMIN_MODELS))).toBe('UNAUTHENTICATED');
  });

  it('grants only what the granter holds, to users, with change_user', async () => {
    const target = await t.createUser('target@models.test');
    const vars = (codename: string) => ({ i: { userId: String(target.user.id), codename } });

    const refused = await t.gql(GRANT, vars('view_user'), { token: plain.token });
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.extensions?.permission).toBe('change_user');

    ok(await t.gql(GRANT, vars('view_user'), { token: manager.token }));
    ok(await t.gql(GRANT, vars('view_user'), { token: manager.token })); // once is enough
    const more = await t.gql(GRANT, vars('change_organisation'), { token: manager.token });
    expect(codeOf(more)).toBe('FORBIDDEN');
    expect(more.errors?.[0]?.extensions).toMatchObject({
      permission: 'change_organisation',
      field: 'input.codename',
    });
    expect(codeOf(await t.gql(GRANT, vars('fly_to_the_moon'), { token: root }))).toBe(
      'BAD_USER_INPUT',
    );
    expect(codeOf(await t.gql(GRANT, { i: { codename: 'view_user' } }, { token: root }))).toBe(
      'BAD_USER_INPUT',
    );
    ok(await t.gql(GRANT, vars('change_organisation'), { token: root }));

    const holds = await t.gql<{ modelPermissionsOf: string[] }>(
      HOLDS,
      { u: String(target.user.id) },
      { token: manager.token },
    );
    expect(ok(holds).modelPermissionsOf).toEqual(['change_organisation', 'view_user']);
    expect(await t.app.db.orm.em.fork().count(ModelPermissionGrant, { user: target.user.id })).toBe(
      2,
    );
    // The holder now sees the module.
    expect(ok(await t.gql(ADMIN_MODELS, {}, { token: target.token }))).toEqual({
      adminModels: [
        { model: 'user', actions: ['view'] },
        { model: 'organisation', actions: ['change'] },
      ],
    });

    // Revoking follows the same rule: not what the manager does not hold.
    expect(codeOf(await t.gql(REVOKE, vars('change_organisation'), { token: manager.token }))).toBe(
      'FORBIDDEN',
    );
    ok(await t.gql(REVOKE, vars('view_user'), { token: manager.token }));
    expect(
      ok(
        await t.gql<{ modelPermissionsOf: string[] }>(
          HOLDS,
          { u: String(target.user.id) },
          {
            token: root,
          },
        ),
      ).modelPermissionsOf,
    ).toEqual(['change_organisation']);
  });

  it('lets change_user holders edit users, but only superusers set staff and superuser flags', async () => {
    const target = await t.createUser('edited@models.test');
    const id = String(target.user.id);
    expect(codeOf(await t.gql(UPDATE, { id, i: { firstName: 'X' } }, { token: plain.token }))).toBe(
      'FORBIDDEN',
    );
    const renamed = ok(
      await t.gql<{ updateUser: { firstName: string } }>(
        UPDATE,
        { id, i: { firstName: '  Ada ' } },
        { token: manager.token },
      ),
    );
    expect(renamed.updateUser.firstName).toBe('Ada');

    const staff = await t.gql(
      UPDATE,
      { id, i: { firstName: 'Not applied', isStaff: true } },
      { token: manager.token },
    );
    expect(codeOf(staff)).toBe('FORBIDDEN');
    expect(staff.errors?.[0]?.extensions?.field).toBe('input.isStaff');
    expect(staff.errors?.[0]?.message).toContain('input.isStaff');
    const [row] = await t.app.db.orm.em
      .getConnection()
      .execute<{ first_name: string; is_staff: boolean }[]>(
        'select first_name, is_staff from users where id = ?',
        [target.user.id],
      );
    expect(row).toEqual({ first_name: 'Ada', is_staff: false });

    ok(await t.gql(UPDATE, { id, i: { isStaff: true } }, { token: root }));

    // Deactivating signs the user out everywhere.
    ok(await t.gql(UPDATE, { id, i: { isActive: false } }, { token: manager.token }));
    expect(codeOf(await t.gql('{ me { id } }', {}, { token: target.token }))).toBe(
      'UNAUTHENTICATED',
    );
    const self = await t.gql(
      UPDATE,
      { id: String(manager.id), i: { isActive: false } },
      { token: manager.token },
    );
    expect(codeOf(self)).toBe('FORBIDDEN');
    expect(
      codeOf(await t.gql(UPDATE, { id: '999999', i: { firstName: 'x' } }, { token: root })),
    ).toBe('NOT_FOUND');
  });

  it('shows every organisation to view_organisation, and every audit record to view_auditlog', async () => {
    const owner = await t.createUser('owner@models.test');
    await createWorkspace(t, owner.token, { organisation: 'Somebody else’s' });
    const auditor = await t.createUser('auditor@models.test');
    const orgs = '{ instanceOrganisations(filter: { search: "else" }) { nodes { name } } }';
    const logs =
      '{ instanceAuditLogs(first: 50) { totalCount edges { node { log relatedObjectType } } } }';
    expect(codeOf(await t.gql(orgs, {}, { token: auditor.token }))).toBe('FORBIDDEN');
    expect(codeOf(await t.gql(logs, {}, { token: auditor.token }))).toBe('FORBIDDEN');

    const em = t.app.db.orm.em.fork();
    for (const codename of ['view_organisation', 'view_auditlog'])
      em.create(ModelPermissionGrant, { user: auditor.user.id, codename });
    await em.flush();
    expect(ok(await t.gql(orgs, {}, { token: auditor.token }))).toEqual({
      instanceOrganisations: { nodes: [{ name: 'Somebody else’s' }] },
    });
    // The organisations, not their content: projects stay behind their own permissions.
    const content = await t.gql(
      '{ instanceOrganisations(filter: { search: "else" }) { nodes { name projects { nodes { id } } } } }',
      {},
      { token: auditor.token },
    );
    expect(content.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      permission: 'ORGANISATION_MEMBER',
    });
    const page = ok(
      await t.gql<{
        instanceAuditLogs: {
          totalCount: number;
          edges: { node: { log: string; relatedObjectType: string } }[];
        };
      }>(logs, {}, { token: auditor.token }),
    ).instanceAuditLogs;
    const seen = page.edges.map((e) => e.node.log);
    expect(seen).toContain('New project created: Web');
    // Records of no organisation (user accounts) too.
    expect(page.edges.some((e) => e.node.relatedObjectType === 'USER')).toBe(true);
    expect(page.totalCount).toBeGreaterThanOrEqual(page.edges.length);
  });
});
