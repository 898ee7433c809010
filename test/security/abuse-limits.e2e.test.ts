import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordResetToken } from '../../src/users/password-reset-token.entity';
import { createWorkspace, ok, type Workspace } from '../support/fixtures';
import { createTestApp, PASSWORD, type TestApp } from '../support/test-app';
import { TestAuthenticator } from '../support/totp';

/**
 * Every rate limit, through HTTP: failed sign-ins (GraphQL and the admin page), two-factor
 * codes (sign-in on GraphQL and the browser page, and turning it on), password-reset requests
 * and invalid reset links (GraphQL and the reset page), and wrong organisation API keys — per account (or e-mail) and per client address. A refusal is HTTP 429 with
 * `Retry-After`, and TOO_MANY_REQUESTS with `retryAfterSeconds` on GraphQL.
 *
 * Small limits, a long block; each test uses its own client addresses (the test server
 * trusts `X-Forwarded-For` from loopback, as behind a proxy).
 */
const LIMITS = {
  LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
  LOGIN_MAX_FAILURES_PER_ADDRESS: '5',
  PASSWORD_RESET_MAX_PER_EMAIL: '2',
  PASSWORD_RESET_MAX_PER_ADDRESS: '4',
  API_KEY_MAX_FAILURES_PER_ADDRESS: '3',
  LOGIN_THROTTLE_WINDOW_SECONDS: '600',
  LOGIN_BLOCK_SECONDS: '300',
};

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

const LOGIN =
  'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token twoFactorChallenge } }';
const COMPLETE =
  'mutation($c: String!, $code: String!) { completeTwoFactorLogin(input: { challenge: $c, code: $code, mode: TOKEN }) { token } }';
const RESET = 'mutation($e: String!) { requestPasswordReset(email: $e) }';
const ORGANISATIONS = '{ organisations { nodes { id } } }';

describe('abuse limits', () => {
  let t: TestApp;
  let ws: Workspace;
  let adminToken: string;

  /** POST /graphql from client address `ip`, with extra headers. */
  async function gql(
    ip: string,
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: (await res.json()) as Answer['body'],
    };
  }

  const codeOf = (a: Answer): unknown => a.body.errors?.[0]?.extensions?.code;

  /** A throttled GraphQL answer: 429, Retry-After equal to retryAfterSeconds, no data. */
  function expectThrottled(a: Answer, message: RegExp): void {
    expect(a.status, JSON.stringify(a.body)).toBe(429);
    expect(codeOf(a)).toBe('TOO_MANY_REQUESTS');
    expect(a.body.errors?.[0]?.message).toMatch(message);
    const seconds = a.body.errors?.[0]?.extensions?.retryAfterSeconds;
    expect(seconds).toEqual(expect.any(Number));
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(300);
    expect(a.retryAfter).toBe(String(seconds));
    expect(a.body.data ?? null).toBeNull();
  }

  /** A browser: a cookie jar, no redirects followed, a client address. */
  function browser(ip: string) {
    const cookies = new Map<string, string>();
    return async (path: string, form?: Record<string, string>): Promise<Response> => {
      const headers: Record<string, string> = { 'x-forwarded-for': ip };
      if (cookies.size)
        headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
      if (form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers['sec-fetch-site'] = 'same-origin';
      }
      const res = await fetch(t.url + path, {
        method: form ? 'POST' : 'GET',
        headers,
        body: form ? new URLSearchParams(form).toString() : undefined,
        redirect: 'manual',
      });
      for (const set of res.headers.getSetCookie()) {
        const pair = set.split(';')[0]!;
        cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
      }
      return res;
    };
  }

  /** Starts two-factor set-up for the token's user; returns the authenticator app it seeds. */
  async function beginSetup(token: string): Promise<TestAuthenticator> {
    const setup = ok(
      await t.gql<{ beginTwoFactorSetup: { manualEntryKey: string } }>(
        'mutation { beginTwoFactorSetup { manualEntryKey } }',
        {},
        { token },
      ),
    ).beginTwoFactorSetup;
    return new TestAuthenticator(setup.manualEntryKey);
  }

  /** A user with two-factor sign-in on (through GraphQL); returns their authenticator. */
  async function withTwoFactor(
    email: string,
    extra: { isStaff?: boolean } = {},
  ): Promise<TestAuthenticator> {
    const { token } = await t.createUser(email, extra);
    const app = await beginSetup(token);
    ok(
      await t.gql(
        'mutation($c: String!) { confirmTwoFactor(code: $c) { backupCodes } }',
        {
          c: await app.next(),
        },
        { token },
      ),
    );
    return app;
  }

  async function challengeFor(ip: string, email: string): Promise<string> {
    const first = await gql(ip, LOGIN, { e: email, p: PASSWORD });
    const challenge = (first.body.data?.login as { twoFactorChallenge?: string } | undefined)
      ?.twoFactorChallenge;
    expect(challenge, JSON.stringify(first.body)).toEqual(expect.any(String));
    return challenge!;
  }

  beforeAll(async () => {
    t = await createTestApp(undefined, {
      ...LIMITS,
      ENABLE_ADMIN_ACCESS_USER_PASS: 'true',
      WEBHOOK_WORKER: 'false',
    });
    adminToken = (await t.createUser('limits-admin@example.com')).token;
    ws = await createWorkspace(t, adminToken);
  });
  afterAll(() => t?.close());

  describe('sign-in', () => {
    it('blocks an account after 3 wrong passwords, from any address, even the right password', async () => {
      await t.createUser('victim@example.com');
      for (const ip of ['10.1.0.1', '10.1.0.2', '10.1.0.3']) {
        const wrong = await gql(ip, LOGIN, { e: 'victim@example.com', p: 'wrong password' });
        expect(codeOf(wrong)).toBe('UNAUTHENTICATED');
        expect(wrong.retryAfter).toBeNull();
      }
      expectThrottled(
        await gql('10.1.0.4', LOGIN, { e: 'victim@example.com', p: PASSWORD }),
        /Too many failed sign-in attempts; try again in \d+ seconds/,
      );
      // The admin sign-in page shares the count: a 429 page with the same header.
      const page = await browser('10.1.0.5')('/admin/login/', {
        email: 'victim@example.com',
        password: PASSWORD,
      });
      expect(page.status).toBe(429);
      expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await page.text()).toContain('Too many failed sign-in attempts');
      // Another account from the same addresses is unaffected.
      await t.createUser('bystander@example.com');
      const other = await gql('10.1.0.1', LOGIN, { e: 'bystander@example.com', p: PASSWORD });
      expect(other.status).toBe(200);
      expect(other.body.errors).toBeUndefined();
    });

    it('blocks an address after 5 wrong passwords over several accounts, known or not', async () => {
      await t.createUser('spray-target@example.com');
      const ip = '10.1.1.1';
      for (const email of ['a@example.com', 'b@example.com', 'c@example.com']) {
        for (let i = 0; i < (email === 'c@example.com' ? 1 : 2); i++) {
          expect(codeOf(await gql(ip, LOGIN, { e: email, p: 'wrong password' }))).toBe(
            'UNAUTHENTICATED',
          );
        }
      }
      expectThrottled(
        await gql(ip, LOGIN, { e: 'spray-target@example.com', p: PASSWORD }),
        /Too many failed sign-in attempts/,
      );
      const elsewhere = await gql('10.1.1.2', LOGIN, {
        e: 'spray-target@example.com',
        p: PASSWORD,
      });
      expect(elsewhere.body.errors).toBeUndefined();
    });
  });

  describe('two-factor codes', () => {
    it('blocks an account after 3 wrong codes (GraphQL), from any address, even the right code', async () => {
      const app = await withTwoFactor('codes@example.com');
      const challenge = await challengeFor('10.2.0.1', 'codes@example.com');
      for (const [i, ip] of ['10.2.0.1', '10.2.0.2', '10.2.0.3'].entries()) {
        const wrong = await gql(ip, COMPLETE, { c: challenge, code: String(100000 + i) });
        expect(codeOf(wrong)).toBe('UNAUTHENTICATED');
      }
      expectThrottled(
        await gql('10.2.0.4', COMPLETE, { c: challenge, code: await app.next() }),
        /Too many failed sign-in attempts/,
      );
    });

    it('blocks an address after 5 wrong codes over several accounts', async () => {
      await withTwoFactor('codes-a@example.com');
      await withTwoFactor('codes-b@example.com');
      const appC = await withTwoFactor('codes-c@example.com');
      const ip = '10.2.1.1';
      const a = await challengeFor(ip, 'codes-a@example.com');
      const b = await challengeFor(ip, 'codes-b@example.com');
      const c = await challengeFor(ip, 'codes-c@example.com');
      // 2 + 2 + 1 wrong codes: no account reaches 3, the address reaches 5.
      for (const challenge of [a, a, b, b, c]) {
        expect(codeOf(await gql(ip, COMPLETE, { c: challenge, code: '000000' }))).toBe(
          'UNAUTHENTICATED',
        );
      }
      // A refused code is not even checked, so the same one works from elsewhere.
      const code = await appC.next();
      expectThrottled(await gql(ip, COMPLETE, { c, code }), /Too many failed sign-in attempts/);
      // The same account's right code from another address goes through.
      const elsewhere = await gql('10.2.1.2', COMPLETE, { c, code });
      expect(elsewhere.body.errors).toBeUndefined();
      expect((elsewhere.body.data?.completeTwoFactorLogin as { token: string }).token).toEqual(
        expect.any(String),
      );
    });

    it('counts wrong codes while turning two-factor sign-in on, per account', async () => {
      const { token } = await t.createUser('setup-codes@example.com');
      const app = await beginSetup(token);
      const CONFIRM = 'mutation($c: String!) { confirmTwoFactor(code: $c) { backupCodes } }';
      const auth = { authorization: `Bearer ${token}` };
      for (const [i, ip] of ['10.2.3.1', '10.2.3.2', '10.2.3.3'].entries()) {
        const wrong = await gql(ip, CONFIRM, { c: String(300000 + i) }, auth);
        expect(codeOf(wrong)).toBe('BAD_USER_INPUT');
      }
      expectThrottled(
        await gql('10.2.3.4', CONFIRM, { c: await app.next() }, auth),
        /Too many failed sign-in attempts/,
      );
      // Still off.
      const status = await gql('10.2.3.4', '{ twoFactorStatus { enabled } }', {}, auth);
      expect(status.body.data?.twoFactorStatus).toEqual({ enabled: false });
    });

    it('throttles the browser two-factor page the same way: a 429 page with Retry-After', async () => {
      const app = await withTwoFactor('staff-codes@example.com', { isStaff: true });
      const visit = browser('10.2.2.1');
      const first = await visit('/admin/login/', {
        email: 'staff-codes@example.com',
        password: PASSWORD,
      });
      expect(first.status).toBe(302);
      expect(first.headers.get('location')).toBe('/auth/two-factor/');
      for (let i = 0; i < 3; i++) {
        const wrong = await visit('/auth/two-factor/', { code: String(200000 + i) });
        expect(wrong.status).toBe(401);
        expect(wrong.headers.get('retry-after')).toBeNull();
      }
      const blocked = await visit('/auth/two-factor/', { code: await app.next() });
      expect(blocked.status).toBe(429);
      const seconds = Number(blocked.headers.get('retry-after'));
      expect(seconds).toBeGreaterThan(0);
      expect(await blocked.text()).toContain(
        `Too many failed sign-in attempts; try again in ${seconds} seconds`,
      );
      // Still not signed in.
      expect((await visit('/admin/')).status).toBe(200);
      expect(await (await visit('/admin/')).text()).not.toContain('id="graphiql"');
    });
  });

  describe('password reset requests', () => {
    const tokensOf = async (email: string): Promise<number> =>
      t.app.db.orm.em.fork().count(PasswordResetToken, { user: { email } });

    it('allows 2 per e-mail address, from any client address, known or not', async () => {
      await t.createUser('forgetful@example.com');
      for (const email of ['forgetful@example.com', 'nobody-here@example.com']) {
        for (const ip of ['10.3.0.1', '10.3.0.2']) {
          const sent = await gql(ip, RESET, { e: email });
          expect(sent.status).toBe(200);
          expect(sent.body.data?.requestPasswordReset).toBe(true);
        }
        // The third, from a third address, is refused; the same way for an unknown e-mail.
        expectThrottled(
          await gql('10.3.0.3', RESET, { e: email.toUpperCase() }),
          /Too many password reset requests; try again in \d+ seconds/,
        );
      }
      // Two links were made, not three.
      expect(await tokensOf('forgetful@example.com')).toBe(2);
    });

    it('allows 4 per client address, whatever e-mail addresses it walks through', async () => {
      await t.createUser('walked-5@example.com');
      const ip = '10.3.1.1';
      for (let i = 1; i <= 4; i++) {
        expect((await gql(ip, RESET, { e: `walked-${i}@example.com` })).status).toBe(200);
      }
      expectThrottled(
        await gql(ip, RESET, { e: 'walked-5@example.com' }),
        /Too many password reset requests/,
      );
      expect(await tokensOf('walked-5@example.com')).toBe(0);
      expect((await gql('10.3.1.2', RESET, { e: 'walked-5@example.com' })).status).toBe(200);
      expect(await tokensOf('walked-5@example.com')).toBe(1);
    });
  });

  describe('password reset links', () => {
    const RESET_PASSWORD =
      'mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }';

    it('refuses an address after 4 invalid links, on GraphQL and on the reset page', async () => {
      const ip = '10.3.2.1';
      for (let i = 0; i < 4; i++) {
        const wrong = await gql(ip, RESET_PASSWORD, {
          t: `not-a-token-${i}`,
          p: 'new-pass-123456',
        });
        expect(codeOf(wrong)).toBe('BAD_USER_INPUT');
      }
      expectThrottled(
        await gql(ip, RESET_PASSWORD, { t: 'not-a-token-5', p: 'new-pass-123456' }),
        /Too many invalid password reset links; try again in \d+ seconds/,
      );
      const page = await browser(ip)('/password-reset?token=not-a-token-6', {
        password: 'new-pass-123456',
        password2: 'new-pass-123456',
      });
      expect(page.status).toBe(429);
      const seconds = Number(page.headers.get('retry-after'));
      expect(seconds).toBeGreaterThan(0);
      expect(await page.text()).toContain(
        `Too many invalid password reset links; try again in ${seconds} seconds`,
      );
      // Another address is not blocked: its invalid link is answered as invalid.
      const other = await gql('10.3.2.2', RESET_PASSWORD, {
        t: 'not-a-token-7',
        p: 'new-pass-123456',
      });
      expect(codeOf(other)).toBe('BAD_USER_INPUT');
    });

    it('lets a valid link through below the limit, and it counts nothing', async () => {
      const { user } = await t.createUser('valid-link@example.com');
      const url = await t.app.services.passwordReset.issue(t.app.db.orm.em.fork(), user);
      const token = new URL(url).searchParams.get('token')!;
      const ip = '10.3.3.1';
      for (let i = 0; i < 3; i++)
        await gql(ip, RESET_PASSWORD, { t: `not-a-token-${i}`, p: 'new-pass-123456' });
      const used = await gql(ip, RESET_PASSWORD, { t: token, p: 'new-pass-123456' });
      expect(used.body).toEqual({ data: { resetPassword: true } });
      // 3 wrong + 1 valid: the fourth wrong one is still answered as invalid, the fifth is not.
      expect(codeOf(await gql(ip, RESET_PASSWORD, { t: 'x', p: 'new-pass-123456' }))).toBe(
        'BAD_USER_INPUT',
      );
      expectThrottled(
        await gql(ip, RESET_PASSWORD, { t: 'y', p: 'new-pass-123456' }),
        /Too many invalid password reset links/,
      );
    });
  });

  describe('organisation API keys', () => {
    it('blocks an address after 3 wrong keys, then refuses even the right key from it', async () => {
      const key = ok(
        await t.gql<{ createOrganisationApiKey: { key: string } }>(
          'mutation($o: ID!) { createOrganisationApiKey(input: { organisationId: $o, name: "ci" }) { key } }',
          { o: ws.organisationId },
          { token: adminToken },
        ),
      ).createOrganisationApiKey.key;
      const withKey = (ip: string, presented: string) =>
        gql(ip, ORGANISATIONS, {}, { authorization: `Api-Key ${presented}` });
      const ip = '10.4.0.1';

      // The right key is not counted, however often it is used.
      for (let i = 0; i < 4; i++) {
        const right = await withKey(ip, key);
        expect(right.status).toBe(200);
        expect(right.body.data?.organisations).toEqual({ nodes: [{ id: ws.organisationId }] });
      }
      // A wrong secret for the right prefix, a malformed key, an unknown key.
      const wrongOnes = [
        `${key.slice(0, 9)}${'x'.repeat(32)}`,
        'not-a-key',
        'AbCdEfGh.' + 'a'.repeat(32),
      ];
      for (const wrong of wrongOnes) {
        // A wrong key is no credential: the caller is anonymous.
        const answer = await withKey(ip, wrong);
        expect(answer.status).toBe(200);
        expect(codeOf(answer)).toBe('UNAUTHENTICATED');
      }
      const refused = await withKey(ip, key);
      expectThrottled(refused, /Too many requests with a wrong API key; try again in \d+ seconds/);
      expect(await withKey(ip, wrongOnes[0]!)).toMatchObject({ status: 429 });
      // The key itself is not blocked: from another address it works.
      const elsewhere = await withKey('10.4.0.2', key);
      expect(elsewhere.body.data?.organisations).toEqual({ nodes: [{ id: ws.organisationId }] });
      // Nor are sign-ins from the blocked address: the counts are separate.
      expect((await gql(ip, LOGIN, { e: 'limits-admin@example.com', p: PASSWORD })).status).toBe(
        200,
      );
    });
  });
});
