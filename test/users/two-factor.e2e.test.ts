import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditObjectType } from '../../src/audit/audit-log.entity';
import { BackupCode } from '../../src/users/backup-code.entity';
import { codeOf, createWorkspace, ok } from '../support/fixtures';
import { createTestApp, OrganisationRole, PASSWORD, type TestApp } from '../support/test-app';
import { TestAuthenticator } from '../support/totp';

const LOGIN =
  'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token twoFactorChallenge user { email } } }';
const COMPLETE =
  'mutation($c: String!, $code: String!) { completeTwoFactorLogin(input: { challenge: $c, code: $code, mode: TOKEN }) { token user { email twoFactorEnabled } } }';

interface LoginResult {
  login: {
    token: string | null;
    twoFactorChallenge: string | null;
    user: { email: string } | null;
  };
}
interface CompleteResult {
  completeTwoFactorLogin: { token: string; user: { email: string; twoFactorEnabled: boolean } };
}

describe('two-factor sign-in (TOTP and backup codes)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const loginAs = (email: string) => t.gql<LoginResult>(LOGIN, { e: email, p: PASSWORD });
  const complete = (challenge: string, code: string) =>
    t.gql<CompleteResult>(COMPLETE, { c: challenge, code });
  const me = (token: string) => t.gql<{ me: { email: string } }>('{ me { email } }', {}, { token });

  /** Turns 2FA on for a fresh user through GraphQL; returns their app and backup codes. */
  async function withTwoFactor(email: string) {
    const { user, token } = await t.createUser(email);
    const setup = ok(
      await t.gql<{ beginTwoFactorSetup: { manualEntryKey: string; otpauthUri: string } }>(
        'mutation { beginTwoFactorSetup { manualEntryKey otpauthUri } }',
        {},
        { token },
      ),
    ).beginTwoFactorSetup;
    const app = new TestAuthenticator(setup.manualEntryKey);
    const confirmed = ok(
      await t.gql<{ confirmTwoFactor: { backupCodes: string[] } }>(
        'mutation($c: String!) { confirmTwoFactor(code: $c) { backupCodes } }',
        { c: await app.next() },
        { token },
      ),
    ).confirmTwoFactor;
    return { user, token, app, setup, backupCodes: confirmed.backupCodes };
  }

  it('sets up with a sealed seed, confirms with a code, and ends the other sessions', async () => {
    const { user, token } = await t.createUser('setup@example.com');
    const other = ok(await loginAs('setup@example.com')).login.token!;
    const setup = ok(
      await t.gql<{ beginTwoFactorSetup: { manualEntryKey: string; otpauthUri: string } }>(
        'mutation { beginTwoFactorSetup { manualEntryKey otpauthUri } }',
        {},
        { token },
      ),
    ).beginTwoFactorSetup;
    expect(setup.manualEntryKey).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(setup.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Flagward:setup@example.com');
    expect(uri.searchParams.get('secret')).toBe(setup.manualEntryKey);
    expect(uri.searchParams.get('issuer')).toBe('Flagward');

    // Stored sealed, never as the seed itself.
    const [row] = await t.app.db.orm.em
      .getConnection()
      .execute<{ totp_sealed: string; totp_enabled_at: Date | null }[]>(
        'select totp_sealed, totp_enabled_at from users where id = ?',
        [user.id],
      );
    expect(row!.totp_sealed).toMatch(/^v1\./);
    expect(row!.totp_sealed).not.toContain(setup.manualEntryKey);
    expect(row!.totp_enabled_at).toBeNull();

    // Until confirmed, sign-in does not ask for a code.
    expect(ok(await loginAs('setup@example.com')).login.twoFactorChallenge).toBeNull();

    const wrong = await t.gql(
      'mutation { confirmTwoFactor(code: "000000") { backupCodes } }',
      {},
      { token },
    );
    expect(codeOf(wrong)).toBe('BAD_USER_INPUT');

    const app = new TestAuthenticator(setup.manualEntryKey);
    const { backupCodes } = ok(
      await t.gql<{ confirmTwoFactor: { backupCodes: string[] } }>(
        'mutation($c: String!) { confirmTwoFactor(code: $c) { backupCodes } }',
        { c: await app.next() },
        { token },
      ),
    ).confirmTwoFactor;
    expect(backupCodes).toHaveLength(10);
    for (const code of backupCodes) expect(code).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    expect(new Set(backupCodes).size).toBe(10);
    // Backup codes are stored hashed.
    const stored = await t.app.db.orm.em.fork().find(BackupCode, { user: user.id });
    expect(stored).toHaveLength(10);
    for (const s of stored) expect(backupCodes.join()).not.toContain(s.codeHash.slice(0, 8));

    expect(ok(await me(token)).me.email).toBe('setup@example.com');
    expect(codeOf(await me(other))).toBe('UNAUTHENTICATED');
    const status = ok(
      await t.gql<{ twoFactorStatus: { enabled: boolean; unusedBackupCodes: number } }>(
        '{ twoFactorStatus { enabled unusedBackupCodes } me { twoFactorEnabled } }',
        {},
        { token },
      ),
    );
    expect(status.twoFactorStatus).toEqual({ enabled: true, unusedBackupCodes: 10 });

    const audit = await t.app.db.orm.em.fork().find(AuditLog, {
      relatedObjectType: AuditObjectType.USER,
      relatedObjectId: String(user.id),
    });
    expect(audit.map((a) => a.log)).toContain('Two-factor sign-in turned on: setup@example.com');
    expect(JSON.stringify(audit)).not.toContain(setup.manualEntryKey);
  });

  it('asks for a code at sign-in; a code is good once; backup codes are single-use', async () => {
    const { app, backupCodes } = await withTwoFactor('login@example.com');
    const first = ok(await loginAs('login@example.com')).login;
    expect(first).toMatchObject({ token: null, user: null });
    expect(first.twoFactorChallenge).toBeTruthy();

    expect(codeOf(await complete(first.twoFactorChallenge!, '123456'))).toBe('UNAUTHENTICATED');
    expect(codeOf(await complete('v1.forged', '123456'))).toBe('UNAUTHENTICATED');

    const done = ok(
      await complete(first.twoFactorChallenge!, await app.next()),
    ).completeTwoFactorLogin;
    expect(done.user).toEqual({ email: 'login@example.com', twoFactorEnabled: true });
    expect(ok(await me(done.token)).me.email).toBe('login@example.com');

    // The same code again (a replay) is refused, on a new challenge too.
    const second = ok(await loginAs('login@example.com')).login.twoFactorChallenge!;
    expect(codeOf(await complete(second, await app.last()))).toBe('UNAUTHENTICATED');

    const withBackup = ok(
      await complete(second, backupCodes[0]!.toUpperCase()),
    ).completeTwoFactorLogin;
    expect(ok(await me(withBackup.token)).me.email).toBe('login@example.com');
    const third = ok(await loginAs('login@example.com')).login.twoFactorChallenge!;
    expect(codeOf(await complete(third, backupCodes[0]!))).toBe('UNAUTHENTICATED');
    const status = ok(
      await t.gql<{ twoFactorStatus: { unusedBackupCodes: number } }>(
        '{ twoFactorStatus { unusedBackupCodes } }',
        {},
        { token: withBackup.token },
      ),
    );
    expect(status.twoFactorStatus.unusedBackupCodes).toBe(9);
  });

  it('counts wrong codes as failed sign-ins and blocks after the limit', async () => {
    const { app } = await withTwoFactor('guess@example.com');
    const challenge = ok(await loginAs('guess@example.com')).login.twoFactorChallenge!;
    for (let i = 0; i < 5; i++) {
      expect(codeOf(await complete(challenge, String(100000 + i)))).toBe('UNAUTHENTICATED');
    }
    const blocked = await complete(challenge, await app.next());
    expect(codeOf(blocked)).toBe('TOO_MANY_REQUESTS');
    expect(blocked.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('replaces backup codes and turns off only with a valid code', async () => {
    const { token, app, backupCodes } = await withTwoFactor('off@example.com');
    const regen = ok(
      await t.gql<{ regenerateBackupCodes: { backupCodes: string[] } }>(
        'mutation($c: String!) { regenerateBackupCodes(code: $c) { backupCodes } }',
        { c: await app.next() },
        { token },
      ),
    ).regenerateBackupCodes.backupCodes;
    expect(regen).toHaveLength(10);
    expect(regen).not.toContain(backupCodes[1]);

    const stale = await t.gql(
      'mutation($c: String!) { disableTwoFactor(code: $c) }',
      { c: backupCodes[1] },
      { token },
    );
    expect(codeOf(stale)).toBe('BAD_USER_INPUT');
    ok(
      await t.gql(
        'mutation($c: String!) { disableTwoFactor(code: $c) }',
        { c: regen[3] },
        { token },
      ),
    );
    const login = ok(await loginAs('off@example.com')).login;
    expect(login.twoFactorChallenge).toBeNull();
    expect(login.token).toBeTruthy();
    expect(
      await t.app.db.orm.em.fork().count(BackupCode, { user: { email: 'off@example.com' } }),
    ).toBe(0);
  });

  it('lets a holder of change_user reset another user’s two-factor sign-in', async () => {
    const { user, token } = await withTwoFactor('lost-phone@example.com');
    const { token: admin } = await t.createUser('root-2fa@example.com', { isSuperuser: true });
    const { token: someone } = await t.createUser('someone-2fa@example.com');

    const refused = await t.gql(
      'mutation($u: ID!) { resetUserTwoFactor(userId: $u) }',
      { u: String(user.id) },
      { token: someone },
    );
    expect(codeOf(refused)).toBe('FORBIDDEN');
    ok(
      await t.gql(
        'mutation($u: ID!) { resetUserTwoFactor(userId: $u) }',
        { u: String(user.id) },
        { token: admin },
      ),
    );
    expect(codeOf(await me(token))).toBe('UNAUTHENTICATED');
    expect(ok(await loginAs('lost-phone@example.com')).login.twoFactorChallenge).toBeNull();
  });

  it('an organisation can require two-factor sign-in of its members', async () => {
    const { token: owner, app: ownerApp } = await withTwoFactor('owner-2fa@example.com');
    // withTwoFactor ended no session of the owner's but the confirming one, which we hold.
    const ws = await createWorkspace(t, owner, { organisation: 'Strict' });
    const { user: member, token: memberToken } = await t.createUser('member-2fa@example.com');
    await t.addMember(member, ws.organisationId, OrganisationRole.ADMIN);

    // An admin without 2FA may not require it (they would shut themselves out).
    const selfLock = await t.gql(
      'mutation($o: ID!) { updateOrganisation(id: $o, input: { force2fa: true }) { id } }',
      { o: ws.organisationId },
      { token: memberToken },
    );
    expect(codeOf(selfLock)).toBe('FORBIDDEN');
    expect(selfLock.errors?.[0]?.extensions?.reason).toBe('TWO_FACTOR_REQUIRED');

    ok(
      await t.gql(
        'mutation($o: ID!) { updateOrganisation(id: $o, input: { force2fa: true }) { force2fa } }',
        { o: ws.organisationId },
        { token: owner },
      ),
    );
    const project = '{ project(id: $p) { name } }';
    const held = await t.gql(
      `query($p: ID!) ${project}`,
      { p: ws.projectId },
      { token: memberToken },
    );
    expect(codeOf(held)).toBe('FORBIDDEN');
    expect(held.errors?.[0]?.extensions?.reason).toBe('TWO_FACTOR_REQUIRED');
    const list = ok(
      await t.gql<{ organisations: { nodes: { id: string }[] } }>(
        '{ organisations { nodes { id } } }',
        {},
        {
          token: memberToken,
        },
      ),
    );
    expect(list.organisations.nodes.map((o) => o.id)).not.toContain(ws.organisationId);

    // Turning it on opens the organisation again.
    const setup = ok(
      await t.gql<{ beginTwoFactorSetup: { manualEntryKey: string } }>(
        'mutation { beginTwoFactorSetup { manualEntryKey } }',
        {},
        { token: memberToken },
      ),
    ).beginTwoFactorSetup;
    ok(
      await t.gql(
        'mutation($c: String!) { confirmTwoFactor(code: $c) { backupCodes } }',
        { c: await new TestAuthenticator(setup.manualEntryKey).next() },
        { token: memberToken },
      ),
    );
    const reached = ok(
      await t.gql<{ project: { name: string } }>(
        `query($p: ID!) ${project}`,
        { p: ws.projectId },
        { token: memberToken },
      ),
    );
    expect(reached.project.name).toBe('Web');
    expect(ownerApp.secret).toBeTruthy();
  });
});
