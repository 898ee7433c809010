import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, ok, type Workspace } from '../support/fixtures';
import { Fingerprinter } from '../support/security';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * Every route refuses an oversized request body with 413 and a clear JSON body — never a
 * 500, never a hang, and nothing written. A body declared larger than any route reads (1 MiB)
 * is refused before any route runs, whatever the route; a body sent without a length is cut
 * off at the route's own limit as it is read (16 KiB for forms and the OAuth token exchange,
 * 1 MiB for /graphql and the SDK API).
 */

const MiB = 1024 * 1024;
const KiB = 1024;

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

/**
 * Sends `size` bytes of body: with a Content-Length, or chunked (no length: the server only
 * learns the size by reading). Resolves with the answer even when the server stops reading
 * early (the rest of the upload may then fail, which is the point).
 */
function send(
  base: string,
  method: string,
  target: string,
  size: number,
  opts: { chunked?: boolean; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const url = new URL(base);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.chunked) headers['transfer-encoding'] = 'chunked';
  else headers['content-length'] = String(size);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path: target, headers, timeout: 20_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${target}: no answer in 20 s`)));
    // Once answered, the server may close while the upload goes on: that is not a failure.
    req.on('error', (err) => {
      if (!req.writableEnded || !('code' in err)) reject(err);
    });
    const chunk = Buffer.alloc(64 * KiB, 'a');
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += part.length;
        if (!req.write(part)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

/** A route as Express declares it. */
interface Route {
  readonly method: string;
  readonly path: string;
}

type Layer = {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
};

/** Every route the Express app declares (its routers walked). */
function expressRoutes(t: TestApp): Route[] {
  const found: Route[] = [];
  const walk = (stack: readonly Layer[]): void => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) {
          found.push({ method: method.toUpperCase(), path: layer.route.path });
        }
      }
      if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((t.app.express as unknown as { router: { stack: Layer[] } }).router.stack);
  return found;
}

/** The SDK API's paths, as written in src/rest (a new one there must be added below). */
function sdkPathsInSource(): string[] {
  const dir = path.join(__dirname, '../../src/rest');
  const paths = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/['`](\/(?:api\/v\d|ofrep\/v1|sse)\/[^'`\s]*)['`]/g)) {
      paths.add(m[1]!);
    }
  }
  return [...paths];
}

describe('request body limits', () => {
  let t: TestApp;
  let ws: Workspace;
  let serverKey: string;
  let printer: Fingerprinter;

  beforeAll(async () => {
    t = await createTestApp(undefined, {
      WEBHOOK_WORKER: 'false',
      USAGE_FLUSH_SECONDS: '3600',
      ENABLE_ADMIN_ACCESS_USER_PASS: 'true',
      // Configured, so their routes go as far as reading a body; no request here reaches them.
      OAUTH_CLIENT_ID: 'google-client',
      OAUTH_CLIENT_SECRET: 'google-secret',
      GITHUB_CLIENT_ID: 'github-client',
      GITHUB_CLIENT_SECRET: 'github-secret',
      GOOGLE_TOKEN_URL: 'http://127.0.0.1:9/token',
      GOOGLE_USER_PROFILE_URL: 'http://127.0.0.1:9/userinfo',
      GITHUB_TOKEN_URL: 'http://127.0.0.1:9/token',
      GITHUB_USER_PROFILE_URL: 'http://127.0.0.1:9/user',
      GITHUB_USER_EMAIL_URL: 'http://127.0.0.1:9/emails',
    });
    const { token } = await t.createUser('bodies@example.com');
    ws = await createWorkspace(t, token, { environments: ['Production'] });
    serverKey = ok(
      await t.gql<{ createServerSideKey: { key: string } }>(
        'mutation($e: ID!) { createServerSideKey(input: { environmentId: $e, name: "srv" }) { key } }',
        { e: ws.environments.Production },
        { token },
      ),
    ).createServerSideKey.key;
    printer = await Fingerprinter.of(t);
  });
  afterAll(() => t?.close());

  /** Headers that get a request past authentication on each kind of route. */
  const keyed = (target: string): Record<string, string> => {
    if (target.startsWith('/ofrep/')) return { authorization: `Bearer ${serverKey}` };
    if (target.startsWith('/api/v1/environment-document'))
      return { 'x-environment-key': serverKey };
    return { 'x-environment-key': ws.apiKeys.Production! };
  };

  /** Node-level routes (ahead of Express): the SDK API, OFREP, realtime, metrics. */
  const sdkRoutes = (): Route[] => [
    { method: 'GET', path: '/api/v1/flags/' },
    { method: 'GET', path: '/api/v1/identities/?identifier=x' },
    { method: 'POST', path: '/api/v1/identities/' },
    { method: 'GET', path: '/api/v1/environment-document/' },
    { method: 'GET', path: '/api/v1/environment-document' },
    { method: 'POST', path: '/api/v1/traits/' },
    { method: 'PUT', path: '/api/v1/traits/bulk/' },
    { method: 'POST', path: '/api/v1/traits/increment-value/' },
    { method: 'POST', path: '/api/v1/analytics/flags/' },
    { method: 'POST', path: '/api/v2/analytics/flags/' },
    { method: 'POST', path: '/ofrep/v1/evaluate/flags' },
    { method: 'POST', path: '/ofrep/v1/evaluate/flags/some_flag' },
    { method: 'GET', path: `/sse/environments/${ws.apiKeys.Production!}/stream` },
    { method: 'GET', path: '/metrics' },
  ];

  /** Express routes, with a concrete path for the one with a parameter. */
  const concrete = (r: Route): Route =>
    r.path === '/admin/static/:name' ? { ...r, path: '/admin/static/admin.css' } : r;

  it('knows every route: the list below covers what Express and src/rest declare', () => {
    const express = expressRoutes(t);
    expect(express.length).toBeGreaterThanOrEqual(20);
    const sdk = sdkRoutes().map((r) => r.path.split('?')[0]!);
    for (const p of sdkPathsInSource()) {
      const covered = sdk.some((s) => s === p || (p.endsWith('/') && s.startsWith(p)));
      const streamPattern = p.startsWith('/sse/');
      expect(covered || streamPattern || express.some((r) => r.path === p), p).toBe(true);
    }
    console.log(
      `routes: ${express.length} Express routes + /graphql (GET, POST) + ${sdkRoutes().length} node-level routes`,
    );
  });

  it('refuses a body declared larger than 1 MiB on every route with 413, before the route runs', async () => {
    const routes: Route[] = [
      ...expressRoutes(t).map(concrete),
      { method: 'POST', path: '/graphql' },
      { method: 'GET', path: '/graphql?query=%7B__typename%7D' },
      { method: 'POST', path: '/no/such/route' },
      ...sdkRoutes(),
    ];
    const before = await printer.take();
    const seen: string[] = [];
    for (const r of routes) {
      const answer = await send(t.url, r.method, r.path, MiB + 1, { headers: keyed(r.path) });
      const label = `${r.method} ${r.path}`;
      expect(answer.status, `${label}: ${answer.body.slice(0, 200)}`).toBe(413);
      expect(answer.type, label).toMatch(/^application\/json/);
      const body = JSON.parse(answer.body) as Record<string, unknown>;
      if (r.path.startsWith('/graphql')) {
        expect(body, label).toEqual({
          errors: [
            { message: 'Request body is too large.', extensions: { code: 'PAYLOAD_TOO_LARGE' } },
          ],
        });
      } else if (r.path.startsWith('/ofrep/')) {
        expect(body, label).toEqual({
          errorCode: 'PARSE_ERROR',
          errorDetails: 'Request body is too large.',
        });
      } else {
        expect(body, label).toEqual({ detail: 'Request body is too large.' });
      }
      seen.push(label);
    }
    expect(await printer.take()).toBe(before);
    console.log(`declared 1 MiB + 1 byte: 413 on ${seen.length} routes, database unchanged`);
  });

  it('cuts a body sent without a length at each route’s own limit, with 413 and nothing written', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const cases: {
      method: string;
      path: string;
      limit: number;
      headers?: Record<string, string>;
    }[] = [
      { method: 'POST', path: '/graphql', limit: MiB },
      { method: 'POST', path: '/password-reset', limit: 16 * KiB, headers: form },
      { method: 'POST', path: '/api/v1/users/config/init/', limit: 16 * KiB, headers: form },
      { method: 'POST', path: '/auth/two-factor/', limit: 16 * KiB, headers: form },
      { method: 'POST', path: '/admin/login/', limit: 16 * KiB, headers: form },
      { method: 'POST', path: '/api/v1/auth/oauth/google/', limit: 16 * KiB },
      { method: 'POST', path: '/api/v1/auth/oauth/github/', limit: 16 * KiB },
      { method: 'POST', path: '/api/v1/identities/', limit: MiB },
      { method: 'POST', path: '/api/v1/traits/', limit: MiB },
      { method: 'PUT', path: '/api/v1/traits/bulk/', limit: MiB },
      { method: 'POST', path: '/api/v1/traits/increment-value/', limit: MiB },
      { method: 'POST', path: '/api/v1/analytics/flags/', limit: MiB },
      { method: 'POST', path: '/api/v2/analytics/flags/', limit: MiB },
      { method: 'POST', path: '/ofrep/v1/evaluate/flags', limit: MiB },
      { method: 'POST', path: '/ofrep/v1/evaluate/flags/some_flag', limit: MiB },
    ];
    const before = await printer.take();
    for (const c of cases) {
      const label = `${c.method} ${c.path} (limit ${c.limit} bytes)`;
      const over = await send(t.url, c.method, c.path, c.limit + 1, {
        chunked: true,
        headers: { ...keyed(c.path), ...c.headers },
      });
      expect(over.status, `${label}: ${over.body.slice(0, 200)}`).toBe(413);
      expect(over.type, label).toMatch(/^application\/json/);
      expect(over.body, label).toContain('Request body is too large.');
    }
    expect(await printer.take()).toBe(before);
    // The forms' limit is their own: 64 KiB is refused there, accepted in size by /graphql.
    const graphql = await send(t.url, 'POST', '/graphql', 64 * KiB, { chunked: true });
    expect(graphql.status).toBe(400);
    expect(graphql.body).not.toContain('too large');
    console.log(
      `sent without a length, one byte over the route's limit: 413 on ${cases.length} routes`,
    );
  });

  it('keeps serving after all that', async () => {
    const res = await fetch(`${t.url}/api/v1/flags/`, {
      headers: { 'x-environment-key': ws.apiKeys.Production! },
    });
    expect(res.status).toBe(200);
    expect((await fetch(`${t.url}/health/readiness`)).status).toBe(200);
  });
});
