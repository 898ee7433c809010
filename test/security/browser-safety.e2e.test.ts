import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config';
import { Organisation } from '../../src/organisations/organisation.entity';
import { createWorkspace, type Workspace } from '../support/fixtures';
import { createTestApp, PASSWORD, type TestApp } from '../support/test-app';

/**
 * What a browser relies on: cookie-authenticated GraphQL cannot be driven by another site
 * (CSRF), the management API answers only the origins it is told to (CORS) while the SDK
 * endpoints answer every origin, and every HTML page forbids framing, sniffing, referrers
 * and foreign content.
 */

const ALLOWED = 'https://admin.example.com';
const FOREIGN = 'https://evil.example';
const ME = '{ me { email } }';
const CREATE_ORG = 'mutation { createOrganisation(input: { name: "Forged" }) { id } }';

describe('browser-facing safety', () => {
  let t: TestApp;
  let ws: Workspace;
  let cookie: string;
  /** The first-run page, fetched while the instance had no users. */
  let initPage: Response;

  const organisations = (): Promise<number> => t.app.db.orm.em.fork().count(Organisation, {});

  /** Signs in through GraphQL in COOKIE mode; the raw Set-Cookie header and the cookie pair. */
  async function cookieLogin(
    email: string,
    headers: Record<string, string> = {},
  ): Promise<{ setCookie: string; pair: string }> {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        query:
          'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: COOKIE }) { user { email } } }',
        variables: { e: email, p: PASSWORD },
      }),
    });
    expect(res.status).toBe(200);
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('flagward.sid='));
    expect(setCookie).toBeDefined();
    return { setCookie: setCookie!, pair: setCookie!.split(';')[0]! };
  }

  const attributes = (setCookie: string): string[] =>
    setCookie
      .split(';')
      .slice(1)
      .map((a) => a.trim().toLowerCase());

  beforeAll(async () => {
    t = await createTestApp(undefined, {
      WEBHOOK_WORKER: 'false',
      CORS_ALLOWED_ORIGINS: `${ALLOWED}, http://localhost:3000`,
      ENABLE_ADMIN_ACCESS_USER_PASS: 'true',
      OAUTH_CLIENT_ID: 'google-client',
      OAUTH_CLIENT_SECRET: 'google-secret',
      GOOGLE_AUTHORIZATION_URL: 'http://127.0.0.1:9/authorize',
      GOOGLE_TOKEN_URL: 'http://127.0.0.1:9/token',
      GOOGLE_USER_PROFILE_URL: 'http://127.0.0.1:9/userinfo',
    });
    initPage = await fetch(`${t.url}/api/v1/users/config/init/`);
    const { token } = await t.createUser('browser@example.com', { isStaff: true });
    ws = await createWorkspace(t, token);
    cookie = (await cookieLogin('browser@example.com')).pair;
  });
  afterAll(() => t?.close());

  describe('CSRF', () => {
    it('session cookies are HttpOnly and SameSite=Lax, and Secure behind TLS', async () => {
      const plain = await cookieLogin('browser@example.com');
      expect(attributes(plain.setCookie)).toEqual(
        expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']),
      );
      expect(attributes(plain.setCookie)).not.toContain('secure');
      // Behind a TLS-terminating proxy the test server trusts (loopback): Secure.
      const tls = await cookieLogin('browser@example.com', { 'x-forwarded-proto': 'https' });
      expect(attributes(tls.setCookie)).toEqual(
        expect.arrayContaining(['httponly', 'samesite=lax', 'secure']),
      );
      // The admin sign-in form and the OAuth start set the same cookie, the same way.
      const admin = await fetch(`${t.url}/admin/login/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'sec-fetch-site': 'same-origin',
        },
        body: new URLSearchParams({ email: 'browser@example.com', password: PASSWORD }),
        redirect: 'manual',
      });
      expect(admin.status).toBe(302);
      const oauth = await fetch(`${t.url}/auth/oauth/google/`, { redirect: 'manual' });
      expect(oauth.status).toBe(302);
      for (const res of [admin, oauth]) {
        const set = res.headers.getSetCookie().find((c) => c.startsWith('flagward.sid='));
        expect(attributes(set!)).toEqual(
          expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']),
        );
      }
    });

    it('the cookie authenticates a JSON request (the control)', async () => {
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie },
        body: JSON.stringify({ query: ME }),
      });
      expect(await res.json()).toEqual({ data: { me: { email: 'browser@example.com' } } });
    });

    it('refuses what a page of another site can send without a preflight, and runs nothing', async () => {
      const before = await organisations();
      const body = JSON.stringify({ query: CREATE_ORG });
      const simple: [string, RequestInit][] = [
        ['text/plain', { method: 'POST', headers: { 'content-type': 'text/plain' }, body }],
        [
          'form-urlencoded',
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ query: CREATE_ORG }).toString(),
          },
        ],
        [
          'multipart',
          {
            method: 'POST',
            headers: { 'content-type': 'multipart/form-data; boundary=x' },
            body: `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${CREATE_ORG}\r\n--x--\r\n`,
          },
        ],
        ['no content type', { method: 'POST', body: new Blob([body]) }],
        ['GET query', { method: 'GET' }],
        ['GET mutation', { method: 'GET' }],
      ];
      for (const [name, init] of simple) {
        const query = name === 'GET mutation' ? CREATE_ORG : ME;
        const url =
          init.method === 'GET' ? `/graphql?query=${encodeURIComponent(query)}` : '/graphql';
        const res = await fetch(t.url + url, {
          ...init,
          headers: { ...(init.headers as Record<string, string>), cookie },
        });
        const answer = (await res.json()) as { data?: unknown; errors?: { message: string }[] };
        expect(res.status, name).toBe(400);
        expect(answer.data, name).toBeUndefined();
        expect(answer.errors?.[0]?.message, name).toMatch(/Cross-Site Request Forgery/);
      }
      expect(await organisations()).toBe(before);
      // A script may send a GET query with a header no form can set; a GET still never mutates.
      const preflighted = await fetch(`${t.url}/graphql?query=${encodeURIComponent(ME)}`, {
        headers: { cookie, 'apollo-require-preflight': 'true' },
      });
      expect(await preflighted.json()).toEqual({ data: { me: { email: 'browser@example.com' } } });
      const getMutation = await fetch(`${t.url}/graphql?query=${encodeURIComponent(CREATE_ORG)}`, {
        headers: { cookie, 'apollo-require-preflight': 'true' },
      });
      expect(getMutation.status).toBe(405);
      expect(await organisations()).toBe(before);
    });
  });

  describe('CORS', () => {
    const preflight = (path: string, origin: string, method = 'POST') =>
      fetch(t.url + path, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': method,
          'access-control-request-headers': 'content-type, authorization',
        },
      });

    it('answers the management API’s preflight for an allowed origin only', async () => {
      const allowed = await preflight('/graphql', ALLOWED);
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
      expect(allowed.headers.get('access-control-allow-methods')).toMatch(/POST/);
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Content-Type/);
      expect(allowed.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
      expect(allowed.headers.get('vary')).toMatch(/Origin/);
      const local = await preflight('/graphql', 'http://localhost:3000');
      expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');

      for (const origin of [
        FOREIGN,
        'null',
        `${ALLOWED}.evil.example`,
        'http://admin.example.com',
      ]) {
        const refused = await preflight('/graphql', origin);
        expect(refused.status, origin).toBe(403);
        expect(refused.headers.get('access-control-allow-origin'), origin).toBeNull();
        expect(refused.headers.get('access-control-allow-credentials'), origin).toBeNull();
      }
    });

    it('serves an allowed origin’s requests with credentials, refuses a foreign one’s', async () => {
      const before = await organisations();
      const post = (origin: string, query: string) =>
        fetch(`${t.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin, cookie },
          body: JSON.stringify({ query }),
        });
      const allowed = await post(ALLOWED, ME);
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
      expect(await allowed.json()).toEqual({ data: { me: { email: 'browser@example.com' } } });

      const foreign = await post(FOREIGN, CREATE_ORG);
      expect(foreign.status).toBe(403);
      expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
      expect(await foreign.json()).toEqual({
        errors: [
          {
            message: `Pages of ${FOREIGN} may not call this API (see CORS_ALLOWED_ORIGINS)`,
            extensions: { code: 'FORBIDDEN', reason: 'ORIGIN_NOT_ALLOWED' },
          },
        ],
      });
      expect(await organisations()).toBe(before);

      // This server's own pages (the admin IDE): by Origin or by Sec-Fetch-Site.
      const own: Record<string, string>[] = [
        { origin: t.url },
        { origin: t.url, 'sec-fetch-site': 'same-origin' },
      ];
      for (const headers of own) {
        const res = await fetch(`${t.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', cookie, ...headers },
          body: JSON.stringify({ query: ME }),
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
      }
      // Without Origin (servers, scripts): as ever.
      const server = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie },
        body: JSON.stringify({ query: ME }),
      });
      expect(server.status).toBe(200);
    });

    it('leaves the SDK endpoints open to every origin', async () => {
      const pre = await preflight('/api/v1/flags/', FOREIGN, 'GET');
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('*');
      const flags = await fetch(`${t.url}/api/v1/flags/`, {
        headers: { origin: FOREIGN, 'x-environment-key': ws.apiKeys.Development! },
      });
      expect(flags.status).toBe(200);
      expect(flags.headers.get('access-control-allow-origin')).toBe('*');
      const identity = await fetch(`${t.url}/api/v1/identities/`, {
        method: 'POST',
        headers: {
          origin: 'http://localhost:5173',
          'content-type': 'application/json',
          'x-environment-key': ws.apiKeys.Development!,
        },
        body: JSON.stringify({ identifier: 'browser-user' }),
      });
      expect(identity.status).toBe(200);
      expect(identity.headers.get('access-control-allow-origin')).toBe('*');
    });

    it('refuses a setting that is not a list of origins at start-up', () => {
      for (const bad of [
        '*',
        'https://admin.example.com/path',
        'admin.example.com',
        'ftp://x.example',
      ]) {
        expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: bad }), bad).toThrow(ConfigError);
      }
      expect(
        loadConfig({ CORS_ALLOWED_ORIGINS: 'HTTPS://Admin.Example.com:443, http://localhost:3000' })
          .http.corsAllowedOrigins,
      ).toEqual(['https://admin.example.com', 'http://localhost:3000']);
      expect(loadConfig({}).http.corsAllowedOrigins).toEqual([]);
    });
  });

  describe('security headers on HTML pages', () => {
    /** What every HTML page must say. */
    function expectSafeHtml(res: Response, label: string): void {
      expect(res.headers.get('content-type'), label).toMatch(/^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, label).toMatch(/default-src 'none'/);
      expect(csp, label).toMatch(/frame-ancestors 'none'/);
      expect(csp, label).toMatch(/base-uri 'none'/);
      expect(csp, label).toMatch(/form-action 'self'/);
      expect(csp, label).not.toMatch(/script-src[^;]*'unsafe-inline'/);
      expect(res.headers.get('x-frame-options'), label).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), label).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), label).toBe('no-referrer');
      expect(res.headers.get('cache-control'), label).toBe('no-store');
    }

    const form = (
      path: string,
      fields: Record<string, string>,
      headers: Record<string, string> = {},
    ) =>
      fetch(t.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams(fields),
        redirect: 'manual',
      });

    it('sends them with every page: reset, set-up, two-factor, OAuth, admin sign-in and IDE', async () => {
      const pages: [string, Response][] = [
        ['GET /api/v1/users/config/init/ (no users yet)', initPage],
        ['GET /password-reset', await fetch(`${t.url}/password-reset?token=abc`)],
        [
          'POST /password-reset (refused)',
          await form('/password-reset', { token: 'nope', password: 'a', password2: 'b' }),
        ],
        [
          'POST /password-reset (bad token)',
          await form('/password-reset', {
            token: 'nope',
            password: 'long enough password',
            password2: 'long enough password',
          }),
        ],
        ['GET /auth/two-factor/ (nothing pending)', await fetch(`${t.url}/auth/two-factor/`)],
        [
          'POST /auth/two-factor/ (nothing pending)',
          await form('/auth/two-factor/', { code: '1' }),
        ],
        [
          'GET OAuth callback without a code',
          await fetch(`${t.url}/admin/admin_sso/assignment/end/`),
        ],
        [
          'GET OAuth callback with a forged state',
          await fetch(`${t.url}/admin/admin_sso/assignment/end/?code=x&state=forged`),
        ],
        ['GET /admin/ (sign-in page)', await fetch(`${t.url}/admin/`)],
        [
          'POST /admin/login/ (wrong password)',
          await form(
            '/admin/login/',
            { email: 'browser@example.com', password: 'wrong password' },
            { 'sec-fetch-site': 'same-origin' },
          ),
        ],
        [
          'POST /admin/login/ (from another site)',
          await form(
            '/admin/login/',
            { email: 'browser@example.com', password: PASSWORD },
            { 'sec-fetch-site': 'cross-site' },
          ),
        ],
        ['GET /admin/ (the IDE, staff)', await fetch(`${t.url}/admin/`, { headers: { cookie } })],
      ];
      for (const [label, res] of pages) expectSafeHtml(res, `${label} (${res.status})`);
      // The IDE loads only its own scripts, never inline ones.
      const ide = pages.at(-1)![1];
      expect(ide.status).toBe(200);
      expect(ide.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
      expect(await ide.text()).toContain('id="graphiql"');
      console.log(`security headers checked on ${pages.length} HTML pages`);
    });
  });
});
