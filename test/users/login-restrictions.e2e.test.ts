import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserSession } from '../../src/users/user-session.entity';
import { codeOf, createWorkspace, ok } from '../support/fixtures';
import {
  createTestApp,
  type GqlResult,
  OrganisationRole,
  PASSWORD,
  type TestApp,
} from '../support/test-app';

const SET_METHODS =
  'mutation($o: ID!, $m: [LoginMethod!]) { updateOrganisation(id: $o, input: { allowedLoginMethods: $m }) { allowedLoginMethods } }';

describe('organisation login restrictions', () => {
  let t: TestApp;
  let ownerToken: string;
  let orgId: string;
  let adminKey: string;

  beforeAll(async () => {
    t = await createTestApp();
    ownerToken = (await t.createUser('owner-lr@example.com')).token;
    orgId = (await createWorkspace(t, ownerToken, { organisation: 'Google shop' })).organisationId;
    adminKey = ok(
      await t.gql<{ createOrganisationApiKey: { key: string } }>(
        'mutation($o: ID!) { createOrganisationApiKey(input: { organisationId: $o, name: "terraform" }) { key } }',
        { o: orgId },
        { token: ownerToken },
      ),
    ).createOrganisationApiKey.key;
  });
  afterAll(() => t.close());

  /** A GraphQL call with an organisation API key. */
  async function withKey(query: string, variables: Record<string, unknown>): Promise<GqlResult> {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Api-Key ${adminKey}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: unknown; errors?: GqlResult['errors'] };
    return {
      status: res.status,
      data: (body.data ?? null) as never,
      errors: body.errors,
      headers: res.headers,
    };
  }

  const login = (email: string, mode: 'TOKEN' | 'COOKIE' = 'TOKEN') =>
    t.gql<{ login: { token: string | null } }>(
      `mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: ${mode} }) { token } }`,
      { e: email, p: PASSWORD },
    );
  const me = (opts: { token?: string; cookie?: string }) =>
    t.gql<{ me: { email: string } }>('{ me { email } }', {}, opts);

  it('refuses a rule that would end the caller’s own session', async () => {
    const res = await t.gql(SET_METHODS, { o: orgId, m: ['GOOGLE'] }, { token: ownerToken });
    expect(codeOf(res)).toBe('FORBIDDEN');
    expect(res.errors?.[0]?.extensions).toMatchObject({
      field: 'input.allowedLoginMethods',
      reason: 'LOGIN_METHOD_NOT_ALLOWED',
    });
    const kept = ok(
      await t.gql<{ updateOrganisation: { allowedLoginMethods: string[] } }>(
        SET_METHODS,
        { o: orgId, m: ['PASSWORD', 'GOOGLE', 'PASSWORD'] },
        { token: ownerToken },
      ),
    );
    expect(kept.updateOrganisation.allowedLoginMethods).toEqual(['GOOGLE', 'PASSWORD']);
  });

  it('ends members’ sessions opened another way, and refuses such sign-ins', async () => {
    const { user: member, token } = await t.createUser('member-lr@example.com');
    await t.addMember(member, orgId, OrganisationRole.USER);
    const cookieLogin = await login('member-lr@example.com', 'COOKIE');
    const cookie = cookieLogin.headers.get('set-cookie')!.split(';')[0]!;
    expect(ok(await me({ token })).me.email).toBe('member-lr@example.com');
    expect(ok(await me({ cookie })).me.email).toBe('member-lr@example.com');
    const { token: outsider } = await t.createUser('outsider-lr@example.com');

    // An organisation API key is not bound by the rule, so it may set one that shuts out passwords.
    ok(await withKey(SET_METHODS, { o: orgId, m: ['GOOGLE'] }));

    for (const opts of [{ token }, { cookie }]) {
      const refused = await me(opts);
      expect(refused.status).toBe(401);
      expect(codeOf(refused)).toBe('UNAUTHENTICATED');
      expect(refused.errors?.[0]?.extensions).toMatchObject({
        reason: 'LOGIN_METHOD_NOT_ALLOWED',
        allowedMethods: ['GOOGLE'],
      });
    }
    // The sessions are gone, not merely refused.
    const left = await t.app.db.orm.em.fork().count(UserSession, { user: member.id });
    expect(left).toBe(0);

    const again = await login('member-lr@example.com');
    expect(codeOf(again)).toBe('FORBIDDEN');
    expect(again.errors?.[0]?.extensions?.reason).toBe('LOGIN_METHOD_NOT_ALLOWED');
    expect(again.errors?.[0]?.message).toContain('use GOOGLE');

    // Users outside the organisation are not affected.
    expect(ok(await me({ token: outsider })).me.email).toBe('outsider-lr@example.com');
    expect(ok(await login('outsider-lr@example.com')).login.token).toBeTruthy();

    // Lifting the rule lets the member sign in again (the ended sessions stay ended).
    ok(await withKey(SET_METHODS, { o: orgId, m: [] }));
    expect(codeOf(await me({ token }))).toBe('UNAUTHENTICATED');
    expect(ok(await login('member-lr@example.com')).login.token).toBeTruthy();
  });

  it('combines the rules of every organisation a user belongs to', async () => {
    const { user, token } = await t.createUser('two-orgs@example.com');
    await t.addMember(user, orgId, OrganisationRole.USER);
    const other = await createWorkspace(t, ownerToken, { organisation: 'GitHub shop' });
    await t.addMember(user, other.organisationId, OrganisationRole.USER);
    ok(await withKey(SET_METHODS, { o: orgId, m: ['GOOGLE', 'PASSWORD'] }));
    ok(
      await t.gql(
        SET_METHODS,
        { o: other.organisationId, m: ['PASSWORD', 'GITHUB'] },
        {
          token: ownerToken,
        },
      ),
    );
    // Both allow PASSWORD: still fine.
    expect(ok(await me({ token })).me.email).toBe('two-orgs@example.com');

    ok(await withKey(SET_METHODS, { o: orgId, m: ['GOOGLE'] }));
    const refused = await login('two-orgs@example.com');
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(refused.errors?.[0]?.extensions?.allowedMethods).toEqual([]);
    expect(refused.errors?.[0]?.message).toContain('no way to sign in');
    ok(await withKey(SET_METHODS, { o: orgId, m: [] }));
  });

  it('shows how each session was opened', async () => {
    const { token } = await t.createUser('sessions-lr@example.com');
    const sessions = ok(
      await t.gql<{ mySessions: { nodes: { loginMethod: string; current: boolean }[] } }>(
        '{ mySessions { nodes { loginMethod current } } }',
        {},
        { token },
      ),
    ).mySessions.nodes;
    expect(sessions).toEqual([{ loginMethod: 'PASSWORD', current: true }]);
  });
});
