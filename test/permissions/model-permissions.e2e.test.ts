import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserGroup, UserGroupMembership } from '../../src/groups/user-group.entity';
import { Organisation } from '../../src/organisations/organisation.entity';
import { ModelPermissionGrant } from '../../src/permissions/permission-grant.entity';
import type { User } from '../../src/users/user.entity';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * Django-style model permissions guard instance-wide records: the `users` list needs
 * `view_user`, held directly or through an instance group. Staff status alone, other
 * codenames, and organisation groups do not give it; superusers hold every codename.
 */
describe('model permissions: the instance-wide users list', () => {
  let t: TestApp;
  const USERS = '{ users(first: 100) { nodes { email } } }';

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function grantUser(user: User, codename: string): Promise<void> {
    const em = t.app.db.orm.em.fork();
    em.create(ModelPermissionGrant, { user: user.id, codename });
    await em.flush();
  }

  async function grantViaGroup(user: User, codename: string, instanceWide: boolean) {
    const em = t.app.db.orm.em.fork();
    const organisation = instanceWide ? null : em.create(Organisation, { name: 'Org' });
    const group = em.create(UserGroup, {
      name: `viewers-${user.id}`,
      organisation,
    });
    em.create(UserGroupMembership, { group, user: user.id });
    em.create(ModelPermissionGrant, { group, codename });
    await em.flush();
  }

  it('an anonymous caller is UNAUTHENTICATED', async () => {
    const res = await t.gql(USERS);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.data).toBeNull();
  });

  it('a plain user, and staff without the codename, are FORBIDDEN naming view_user', async () => {
    const plain = await t.createUser('plain@example.com');
    const staff = await t.createUser('staff@example.com', { isStaff: true });
    for (const token of [plain.token, staff.token]) {
      const res = await t.gql(USERS, {}, { token });
      expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(res.errors?.[0]?.message).toContain('view_user');
    }
  });

  it('another codename does not stand in for view_user', async () => {
    const { user, token } = await t.createUser('changer@example.com');
    await grantUser(user, 'change_user');
    const res = await t.gql(USERS, {}, { token });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('view_user held directly lists every user', async () => {
    const { user, token } = await t.createUser('viewer@example.com', { isStaff: true });
    await grantUser(user, 'view_user');
    const res = await t.gql<{ users: { nodes: { email: string }[] } }>(USERS, {}, { token });
    expect(res.errors).toBeUndefined();
    const emails = res.data!.users.nodes.map((u) => u.email);
    expect(emails).toEqual(expect.arrayContaining(['plain@example.com', 'viewer@example.com']));
  });

  it('view_user through an instance group counts; through an organisation group it does not', async () => {
    const viaInstance = await t.createUser('group-viewer@example.com');
    await grantViaGroup(viaInstance.user, 'view_user', true);
    const ok = await t.gql<{ users: { nodes: { email: string | null }[] } }>(
      USERS,
      {},
      {
        token: viaInstance.token,
      },
    );
    expect(ok.errors).toBeUndefined();
    // Holding view_user also shows the email addresses, which are hidden from other users.
    expect(ok.data?.users.nodes.map((u) => u.email)).toContain('plain@example.com');

    const viaOrg = await t.createUser('org-group@example.com');
    await grantViaGroup(viaOrg.user, 'view_user', false);
    const refused = await t.gql(USERS, {}, { token: viaOrg.token });
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('a superuser holds every codename; search matches literally and pages', async () => {
    const { token } = await t.createUser('root@example.com', { isSuperuser: true });
    await t.createUser('percent%sign@example.com');
    const search = async (term: string, first = 50, after: string | null = null) =>
      t.gql<{
        users: { nodes: { email: string }[]; totalCount: number; pageInfo: { endCursor: string } };
      }>(
        'query($s: String, $f: Int!, $a: String) { users(filter: { search: $s }, first: $f, after: $a) { nodes { email } totalCount pageInfo { endCursor } } }',
        { s: term, f: first, a: after },
        { token },
      );
    const literal = await search('%');
    expect(literal.data?.users.nodes.map((u) => u.email)).toEqual(['percent%sign@example.com']);
    const ci = await search('VIEWER');
    expect(ci.data?.users.nodes.map((u) => u.email).sort()).toEqual([
      'group-viewer@example.com',
      'viewer@example.com',
    ]);
    const first = await search('example.com', 2);
    const second = await search('example.com', 2, first.data?.users.pageInfo.endCursor);
    expect(first.data?.users.nodes).toHaveLength(2);
    expect(second.data?.users.nodes).toHaveLength(2);
    expect(second.data?.users.totalCount).toBe(first.data?.users.totalCount);
    expect(second.data?.users.nodes[0]?.email).not.toBe(first.data?.users.nodes[0]?.email);
  });

  it('a page size out of range is BAD_USER_INPUT naming the argument', async () => {
    const { token } = await t.createUser('root2@example.com', { isSuperuser: true });
    const res = await t.gql('{ users(first: 0) { nodes { email } } }', {}, { token });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe('first');
  });
});
