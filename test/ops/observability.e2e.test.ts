import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type FlagwardApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/shared/logger';
import { createTestStorage, type TestStorage } from '../support/database';
import { PASSWORD, TEST_ENV } from '../support/test-app';

/**
 * Operations through HTTP: `/metrics` (behind its token) counts requests by route pattern
 * and SDK cache lookups, and reports the outbox, the database pool and the process; every
 * log line written while serving a request is JSON carrying the id the response carries
 * (the client's, when it is a sane token), and no line holds a key or token.
 */

const METRICS_TOKEN = 'scrape-token-0123456789abcdef';

type Line = Record<string, unknown>;

describe('metrics and request-id logs', () => {
  let storage: TestStorage;
  let app: FlagwardApp;
  let url: string;
  let token: string;
  let clientKey: string;
  const lines: Line[] = [];
  const raw: string[] = [];

  const gql = async <T>(
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ): Promise<{ data: T; res: Response }> => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return { data: body.data, res };
  };
  const auth = () => ({ authorization: `Bearer ${token}` });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };
  /** The value of one sample (0 when absent). */
  const sample = (text: string, name: string, labels: Record<string, string> = {}): number => {
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    for (const line of text.split('\n')) {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const have = (match[2] ?? '').split(',').filter(Boolean);
      if (wanted.every((w) => have.includes(w)) && have.length === wanted.length)
        return Number(match[3]);
    }
    return 0;
  };

  beforeAll(async () => {
    storage = await createTestStorage();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          raw.push(line);
          lines.push(JSON.parse(line) as Line);
        }
        done();
      },
    });
    const config = loadConfig({
      ...TEST_ENV,
      ...storage.env,
      LOG_LEVEL: 'info',
      METRICS_TOKEN,
      SECRET_KEY: randomBytes(32).toString('hex'),
    });
    app = await createApp(config, { logger: createLogger('info', sink) });
    ({ url } = await app.listen());
    await app.services.users.create(app.db.orm.em.fork(), {
      email: 'ops@example.com',
      password: PASSWORD,
    });
    token = (
      await gql<{ login: { token: string } }>(
        'mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }',
        { e: 'ops@example.com', p: PASSWORD },
      )
    ).data.login.token;
    const org = (
      await gql<{ createOrganisation: { id: string } }>(
        'mutation { createOrganisation(input: { name: "Ops" }) { id } }',
        {},
        auth(),
      )
    ).data.createOrganisation.id;
    const project = (
      await gql<{ createProject: { id: string } }>(
        'mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Web" }) { id } }',
        { o: org },
        auth(),
      )
    ).data.createProject.id;
    clientKey = (
      await gql<{ createEnvironment: { apiKey: string } }>(
        'mutation($p: ID!) { createEnvironment(input: { projectId: $p, name: "Prod" }) { apiKey } }',
        { p: project },
        auth(),
      )
    ).data.createEnvironment.apiKey;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await storage?.cleanup();
  });

  it('refuses /metrics without the token', async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const post = await fetch(`${url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('counts requests by route pattern, cache lookups, and reports outbox, pool and process', async () => {
    const before = await scrape();
    const flags = { method: 'GET', route: '/api/v1/flags/', status: '200' };
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/api/v1/flags/`, {
        headers: { 'x-environment-key': clientKey },
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    // Express routes by their pattern, unknown paths as one label, keys never.
    // The same query twice: run and kept, then answered from memory; a mutation is never kept.
    for (let i = 0; i < 2; i++) await gql('{ organisations { totalCount } }', {}, auth());
    await gql('mutation { logoutEverywhere(keepCurrent: true) }', {}, auth());
    expect((await fetch(`${url}/admin/static/admin.css`)).status).toBe(200);
    expect((await fetch(`${url}/no/such/path/12345`)).status).toBe(404);
    const stream = await fetch(`${url}/sse/environments/${clientKey}/stream`);
    expect(stream.status).toBe(200);
    await stream.body!.cancel();
    // A stream is counted when it ends, which the server learns a moment after the client.
    let after = await scrape();
    for (let i = 0; i < 100 && sample(after, 'flagward_realtime_streams') > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await scrape();
    }

    expect(
      sample(after, 'http_requests_total', flags) - sample(before, 'http_requests_total', flags),
    ).toBe(3);
    const flagsDuration = { method: 'GET', route: '/api/v1/flags/' };
    expect(
      sample(after, 'http_request_duration_seconds_count', flagsDuration) -
        sample(before, 'http_request_duration_seconds_count', flagsDuration),
    ).toBe(3);
    // A Prometheus histogram: cumulative buckets, +Inf equal to the count, a sum.
    expect(after).toContain('# TYPE http_request_duration_seconds histogram');
    expect(after).toContain('# TYPE http_requests_total counter');
    const buckets = [
      '0.002',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ].map((le) => sample(after, 'http_request_duration_seconds_bucket', { ...flagsDuration, le }));
    for (let i = 1; i < buckets.length; i++)
      expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(buckets.at(-1)).toBe(
      sample(after, 'http_request_duration_seconds_count', flagsDuration),
    );
    expect(sample(after, 'http_request_duration_seconds_sum', flagsDuration)).toBeGreaterThan(0);
    expect(
      sample(after, 'http_requests_total', {
        method: 'GET',
        route: '/admin/static/:name',
        status: '200',
      }),
    ).toBe(1);
    expect(
      sample(after, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' }),
    ).toBe(1);
    expect(after).toContain('route="/sse/environments/{key}/stream"');
    expect(after).toContain('route="/graphql"');
    expect(after).not.toContain(clientKey);
    expect(after).not.toContain('12345');

    const hits = { cache: 'key', result: 'hit' };
    expect(
      sample(after, 'flagward_sdk_cache_lookups_total', hits) -
        sample(before, 'flagward_sdk_cache_lookups_total', hits),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(after, 'flagward_sdk_cache_lookups_total', { cache: 'document', result: 'hit' }),
    ).toBeGreaterThanOrEqual(2);

    const answers = (result: string) =>
      sample(after, 'flagward_graphql_answer_cache_total', { result }) -
      sample(before, 'flagward_graphql_answer_cache_total', { result });
    expect([answers('miss'), answers('hit'), answers('uncacheable')]).toEqual([1, 1, 1]);
    expect(sample(after, 'flagward_graphql_answer_cache_entries')).toBeGreaterThanOrEqual(1);

    expect(after).toMatch(/^flagward_webhook_outbox_deliveries\{state="pending"\} 0$/m);
    expect(sample(after, 'flagward_db_pool_max')).toBe(storage.kind === 'embedded' ? 1 : 10);
    expect(after).toMatch(/^flagward_db_pool_connections\{state="used"\} \d+$/m);
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('logs JSON lines carrying the request id the response carries, and no secrets', async () => {
    const from = lines.length;
    // A sane client id is kept; the reset mail is logged (no EMAIL_HOST) by the mailer.
    const { res } = await gql(
      'mutation { requestPasswordReset(email: "ops@example.com") }',
      {},
      { 'x-request-id': 'trace-42.a_b', ...auth() },
    );
    expect(res.headers.get('x-request-id')).toBe('trace-42.a_b');
    // An SDK request with its key, and a bad client id, which is replaced.
    const sdk = await fetch(`${url}/api/v1/flags/`, {
      headers: { 'x-environment-key': clientKey, 'x-request-id': 'no spaces allowed' },
    });
    await sdk.arrayBuffer();
    const sdkId = sdk.headers.get('x-request-id')!;
    expect(sdkId).toMatch(/^[0-9a-f-]{36}$/);
    const long = await fetch(`${url}/health/liveness`, {
      headers: { 'x-request-id': 'a'.repeat(200) },
    });
    expect(long.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const mine = lines.slice(from);
    const traced = mine.filter((l) => l.requestId === 'trace-42.a_b');
    expect(traced.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['mail not sent: EMAIL_HOST is not set', 'request']),
    );
    expect(traced.find((l) => l.msg === 'request')).toMatchObject({
      method: 'POST',
      route: '/graphql',
      status: 200,
      durationMs: expect.any(Number),
    });
    const sdkLine = mine.find((l) => l.msg === 'request' && l.requestId === sdkId);
    expect(sdkLine).toMatchObject({
      level: 30,
      time: expect.any(Number),
      service: 'flagward',
      method: 'GET',
      route: '/api/v1/flags/',
      status: 200,
    });
    // The logger's own line shape, in its order.
    expect(Object.keys(sdkLine!)).toEqual([
      'level',
      'time',
      'service',
      'requestId',
      'method',
      'route',
      'status',
      'durationMs',
      'msg',
    ]);
    // One access line per request.
    expect(mine.filter((l) => l.msg === 'request')).toHaveLength(3);

    const text = raw.join('\n');
    expect(text).not.toContain(token);
    expect(text).not.toContain(clientKey);
    expect(text).not.toContain(METRICS_TOKEN);
    expect(text).not.toContain(PASSWORD);
  });
});
