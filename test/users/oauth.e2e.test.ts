import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditObjectType, ChangeType } from '../../src/audit/audit-log.entity';
import { Organisation } from '../../src/organisations/organisation.entity';
import { ForbiddenError } from '../../src/shared/errors';
import { LoginMethod, type OAuthProvider } from '../../src/users/login-method';
import { OAuthService } from '../../src/users/oauth.service';
import { SocialAccount } from '../../src/users/social-account.entity';
import { User } from '../../src/users/user.entity';
import {
  FakeOAuthProvider,
  type GitHubAccount,
  type GoogleAccount,
} from '../support/fake-oauth-provider';
import { codeOf, ok } from '../support/fixtures';
import { createTestApp, OrganisationRole, PASSWORD, type TestApp } from '../support/test-app';

/**
 * Where users reach Flagward (a reverse proxy in front of it): the providers are told to
 * send the browser back here, and the test's browser forwards that origin to the server.
 */
const PUBLIC_URL = 'https://flags.example.test';

const CLIENTS = {
  google: { clientId: 'google-client', clientSecret: 'google-secret' },
  github: { clientId: 'github-client', clientSecret: 'github-secret' },
};

/** The end of a walk through redirects. */
interface Landing {
  readonly status: number;
  /** Where the app finally redirected to (a path on the app), when it did. */
  readonly location: string | null;
  readonly body: string;
  readonly contentType: string;
}

/**
 * A browser enough for OAuth: follows redirects by hand, keeps the app's cookies, and sends
 * requests for PUBLIC_URL to the app.
 */
class Browser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly appUrl: string) {}

  cookie(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const target = url.startsWith(PUBLIC_URL) ? this.appUrl + url.slice(PUBLIC_URL.length) : url;
    const headers = new Headers(init.headers);
    const toApp = target.startsWith(this.appUrl);
    if (toApp && this.cookies.size) headers.set('cookie', this.cookie());
    const res = await fetch(target, { ...init, headers, redirect: 'manual' });
    if (toApp) {
      for (const set of res.headers.getSetCookie()) {
        const [pair] = set.split(';');
        const eq = pair!.indexOf('=');
        this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
      }
    }
    return res;
  }

  /**
   * Requests `url` and follows redirects through the provider and back, until the app
   * answers with a page, or redirects somewhere outside the sign-in flow (`location`).
   */
  async follow(url: string, init: RequestInit = {}): Promise<Landing> {
    let res = await this.request(url, init);
    let current = url.startsWith(PUBLIC_URL) ? this.appUrl + url.slice(PUBLIC_URL.length) : url;
    for (let hops = 0; hops < 10; hops++) {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) break;
      const next = new URL(location, current).toString();
      const local = next.startsWith(this.appUrl) || next.startsWith(PUBLIC_URL);
      const path = local ? new URL(next).pathname : '';
      const inFlow = path.startsWith('/auth/oauth/') || path.startsWith('/admin/admin_sso/');
      if (local && !inFlow) {
        await res.arrayBuffer();
        return { status: res.status, location, body: '', contentType: '' };
      }
      await res.arrayBuffer();
      current = next.startsWith(PUBLIC_URL) ? this.appUrl + next.slice(PUBLIC_URL.length) : next;
      res = await this.request(next);
    }
    return {
      status: res.status,
      location: null,
      body: await res.text(),
      contentType: res.headers.get('content-type') ?? '',
    };
  }
}

describe('Google and GitHub sign-in against a fake provider', () => {
  let fake: FakeOAuthProvider;
  let t: TestApp;
  let bare: TestApp;

  beforeAll(async () => {
    fake = await FakeOAuthProvider.start(CLIENTS);
    [t, bare] = await Promise.all([
      createTestApp(undefined, { PUBLIC_URL, ...fake.env }),
      createTestApp(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([t?.close(), bare?.close()]);
    await fake?.close();
  });

  const em = () => t.app.db.orm.em.fork();
  const me = (b: Browser) =>
    t.gql<{ me: { id: string; email: string; firstName: string; lastName: string } }>(
      '{ me { id email firstName lastName } }',
      {},
      { cookie: b.cookie() },
    );
  const googleSignIn = (b: Browser, next = '/dashboard') =>
    b.follow(`${t.url}/auth/oauth/google/?next=${encodeURIComponent(next)}`);
  const githubSignIn = (b: Browser, next = '/dashboard') =>
    b.follow(`${t.url}/auth/oauth/github/?next=${encodeURIComponent(next)}`);
  const exchange = (
    provider: 'google' | 'github',
    body: unknown,
    contentType = 'application/json',
  ) =>
    fetch(`${t.url}/api/v1/auth/oauth/${provider}/`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const accountsOf = (provider: OAuthProvider, subject: string) =>
    em().find(SocialAccount, { provider, subject }, { populate: ['user'] });

  /** A password user with two-factor sign-in on; returns the seed and the step used. */
  async function withTwoFactor(
    email: string,
  ): Promise<{ user: User; secret: string; epoch: number }> {
    const { user } = await t.createUser(email);
    const fork = em();
    const row = await fork.findOneOrFail(User, { id: user.id });
    const { manualEntryKey: secret } = await t.app.services.twoFactor.begin(fork, row);
    const epoch = Math.floor(Date.now() / 1000);
    await t.app.services.twoFactor.confirm(fork, row, await generate({ secret, epoch }));
    return { user: row, secret, epoch };
  }

  it('Google: a first sign-in creates the account, the next one signs in to the same', async () => {
    const account: GoogleAccount = {
      sub: 'g-1001',
      email: 'New.Person@example.com',
      email_verified: true,
      given_name: 'New',
      family_name: 'Person',
      name: 'New Person',
    };
    fake.nextGoogle(account);
    const first = new Browser(t.url);
    const seen = fake.authorizeRequests.length;
    const landed = await googleSignIn(first, '/projects/7?tab=flags');
    expect(landed).toMatchObject({ status: 302, location: '/projects/7?tab=flags' });

    const authorize = fake.authorizeRequests[seen]!;
    expect(authorize.provider).toBe('google');
    expect(authorize.query.scope).toBe('openid email profile');
    expect(authorize.query.redirect_uri).toBe(`${PUBLIC_URL}/admin/admin_sso/assignment/end/`);
    expect(authorize.query.state).toMatch(/\S{16,}/);

    const signedIn = ok(await me(first)).me;
    expect(signedIn).toMatchObject({
      email: 'New.Person@example.com',
      firstName: 'New',
      lastName: 'Person',
    });
    const user = await em().findOneOrFail(
      User,
      { id: Number(signedIn.id) },
      { populate: ['passwordHash'] },
    );
    expect(user.passwordHash).toBeNull();
    const created = await em().find(AuditLog, {
      relatedObjectType: AuditObjectType.USER,
      relatedObjectId: signedIn.id,
      changeType: ChangeType.CREATE,
    });
    expect(created.map((a) => a.after)).toEqual([{ signedUpWith: 'GOOGLE' }]);
    expect(JSON.stringify(created)).not.toMatch(/google-at-/);

    // Again, in another browser, with the address changed in case only.
    fake.nextGoogle({ ...account, email: 'new.person@example.com' });
    const second = new Browser(t.url);
    expect(await googleSignIn(second, '/')).toMatchObject({ status: 302, location: '/' });
    expect(ok(await me(second)).me.id).toBe(signedIn.id);
    const accounts = await accountsOf(LoginMethod.GOOGLE, 'g-1001');
    expect(accounts).toHaveLength(1);
    expect(accounts[0]!.user.id).toBe(user.id);
    expect(await em().count(User, { email: { $ilike: 'new.person@example.com' } })).toBe(1);
  });

  it('goes back only to local paths, and to /admin/ from the admin start URL', async () => {
    fake.nextGoogle({ sub: 'g-1002', email: 'wanderer@example.com', email_verified: true });
    for (const next of [
      '//evil.example/x',
      '/\\evil.example',
      'https://evil.example/',
      '/%09/x\t',
    ]) {
      expect(await googleSignIn(new Browser(t.url), next)).toMatchObject({ location: '/' });
    }
    const admin = new Browser(t.url);
    expect(await admin.follow(`${t.url}/admin/admin_sso/assignment/start/`)).toMatchObject({
      status: 302,
      location: '/admin/',
    });
    expect(ok(await me(admin)).me.email).toBe('wanderer@example.com');
  });

  it('links a password account by a verified address and refuses an unverified one', async () => {
    const { user } = await t.createUser('Pat@Example.com');

    fake.nextGoogle({ sub: 'g-pat', email: 'pat@example.com', email_verified: false });
    const refused = new Browser(t.url);
    const page = await googleSignIn(refused);
    expect(page.status).toBe(403);
    expect(page.contentType).toContain('text/html');
    expect(page.body).toContain('has not verified pat@example.com');
    expect(codeOf(await me(refused))).toBe('UNAUTHENTICATED');
    expect(await accountsOf(LoginMethod.GOOGLE, 'g-pat')).toHaveLength(0);

    fake.nextGoogle({ sub: 'g-pat', email: 'PAT@example.com', email_verified: true });
    const linked = new Browser(t.url);
    expect(await googleSignIn(linked)).toMatchObject({ status: 302, location: '/dashboard' });
    expect(ok(await me(linked)).me).toMatchObject({
      id: String(user.id),
      email: 'Pat@Example.com',
    });
    const accounts = await accountsOf(LoginMethod.GOOGLE, 'g-pat');
    expect(accounts.map((a) => a.user.id)).toEqual([user.id]);
    const audit = await em().find(AuditLog, {
      relatedObjectType: AuditObjectType.USER,
      relatedObjectId: String(user.id),
      changeType: ChangeType.UPDATE,
    });
    expect(audit.map((a) => a.log)).toEqual(['Linked GOOGLE account: Pat@Example.com']);
    // The password still works.
    const login = await t.gql(
      'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
      { e: 'pat@example.com', p: PASSWORD },
    );
    expect(login.errors).toBeUndefined();
  });

  it('refuses a tampered or missing state and a denied consent with an error page', async () => {
    fake.nextGoogle({ sub: 'g-state', email: 'state@example.com', email_verified: true });
    const b = new Browser(t.url);
    const start = await b.request(`${t.url}/auth/oauth/google/?next=/x`);
    expect(start.status).toBe(302);
    const atProvider = await b.request(start.headers.get('location')!);
    const back = new URL(atProvider.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(`${PUBLIC_URL}/admin/admin_sso/assignment/end/`);

    const tampered = new URL(back);
    tampered.searchParams.set('state', `${back.searchParams.get('state')}x`);
    const bad = await b.request(tampered.toString());
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain('could not be verified');
    expect(codeOf(await me(b))).toBe('UNAUTHENTICATED');

    // The state is spent: the genuine answer after a tampered one is refused too.
    expect((await b.request(back.toString())).status).toBe(403);

    // A fresh sign-in whose answer lost its state.
    const again = await b.request(`${t.url}/auth/oauth/google/`);
    const answer = new URL(
      (await b.request(again.headers.get('location')!)).headers.get('location')!,
    );
    answer.searchParams.delete('state');
    expect((await b.request(answer.toString())).status).toBe(403);
    // An answer that arrives in a browser that never started a sign-in.
    const stranger = new Browser(t.url);
    const other = await b.request(`${t.url}/auth/oauth/google/`);
    const stolen = (await b.request(other.headers.get('location')!)).headers.get('location')!;
    expect((await stranger.request(stolen)).status).toBe(403);
    expect(codeOf(await me(b))).toBe('UNAUTHENTICATED');
    expect(codeOf(await me(stranger))).toBe('UNAUTHENTICATED');
    expect(await accountsOf(LoginMethod.GOOGLE, 'g-state')).toHaveLength(0);

    // A code the provider does not exchange (made up, or used already): an error page.
    const fresh = await b.request(`${t.url}/auth/oauth/google/`);
    const forged = new URL(
      (await b.request(fresh.headers.get('location')!)).headers.get('location')!,
    );
    forged.searchParams.set('code', 'made-up-code');
    const failed = await b.request(forged.toString());
    expect(failed.status).toBe(401);
    expect(await failed.text()).toContain('Google sign-in did not succeed');
    expect(codeOf(await me(b))).toBe('UNAUTHENTICATED');

    fake.denyNext('google');
    const denied = await googleSignIn(new Browser(t.url));
    expect(denied.status).toBe(401);
    expect(denied.contentType).toContain('text/html');
    expect(denied.body).toContain('Google sign-in was cancelled');

    const empty = await new Browser(t.url).request(`${PUBLIC_URL}/admin/admin_sso/assignment/end/`);
    expect(empty.status).toBe(400);
    expect(empty.headers.get('location')).toBeNull();
  });

  it('GitHub: creates an account from the primary verified address, links by a verified one', async () => {
    const octo: GitHubAccount = {
      id: 4242,
      login: 'octo',
      name: 'Octo Cat',
      emails: [
        { email: 'octo@users.noreply.example', primary: false, verified: true },
        { email: 'octo@example.com', primary: true, verified: true },
      ],
    };
    fake.nextGitHub(octo);
    const b = new Browser(t.url);
    const seen = fake.authorizeRequests.length;
    expect(await githubSignIn(b, '/orgs')).toMatchObject({ status: 302, location: '/orgs' });
    const authorize = fake.authorizeRequests[seen]!;
    expect(authorize.provider).toBe('github');
    expect(authorize.query.scope).toBe('user:email');
    expect(authorize.query.redirect_uri).toBe(`${PUBLIC_URL}/auth/oauth/github/callback/`);
    expect(authorize.query.state).toMatch(/\S{16,}/);
    expect(ok(await me(b)).me).toMatchObject({
      email: 'octo@example.com',
      firstName: 'Octo',
      lastName: 'Cat',
    });
    expect(await accountsOf(LoginMethod.GITHUB, '4242')).toHaveLength(1);

    // An existing account, whose address is a verified (not primary) one at GitHub.
    const { user } = await t.createUser('hub.user@example.com');
    fake.nextGitHub({
      id: 4343,
      login: 'hubuser',
      emails: [
        { email: 'old-primary@example.org', primary: true, verified: false },
        { email: 'Hub.User@example.com', primary: false, verified: true },
      ],
    });
    const linked = new Browser(t.url);
    expect(await githubSignIn(linked)).toMatchObject({ status: 302, location: '/dashboard' });
    expect(ok(await me(linked)).me.id).toBe(String(user.id));
    expect((await accountsOf(LoginMethod.GITHUB, '4343')).map((a) => a.user.id)).toEqual([user.id]);

    // No verified address at all: refused.
    await t.createUser('unverified.hub@example.com');
    fake.nextGitHub({
      id: 4444,
      login: 'nover',
      emails: [{ email: 'unverified.hub@example.com', primary: true, verified: false }],
    });
    const refused = new Browser(t.url);
    const page = await githubSignIn(refused);
    expect(page.status).toBe(403);
    expect(page.body).toContain('GitHub has not verified unverified.hub@example.com');
    expect(codeOf(await me(refused))).toBe('UNAUTHENTICATED');
    expect(await accountsOf(LoginMethod.GITHUB, '4444')).toHaveLength(0);
  });

  it('refuses a first sign-in of an unknown address when sign-up is off', async () => {
    const closed = new OAuthService({
      users: t.app.services.users,
      audit: t.app.services.audit,
      strategies: {},
      signup: false,
    });
    const profile = {
      subject: 'g-closed',
      email: 'closed@example.com',
      emailVerified: true,
      firstName: 'Closed',
      lastName: '',
    };
    const refusal = await closed.signIn(em(), LoginMethod.GOOGLE, profile).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ForbiddenError);
    expect((refusal as ForbiddenError).extensions.reason).toBe('SIGNUP_DISABLED');
    expect(await em().count(User, { email: 'closed@example.com' })).toBe(0);
    // An existing account is still linked.
    const { user } = await t.createUser('closed@example.com');
    expect((await closed.signIn(em(), LoginMethod.GOOGLE, profile)).id).toBe(user.id);
  });

  it('exchanges a provider access token for a Flagward token', async () => {
    const google = fake.issueGoogleToken({
      sub: 'g-spa',
      email: 'spa@example.com',
      email_verified: true,
      name: 'Spa User',
    });
    const res = await exchange('google', { access_token: google });
    expect(res.status).toBe(200);
    const { key } = (await res.json()) as { key: string };
    expect(typeof key).toBe('string');
    for (const scheme of ['Token', 'Bearer']) {
      const answer = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `${scheme} ${key}` },
        body: JSON.stringify({ query: '{ me { email } }' }),
      });
      expect(await answer.json()).toEqual({ data: { me: { email: 'spa@example.com' } } });
    }

    const github = fake.issueGitHubToken({
      id: 5151,
      login: 'spa-hub',
      emails: [{ email: 'spa@example.com', primary: true, verified: true }],
    });
    const hub = await exchange('github', { access_token: github });
    expect(hub.status).toBe(200);
    const hubKey = ((await hub.json()) as { key: string }).key;
    expect(
      ok(await t.gql<{ me: { email: string } }>('{ me { email } }', {}, { token: hubKey })).me
        .email,
    ).toBe('spa@example.com');
    // Both provider accounts are linked to the one user.
    const [g, h] = await Promise.all([
      accountsOf(LoginMethod.GOOGLE, 'g-spa'),
      accountsOf(LoginMethod.GITHUB, '5151'),
    ]);
    expect(g[0]!.user.id).toBe(h[0]!.user.id);

    for (const [body, type] of [
      [{}, 'application/json'],
      [{ access_token: '' }, 'application/json'],
      [{ access_token: 42 }, 'application/json'],
      ['{"access_token": ', 'application/json'],
      [`access_token=${google}`, 'application/x-www-form-urlencoded'],
    ] as const) {
      const bad = await exchange('google', body, type);
      expect(bad.status).toBe(400);
      expect(Object.keys((await bad.json()) as object)).toEqual(['detail']);
    }
    const huge = await exchange('google', { access_token: 'x'.repeat(20_000) });
    expect(huge.status).toBe(413);

    for (const provider of ['google', 'github'] as const) {
      const rejected = await exchange(provider, { access_token: 'not-a-token' });
      expect(rejected.status).toBe(401);
      expect(await rejected.json()).toEqual({
        detail: `${provider === 'google' ? 'Google' : 'GitHub'} did not accept the access token`,
      });
    }
  });

  it('answers a provider that sends nonsense with an error, and keeps serving', async () => {
    const github = fake.issueGitHubToken({
      id: 8181,
      login: 'garbled',
      emails: [{ email: 'garbled@example.com', primary: true, verified: true }],
    });
    const google = fake.issueGoogleToken({
      sub: 'g-garbled',
      email: 'g@x.io',
      email_verified: true,
    });
    const cases: [string, 'google' | 'github', string, string][] = [
      ['/user/emails', 'github', github, '{"length": 1}'],
      ['/user/emails', 'github', github, 'not json'],
      ['/user', 'github', github, 'null'],
      ['/oauth2/v3/userinfo', 'google', google, 'null'],
      ['/oauth2/v3/userinfo', 'google', google, '[1, 2]'],
    ];
    try {
      for (const [path, provider, token, body] of cases) {
        fake.garble(path, body);
        const res = await exchange(provider, { access_token: token });
        expect([path, body, res.status]).toEqual([path, body, 502]);
        fake.garble(path, null);
      }
    } finally {
      for (const [path] of cases) fake.garble(path, null);
    }
    // Still up, and the same tokens work once the provider behaves.
    expect((await exchange('github', { access_token: github })).status).toBe(200);
  });

  it('answers 404 with what to set when a provider is not configured', async () => {
    const google = 'Google sign-in is not configured: set OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET';
    const github =
      'GitHub sign-in is not configured: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET';
    for (const [method, path, detail] of [
      ['GET', '/auth/oauth/google/?next=/x', google],
      ['GET', '/admin/admin_sso/assignment/start/', google],
      ['GET', '/admin/admin_sso/assignment/end/?code=c&state=s', google],
      ['POST', '/api/v1/auth/oauth/google/', google],
      ['GET', '/auth/oauth/github/', github],
      ['GET', '/auth/oauth/github/callback/?code=c&state=s', github],
      ['POST', '/api/v1/auth/oauth/github/', github],
    ] as const) {
      const res = await fetch(`${bare.url}${path}`, {
        method,
        redirect: 'manual',
        ...(method === 'POST' && {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ access_token: 'x' }),
        }),
      });
      expect([path, res.status]).toEqual([path, 404]);
      expect(await res.json()).toEqual({ detail });
    }

    const methods = '{ signInMethods }';
    expect(ok(await bare.gql(methods)).signInMethods).toEqual(['PASSWORD']);
    expect(ok(await t.gql(methods)).signInMethods).toEqual(['PASSWORD', 'GOOGLE', 'GITHUB']);
  });

  it('asks for the second factor on its page, then signs in', async () => {
    const { user, secret, epoch } = await withTwoFactor('two.factor@example.com');
    fake.nextGoogle({ sub: 'g-2fa', email: 'two.factor@example.com', email_verified: true });
    const b = new Browser(t.url);
    expect(await googleSignIn(b, '/after-2fa')).toMatchObject({
      status: 302,
      location: '/auth/two-factor/',
    });
    expect(codeOf(await me(b))).toBe('UNAUTHENTICATED');

    const form = await b.request(`${t.url}/auth/two-factor/`);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="code"');

    // The code of the step after the one used to turn it on: the same step is good once.
    const code = await generate({ secret, epoch: epoch + 30 });
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const post = (value: string) =>
      b.request(`${t.url}/auth/two-factor/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ code: value }).toString(),
      });
    const refused = await post(wrong);
    expect(refused.status).toBe(401);
    const again = await refused.text();
    expect(again).toContain('The two-factor code is not valid');
    expect(again).toContain('name="code"');
    expect(codeOf(await me(b))).toBe('UNAUTHENTICATED');

    const accepted = await post(code);
    expect(accepted.status).toBe(302);
    expect(accepted.headers.get('location')).toBe('/after-2fa');
    expect(ok(await me(b)).me.id).toBe(String(user.id));
    // The pending sign-in is used up.
    expect((await b.request(`${t.url}/auth/two-factor/`)).status).toBe(401);
    expect((await new Browser(t.url).request(`${t.url}/auth/two-factor/`)).status).toBe(401);
  });

  it('answers the token exchange with an ephemeral token when the second factor is on', async () => {
    const { secret, epoch } = await withTwoFactor('two.factor.spa@example.com');
    const token = fake.issueGitHubToken({
      id: 6161,
      login: 'tfspa',
      emails: [{ email: 'two.factor.spa@example.com', primary: true, verified: true }],
    });
    const res = await exchange('github', { access_token: token });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ephemeral_token: string; method: string };
    expect(Object.keys(body).sort()).toEqual(['ephemeral_token', 'method']);
    expect(body.method).toBe('app');

    const complete = await t.gql<{ completeTwoFactorLogin: { token: string } }>(
      'mutation($c: String!, $code: String!) { completeTwoFactorLogin(input: { challenge: $c, code: $code, mode: TOKEN }) { token } }',
      { c: body.ephemeral_token, code: await generate({ secret, epoch: epoch + 30 }) },
    );
    const key = ok(complete).completeTwoFactorLogin.token;
    expect(
      ok(await t.gql<{ me: { email: string } }>('{ me { email } }', {}, { token: key })).me.email,
    ).toBe('two.factor.spa@example.com');
  });

  it("follows an organisation's login restriction", async () => {
    const fork = em();
    const org = fork.create(Organisation, {
      name: 'Google only',
      allowedLoginMethods: [LoginMethod.GOOGLE],
    });
    await fork.flush();
    const { user } = await t.createUser('restricted@example.com');
    await t.addMember(user, org.id, OrganisationRole.USER);

    fake.nextGoogle({ sub: 'g-restricted', email: 'restricted@example.com', email_verified: true });
    const viaGoogle = new Browser(t.url);
    expect(await googleSignIn(viaGoogle)).toMatchObject({ status: 302, location: '/dashboard' });
    expect(ok(await me(viaGoogle)).me.email).toBe('restricted@example.com');

    const hub: GitHubAccount = {
      id: 7171,
      login: 'restricted',
      emails: [{ email: 'restricted@example.com', primary: true, verified: true }],
    };
    fake.nextGitHub(hub);
    const viaGitHub = new Browser(t.url);
    const page = await githubSignIn(viaGitHub);
    expect(page.status).toBe(403);
    expect(page.contentType).toContain('text/html');
    expect(page.body).toContain('does not allow signing in with GITHUB');
    expect(codeOf(await me(viaGitHub))).toBe('UNAUTHENTICATED');

    const res = await exchange('github', { access_token: fake.issueGitHubToken(hub) });
    expect(res.status).toBe(403);
    const detail = ((await res.json()) as { detail: string }).detail;
    expect(detail).toContain('does not allow signing in with GITHUB');
  });
});
