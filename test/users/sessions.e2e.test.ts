import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditObjectType } from '../../src/audit/audit-log.entity';
import { sha256Hex } from '../../src/shared/ids';
import { codeOf, ok } from '../support/fixtures';
import { createTestApp, PASSWORD, type TestApp } from '../support/test-app';

interface SessionRow {
  id: string;
  kind: string;
  current: boolean;
  userAgent: string | null;
}

const SESSIONS =
  '{ mySessions { nodes { id kind current userAgent createdAt lastSeenAt expiresAt ip } } }';

/** A user's own sessions: list, revoke one, log out everywhere, change the password. */
describe('sessions', () => {
  let t: TestApp;
  const email = 'sessions@example.com';

  async function login(password = PASSWORD, userAgent = 'test-agent'): Promise<string> {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': userAgent },
      body: JSON.stringify({
        query:
          'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
        variables: { e: email, p: password },
      }),
    });
    const body = (await res.json()) as { data?: { login: { token: string } } };
    if (!body.data) throw new Error(`login failed: ${JSON.stringify(body)}`);
    return body.data.login.token;
  }
  async function cookieLogin(): Promise<string> {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'a-browser' },
      body: JSON.stringify({
        query:
          'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: COOKIE }) { user { id } } }',
        variables: { e: email, p: PASSWORD },
      }),
    });
    return res.headers.get('set-cookie')!.split(';')[0]!;
  }
  const works = async (opts: { token?: string; cookie?: string }) =>
    !(await t.gql('{ me { email } }', {}, opts)).errors;
  const sessions = async (token: string) =>
    ok(await t.gql<{ mySessions: { nodes: SessionRow[] } }>(SESSIONS, {}, { token })).mySessions
      .nodes;

  beforeAll(async () => {
    t = await createTestApp();
    await t.createUser(email); // (signs in once: one token)
  });
  afterAll(() => t?.close());

  it('lists your sessions and tokens, marking the current one, never by their stored hash', async () => {
    const a = await login(PASSWORD, 'agent-a');
    const b = await login(PASSWORD, 'agent-b');
    const cookie = await cookieLogin();
    const list = await sessions(a);
    expect(list).toHaveLength(4);
    expect(list.filter((s) => s.current).map((s) => s.userAgent)).toEqual(['agent-a']);
    expect(list.map((s) => s.kind).sort()).toEqual(['COOKIE', 'TOKEN', 'TOKEN', 'TOKEN']);
    for (const s of list) {
      expect(s.id).not.toBe(sha256Hex(a));
      expect(s.id).not.toBe(sha256Hex(b));
      expect(sha256Hex(a).startsWith(s.id)).toBe(false);
    }
    expect(await works({ cookie })).toBe(true);
    // Someone else sees only their own.
    const other = await t.createUser('sessions-other@example.com');
    expect((await sessions(other.token)).map((s) => s.current)).toEqual([true]);
  });

  it('revokes one session by id; another user’s ids are not yours to revoke', async () => {
    const keep = await login(PASSWORD, 'keeper');
    const doomed = await login(PASSWORD, 'doomed');
    const id = (await sessions(keep)).find((s) => s.userAgent === 'doomed')!.id;
    const res = await t.gql<{ revokeSession: boolean }>(
      'mutation($i: ID!) { revokeSession(id: $i) }',
      { i: id },
      { token: keep },
    );
    expect(ok(res).revokeSession).toBe(true);
    expect(await works({ token: doomed })).toBe(false);
    expect(await works({ token: keep })).toBe(true);

    const other = await t.createUser('sessions-third@example.com');
    const theirs = (await sessions(other.token))[0]!.id;
    const refused = await t.gql(
      'mutation($i: ID!) { revokeSession(id: $i) }',
      { i: theirs },
      {
        token: keep,
      },
    );
    expect(codeOf(refused)).toBe('BAD_USER_INPUT');
    expect(await works({ token: other.token })).toBe(true);
  });

  it('logs out everywhere, keeping the current session when asked', async () => {
    const current = await login();
    const elsewhere = await login();
    const cookie = await cookieLogin();
    const ended = ok(
      await t.gql<{ logoutEverywhere: number }>(
        'mutation { logoutEverywhere(keepCurrent: true) }',
        {},
        { token: current },
      ),
    ).logoutEverywhere;
    expect(ended).toBeGreaterThanOrEqual(2);
    expect(await works({ token: elsewhere })).toBe(false);
    expect(await works({ cookie })).toBe(false);
    expect(await works({ token: current })).toBe(true);
    expect((await sessions(current)).length).toBe(1);

    ok(await t.gql('mutation { logoutEverywhere }', {}, { token: current }));
    expect(await works({ token: current })).toBe(false);
  });

  it('changing the password needs the current one and ends every other session', async () => {
    const current = await login();
    const other = await login();
    const wrong = await t.gql(
      'mutation($i: ChangePasswordInput!) { changePassword(input: $i) }',
      { i: { currentPassword: 'not it at all', newPassword: 'a brand new password' } },
      { token: current },
    );
    expect(codeOf(wrong)).toBe('BAD_USER_INPUT');
    expect(await works({ token: other })).toBe(true);
    const short = await t.gql(
      'mutation($i: ChangePasswordInput!) { changePassword(input: $i) }',
      { i: { currentPassword: PASSWORD, newPassword: 'short' } },
      { token: current },
    );
    expect(codeOf(short)).toBe('BAD_USER_INPUT');

    ok(
      await t.gql(
        'mutation($i: ChangePasswordInput!) { changePassword(input: $i) }',
        { i: { currentPassword: PASSWORD, newPassword: 'a brand new password' } },
        { token: current },
      ),
    );
    expect(await works({ token: other })).toBe(false);
    expect(await works({ token: current })).toBe(true);
    await expect(login(PASSWORD)).rejects.toThrow();
    expect(await works({ token: await login('a brand new password') })).toBe(true);
    const audit = await t.app.db.orm.em
      .fork()
      .find(AuditLog, { relatedObjectType: AuditObjectType.USER });
    expect(audit.map((a) => a.log)).toContain(`Password changed: ${email}`);
    expect(JSON.stringify(audit)).not.toContain('a brand new password');
  });
});
