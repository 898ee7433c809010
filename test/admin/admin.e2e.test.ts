import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Organisation } from '../../src/organisations/organisation.entity';
import { LoginMethod } from '../../src/users/login-method';
import { User } from '../../src/users/user.entity';
import { ok } from '../support/fixtures';
import { createTestApp, OrganisationRole, PASSWORD, type TestApp } from '../support/test-app';
import { TestAuthenticator } from '../support/totp';

/**
 * The admin GraphQL IDE at /admin/ over HTTP: who gets the sign-in page, the refusal or the
 * IDE; the password form and its defences (setting, login CSRF, throttle, second factor);
 * the static files, served from node_modules.
 */

const NODE_MODULES = path.resolve(__dirname, '../../node_modules');
const SSO_START = '/admin/admin_sso/assignment/start/';

/** A cookie jar over fetch that never follows redirects. */
class Client {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly base: string) {}

  cookie(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', this.cookie());
    const res = await fetch(this.base + url, { ...init, headers, redirect: 'manual' });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    return res;
  }

  /** Posts a form as a browser on this server's own page does (Sec-Fetch-Site: same-origin). */
  post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'sec-fetch-site': 'same-origin',
        ...headers,
      },
      body: new URLSearchParams(fields).toString(),
    });
  }

  login(email: string, password = PASSWORD, headers: Record<string, string> = {}) {
    return this.post('/admin/login/', { email, password }, headers);
  }
}

const hasPasswordForm = (html: string) =>
  /<form method="post" action="\/admin\/login\/">/.test(html) && /name="password"/.test(html);
const hasSsoLink = (html: string) => html.includes(`<a href="${SSO_START}">Log in using SSO</a>`);
const isIde = (html: string) =>
  html.includes('<div id="graphiql">') && html.includes('/admin/static/graphiql.min.js');

describe('admin IDE (password sign-in on, Google configured, production)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(undefined, {
      ENABLE_ADMIN_ACCESS_USER_PASS: 'true',
      OAUTH_CLIENT_ID: 'dummy-client-id',
      OAUTH_CLIENT_SECRET: 'dummy-client-secret',
      NODE_ENV: 'production',
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
    });
  });
  afterAll(() => t?.close());

  /** A staff user signed in to /admin/ with e-mail and password. */
  async function staffClient(email: string, extra: { isSuperuser?: boolean } = {}) {
    await t.createUser(email, { isStaff: !extra.isSuperuser, ...extra });
    const client = new Client(t.url);
    const res = await client.login(email);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/admin/');
    return client;
  }

  it('redirects /admin to /admin/, keeping the query', async () => {
    const bare = await new Client(t.url).request('/admin');
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/admin/');
    const withQuery = await new Client(t.url).request('/admin?query=%7Bme%7D');
    expect(withQuery.headers.get('location')).toBe('/admin/?query=%7Bme%7D');
  });

  it('shows anonymous visitors the sign-in page: password form and "Log in using SSO"', async () => {
    const res = await new Client(t.url).request('/admin/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    const html = await res.text();
    expect(hasPasswordForm(html)).toBe(true);
    expect(hasSsoLink(html)).toBe(true);
    expect(isIde(html)).toBe(false);
    expect(html).not.toContain('<script');

    // The SSO link starts Google sign-in (not followed: no network here).
    const sso = await new Client(t.url).request(SSO_START);
    expect(sso.status).toBe(302);
    expect(new URL(sso.headers.get('location')!).host).toBe('accounts.google.com');
    // GET /admin/login/ leads to the same page.
    const login = await new Client(t.url).request('/admin/login/');
    expect(login.status).toBe(302);
    expect(login.headers.get('location')).toBe('/admin/');
  });

  it('gives staff the IDE, with a strict policy and only our own scripts', async () => {
    const client = await staffClient('staff@example.com');
    const res = await client.request('/admin/');
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name!, values.join(' ')] as const;
      }),
    );
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('style-src')).toBe("'self' 'unsafe-inline'");
    expect(directives.get('connect-src')).toBe("'self'");
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');

    const html = await res.text();
    expect(isIde(html)).toBe(true);
    expect(html).toContain('staff@example.com');
    // No inline script, nothing from another host.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.filter((u) => !u.startsWith('/admin/'))).toEqual([]);
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.map((s) => s.replace(/\?.*/, ''))).toEqual([
      '/admin/static/react.production.min.js',
      '/admin/static/react-dom.production.min.js',
      '/admin/static/graphiql.min.js',
      '/admin/static/admin.js',
    ]);
  });

  it('serves the IDE files from node_modules with their types and long cache headers', async () => {
    const expected: [string, string, RegExp][] = [
      [
        'react.production.min.js',
        path.join(NODE_MODULES, 'react/umd/react.production.min.js'),
        /^text\/javascript/,
      ],
      [
        'react-dom.production.min.js',
        path.join(NODE_MODULES, 'react-dom/umd/react-dom.production.min.js'),
        /^text\/javascript/,
      ],
      ['graphiql.min.js', path.join(NODE_MODULES, 'graphiql/graphiql.min.js'), /^text\/javascript/],
      ['graphiql.min.css', path.join(NODE_MODULES, 'graphiql/graphiql.min.css'), /^text\/css/],
      ['admin.js', path.resolve(__dirname, '../../src/admin/static/admin.js'), /^text\/javascript/],
      ['admin.css', path.resolve(__dirname, '../../src/admin/static/admin.css'), /^text\/css/],
    ];
    for (const [name, file, type] of expected) {
      const res = await fetch(`${t.url}/admin/static/${name}?v=x`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type'), name).toMatch(type);
      expect(res.headers.get('cache-control'), name).toMatch(/max-age=31536000/);
      expect(res.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(file)), name).toBe(true);
    }
    // The bootstrap posts to /graphql with the session cookie.
    const admin = readFileSync(path.resolve(__dirname, '../../src/admin/static/admin.js'), 'utf8');
    expect(admin).toContain("fetch('/graphql'");
    expect(admin).toContain("credentials: 'same-origin'");
    // Nothing else under /admin/static/.
    for (const other of ['index.umd.js', 'package.json', '..%2Fadmin.router.ts', 'x.js']) {
      expect((await fetch(`${t.url}/admin/static/${other}`)).status, other).toBe(404);
    }
  });

  it('gives superusers the IDE too', async () => {
    const client = await staffClient('super@example.com', { isSuperuser: true });
    const html = await (await client.request('/admin/')).text();
    expect(isIde(html)).toBe(true);
  });

  it('refuses a signed-in non-staff user with 403 and a way out', async () => {
    await t.createUser('member@example.com');
    // Signed in through the API's cookie login (the session /graphql uses).
    const client = new Client(t.url);
    const login = await client.request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query:
          'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { user { email } } }',
        variables: { e: 'member@example.com', p: PASSWORD },
      }),
    });
    expect(login.status).toBe(200);
    const res = await client.request('/admin/');
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain('not a staff account');
    expect(html).toContain('action="/admin/logout/"');
    expect(isIde(html)).toBe(false);

    const out = await client.post('/admin/logout/', {});
    expect(out.status).toBe(302);
    const after = await client.request('/admin/');
    expect(after.status).toBe(200);
    expect(hasPasswordForm(await after.text())).toBe(true);
  });

  it('does not sign a non-staff account in through the admin form', async () => {
    await t.createUser('plain@example.com');
    const client = new Client(t.url);
    const res = await client.login('plain@example.com');
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('not a staff account');
    expect(client.cookie()).toBe('');
    const page = await client.request('/admin/');
    expect(page.status).toBe(200);
    expect(isIde(await page.text())).toBe(false);
  });

  it('answers a wrong password or unknown account with the form again (401)', async () => {
    await t.createUser('typo@example.com', { isStaff: true });
    for (const [email, password] of [
      ['typo@example.com', 'not the password'],
      ['nobody@example.com', PASSWORD],
    ] as const) {
      const client = new Client(t.url);
      const res = await client.login(email, password);
      expect(res.status).toBe(401);
      const html = await res.text();
      expect(html).toContain('Unable to sign in with the provided credentials');
      expect(hasPasswordForm(html)).toBe(true);
      expect(html).toContain(`value="${email}"`);
      expect(html).not.toContain(password);
      expect(client.cookie()).toBe('');
    }
    const empty = await new Client(t.url).login('typo@example.com', '');
    expect(empty.status).toBe(400);
  });

  it('blocks an account after repeated failures (429), even with the right password', async () => {
    await t.createUser('guessed@example.com', { isStaff: true });
    for (let i = 0; i < 3; i++) {
      expect((await new Client(t.url).login('guessed@example.com', `wrong ${i}`)).status).toBe(401);
    }
    const client = new Client(t.url);
    const blocked = await client.login('guessed@example.com');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.text()).toContain('Too many failed sign-in attempts');
    expect(client.cookie()).toBe('');
  });

  it('refuses sign-in and sign-out forms sent from another site (login CSRF)', async () => {
    await t.createUser('csrf@example.com', { isStaff: true });
    const forgeries: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'http://evil.example' },
    ];
    for (const headers of forgeries) {
      const client = new Client(t.url);
      const res = await client.request('/admin/login/', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ email: 'csrf@example.com', password: PASSWORD }).toString(),
      });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(client.cookie()).toBe('');
    }
    // Neither header: refused too.
    const bare = await fetch(`${t.url}/admin/login/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: 'csrf@example.com', password: PASSWORD }).toString(),
      redirect: 'manual',
    });
    expect(bare.status).toBe(403);
    // A browser without Sec-Fetch-Site but with this server's Origin is let through.
    const client = new Client(t.url);
    const viaOrigin = await client.request('/admin/login/', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.url },
      body: new URLSearchParams({ email: 'csrf@example.com', password: PASSWORD }).toString(),
    });
    expect(viaOrigin.status).toBe(302);
    // A cross-site sign-out is refused; the session stays.
    const forged = await client.post('/admin/logout/', {}, { 'sec-fetch-site': 'cross-site' });
    expect(forged.status).toBe(403);
    expect(isIde(await (await client.request('/admin/')).text())).toBe(true);
  });

  it('sends a two-factor account on to /auth/two-factor/, then back to the IDE', async () => {
    const { user } = await t.createUser('twofa@example.com', { isStaff: true });
    const em = t.app.db.orm.em.fork();
    const row = await em.findOneOrFail(User, { id: user.id });
    const { manualEntryKey } = await t.app.services.twoFactor.begin(em, row);
    const authenticator = new TestAuthenticator(manualEntryKey);
    await t.app.services.twoFactor.confirm(em, row, await authenticator.next());

    const client = new Client(t.url);
    const res = await client.login('twofa@example.com');
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/auth/two-factor/');
    // Not signed in yet.
    expect(isIde(await (await client.request('/admin/')).text())).toBe(false);

    const form = await client.request('/auth/two-factor/');
    expect(form.status).toBe(200);
    const done = await client.post('/auth/two-factor/', { code: await authenticator.next() });
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toBe('/admin/');
    expect(isIde(await (await client.request('/admin/')).text())).toBe(true);
  });

  it('ends a session whose login method the organisation no longer allows', async () => {
    const client = await staffClient('restricted@example.com');
    const staff = await t.app.db.orm.em
      .fork()
      .findOneOrFail(User, { email: 'restricted@example.com' });
    const em = t.app.db.orm.em.fork();
    const org = em.create(Organisation, { name: 'Google only' });
    await em.flush();
    await t.addMember(staff, org.id, OrganisationRole.USER);
    expect(isIde(await (await client.request('/admin/')).text())).toBe(true);

    await em.nativeUpdate(
      Organisation,
      { id: org.id },
      { allowedLoginMethods: [LoginMethod.GOOGLE] },
    );
    const res = await client.request('/admin/');
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('no longer allows sessions opened with PASSWORD');
    expect(isIde(html)).toBe(false);
    // The session is gone, for /graphql too.
    const me = await t.gql('{ me { email } }', {}, { cookie: client.cookie() });
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("runs the IDE's queries with the user's own permissions; staff may introspect", async () => {
    const client = await staffClient('ide-staff@example.com');
    const { token: otherToken } = await t.createUser('owner@example.com');
    const created = ok(
      await t.gql<{ createOrganisation: { id: string } }>(
        'mutation { createOrganisation(input: { name: "Not yours" }) { id } }',
        {},
        { token: otherToken },
      ),
    ).createOrganisation;

    const cookie = client.cookie();
    const mine = ok(
      await t.gql<{ organisations: { nodes: unknown[] } }>(
        '{ organisations { nodes { id } } }',
        {},
        { cookie },
      ),
    );
    expect(mine.organisations.nodes).toEqual([]);
    const theirs = await t.gql(
      'query($id: ID!) { organisation(id: $id) { name } }',
      { id: created.id },
      { cookie },
    );
    expect(theirs.data).toBeNull();
    expect(theirs.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // Introspection (the IDE's docs and autocomplete) is for staff in production.
    const schema = await t.gql<{ __schema: { queryType: { name: string } } }>(
      '{ __schema { queryType { name } } }',
      {},
      { cookie },
    );
    expect(schema.data?.__schema.queryType.name).toBe('Query');
    const anonymous = await t.gql('{ __schema { queryType { name } } }');
    expect(anonymous.errors?.length).toBeGreaterThan(0);
  });

  it('signs out with POST /admin/logout/, ending the session', async () => {
    const client = await staffClient('leaving@example.com');
    const cookie = client.cookie();
    const out = await client.post('/admin/logout/', {});
    expect(out.status).toBe(302);
    expect(out.headers.get('location')).toBe('/admin/');
    const page = await new Client(t.url).request('/admin/', { headers: { cookie } });
    expect(isIde(await page.text())).toBe(false);
    const me = await t.gql('{ me { email } }', {}, { cookie });
    expect(me.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('admin IDE with password sign-in off (the default)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(undefined, {
      OAUTH_CLIENT_ID: 'dummy-client-id',
      OAUTH_CLIENT_SECRET: 'dummy-client-secret',
    });
  });
  afterAll(() => t?.close());

  it('offers only "Log in using SSO", and refuses the password form', async () => {
    const html = await (await new Client(t.url).request('/admin/')).text();
    expect(hasSsoLink(html)).toBe(true);
    expect(hasPasswordForm(html)).toBe(false);
    expect(html).not.toContain('name="password"');

    await t.createUser('staff@example.com', { isStaff: true });
    const client = new Client(t.url);
    const res = await client.login('staff@example.com');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('ENABLE_ADMIN_ACCESS_USER_PASS');
    expect(client.cookie()).toBe('');
  });
});

describe('admin IDE with no way to sign in configured', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('says how to turn one on', async () => {
    const res = await new Client(t.url).request('/admin/');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(hasPasswordForm(html)).toBe(false);
    expect(hasSsoLink(html)).toBe(false);
    expect(html).toContain('ENABLE_ADMIN_ACCESS_USER_PASS=true');
    expect(html).toContain('OAUTH_CLIENT_ID');
    expect((await new Client(t.url).request(SSO_START)).status).toBe(404);
  });
});
