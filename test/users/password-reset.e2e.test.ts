import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditObjectType } from '../../src/audit/audit-log.entity';
import { PasswordResetToken } from '../../src/users/password-reset-token.entity';
import { User } from '../../src/users/user.entity';
import { codeOf, ok } from '../support/fixtures';
import { createTestApp, PASSWORD, type TestApp } from '../support/test-app';

/** A real SMTP server (the smtp-server package) on a loopback port, keeping what it receives. */
interface Inbox {
  readonly port: number;
  readonly mails: { to: string[]; raw: string }[];
  /** Waits for the next mail to `to`. */
  next(to: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

async function startSmtp(): Promise<Inbox> {
  const mails: Inbox['mails'] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  let seen = 0;
  return {
    port,
    mails,
    async next(to, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = mails.slice(seen).find((m) => m.to.includes(to));
        if (found) {
          seen = mails.indexOf(found) + 1;
          return found.raw;
        }
        if (Date.now() > deadline) throw new Error(`no mail to ${to}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The reset link in a mail (quoted-printable decoded). */
function linkIn(raw: string): URL {
  const decoded = raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  const match = /https?:\/\/\S+\/password-reset\?token=[A-Za-z0-9_%-]+/.exec(decoded);
  if (!match) throw new Error(`no link in:\n${decoded}`);
  return new URL(match[0]);
}

const PUBLIC_URL = 'https://flags.example.test';

describe('password reset by e-mail', () => {
  let smtp: Inbox;
  let t: TestApp;
  const email = 'forgetful@example.com';

  const request = (address: string) =>
    t.gql<{ requestPasswordReset: boolean }>(
      'mutation($e: String!) { requestPasswordReset(email: $e) }',
      { e: address },
    );
  const reset = (token: string, newPassword: string) =>
    t.gql<{ resetPassword: boolean }>(
      'mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }',
      { t: token, p: newPassword },
    );
  const canLogin = async (password: string) =>
    !(
      await t.gql(
        'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
        { e: email, p: password },
      )
    ).errors;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await createTestApp(undefined, {
      EMAIL_HOST: '127.0.0.1',
      EMAIL_PORT: String(smtp.port),
      EMAIL_USE_TLS: 'false',
      SENDER_EMAIL: 'flags@example.test',
      PUBLIC_URL,
    });
    await t.createUser(email);
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('mails a single-use link that sets a new password and ends every session', async () => {
    const { token: session } = await t.createUser('bystander@example.com');
    const before = await t.gql<{ login: { token: string } }>(
      'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
      { e: email, p: PASSWORD },
    );
    const oldToken = ok(before).login.token;

    expect(ok(await request('Forgetful@Example.com')).requestPasswordReset).toBe(true);
    const raw = await smtp.next(email);
    expect(raw).toContain('From: flags@example.test');
    expect(raw).toContain('Subject: Reset your Flagward password');
    const link = linkIn(raw);
    expect(link.origin).toBe(PUBLIC_URL);
    const token = link.searchParams.get('token')!;
    // Only its hash is stored.
    const rows = await t.app.db.orm.em.fork().find(PasswordResetToken, {});
    expect(JSON.stringify(rows)).not.toContain(token);

    expect(codeOf(await reset(token, 'short'))).toBe('BAD_USER_INPUT');
    expect(ok(await reset(token, 'a fresh new password')).resetPassword).toBe(true);
    expect(await canLogin(PASSWORD)).toBe(false);
    expect(await canLogin('a fresh new password')).toBe(true);
    // Sessions from before the reset are over; other users' are not.
    expect((await t.gql('{ me { id } }', {}, { token: oldToken })).errors).toBeDefined();
    expect((await t.gql('{ me { id } }', {}, { token: session })).errors).toBeUndefined();
    // Used once, never again.
    const again = await reset(token, 'yet another password');
    expect(codeOf(again)).toBe('BAD_USER_INPUT');
    expect(again.errors![0]!.message).toMatch(/used already or have expired/);
    const audit = await t.app.db.orm.em
      .fork()
      .find(AuditLog, { relatedObjectType: AuditObjectType.USER });
    expect(audit.map((a) => a.log)).toContain(`Password reset by e-mail link: ${email}`);
    expect(JSON.stringify(audit)).not.toContain('a fresh new password');
  });

  it('answers the same whether or not the e-mail exists, and mails only existing users', async () => {
    const unknown = await request('nobody@example.com');
    const known = await request(email);
    expect(unknown.status).toBe(known.status);
    expect(unknown.data).toEqual(known.data);
    expect(unknown.errors).toBeUndefined();
    await smtp.next(email);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.mails.some((m) => m.to.includes('nobody@example.com'))).toBe(false);
  });

  it('refuses expired and unknown tokens', async () => {
    await request(email);
    const token = linkIn(await smtp.next(email)).searchParams.get('token')!;
    const em = t.app.db.orm.em.fork();
    await em.nativeUpdate(
      PasswordResetToken,
      { usedAt: null },
      { expiresAt: new Date(Date.now() - 1000) },
    );
    expect(codeOf(await reset(token, 'an expired attempt'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await reset('made-up-token', 'an invented attempt'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await reset('', 'an empty attempt'))).toBe('BAD_USER_INPUT');
  });

  it('serves a reset page: escaped, unframeable, uncached, without referrer', async () => {
    await request(email);
    const link = linkIn(await smtp.next(email));
    const token = link.searchParams.get('token')!;
    const local = `${t.url}/password-reset?token=${encodeURIComponent(token)}`;
    const get = await fetch(local);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(get.headers.get('x-frame-options')).toBe('DENY');
    expect(get.headers.get('referrer-policy')).toBe('no-referrer');
    expect(get.headers.get('cache-control')).toBe('no-store');
    // The form posts back to this address (the token stays in its query): the page never
    // writes the token out (test/security/secrets-canary).
    const html = await get.text();
    expect(html).toContain('<form method="post">');
    expect(html).not.toContain(token);

    const xss = await (
      await fetch(`${t.url}/password-reset?token=%22%3E%3Cscript%3Ealert(1)%3C/script%3E`)
    ).text();
    expect(xss).not.toContain('<script>');

    const post = (fields: Record<string, string>) =>
      fetch(`${t.url}/password-reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
    const differ = await post({
      token,
      password: 'one password here',
      password2: 'another one here',
    });
    expect(differ.status).toBe(400);
    expect(await differ.text()).toContain('The two passwords differ.');
    // As the browser sends the form: to the page's address, with the token in its query.
    const done = await fetch(local, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ password: 'set on the page', password2: 'set on the page' }),
    });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Your new password is set');
    expect(await canLogin('set on the page')).toBe(true);
    const reused = await post({
      token,
      password: 'set on the page 2',
      password2: 'set on the page 2',
    });
    expect(reused.status).toBe(400);
  });
});

describe('first-run set-up page', () => {
  let t: TestApp;
  const INIT = '/api/v1/users/config/init/';
  const post = (fields: Record<string, string>) =>
    fetch(`${t.url}${INIT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });

  beforeAll(async () => {
    t = await createTestApp(undefined, { PUBLIC_URL });
  });
  afterAll(() => t?.close());

  it('creates the first superuser (no password) with a reset link, once; then it is gone', async () => {
    const form = await fetch(`${t.url}${INIT}`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="site_name"');

    const bad = await post({ email: 'not an email', site_name: 'x'.repeat(51) });
    expect(bad.status).toBe(400);
    const badText = await bad.text();
    expect(badText).toContain('email: is not a valid email address');
    expect(badText).toContain('site_name: at most 50 characters');
    expect(await t.app.db.orm.em.fork().count(User, {})).toBe(0);

    // Two submissions at once: one administrator.
    const [a, b] = await Promise.all([
      post({ email: 'first@example.com', site_name: 'Flags', site_domain: 'flags.example.test' }),
      post({ email: 'second@example.com', site_name: 'Flags', site_domain: 'flags.example.test' }),
    ]);
    const answers = [a, b].sort((x, y) => x.status - y.status);
    expect(answers.map((r) => r.status)).toEqual([200, 404]);
    const body = (await answers[0]!.json()) as { message: string; passwordResetUrl: string };
    expect(body.message).toBe('INSTALLATION CONFIGURED SUCCESSFULLY');
    const link = new URL(body.passwordResetUrl);
    expect(link.origin).toBe(PUBLIC_URL);
    expect(await answers[1]!.text()).toBe(
      'CAN NOT INIT CONFIGURATION. USER(S) ALREADY EXIST IN SYSTEM.',
    );

    const users = await t.app.db.orm.em.fork().find(User, {}, { populate: ['passwordHash'] });
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ isSuperuser: true, isStaff: true, passwordHash: null });

    const gone = await fetch(`${t.url}${INIT}`);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toBe('CAN NOT INIT CONFIGURATION. USER(S) ALREADY EXIST IN SYSTEM.');
    expect((await post({ email: 'late@example.com' })).status).toBe(404);

    // The link sets the administrator's password.
    const token = link.searchParams.get('token')!;
    ok(
      await t.gql(
        'mutation($t: String!) { resetPassword(token: $t, newPassword: "the first password") }',
        {
          t: token,
        },
      ),
    );
    const login = await t.gql<{ login: { user: { isSuperuser: boolean } } }>(
      'mutation($e: String!) { login(input: { email: $e, password: "the first password", mode: TOKEN }) { user { isSuperuser } } }',
      { e: users[0]!.email },
    );
    expect(ok(login).login.user.isSuperuser).toBe(true);
  });
});
