import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identity, Trait } from '../../src/identities/identity.entity';
import { createWorkspace, type Workspace } from '../support/fixtures';
import { adminGql, createServerSideKey } from '../support/sdk-workspace';
import { createTestApp, type TestApp } from '../support/test-app';

/**
 * Bad input on every SDK endpoint that reads a body (issue 4, point 5): malformed JSON,
 * bodies of the wrong type, media type, charset or encoding, bodies over the 1 MiB limit
 * (declared or streamed), requests cut off mid-body, odd keys and methods. Each gets
 * Flagsmith's status and JSON error shape, never a 500, and writes nothing.
 */

const LIMIT = 1024 * 1024;

/** Every SDK endpoint that reads a JSON body, with its method. */
const BODY_ENDPOINTS: readonly (readonly [string, string])[] = [
  ['POST', '/api/v1/identities/'],
  ['POST', '/api/v1/traits/'],
  ['PUT', '/api/v1/traits/bulk/'],
  ['POST', '/api/v1/traits/increment-value/'],
  ['POST', '/api/v1/analytics/flags/'],
  ['POST', '/api/v2/analytics/flags/'],
];

describe('SDK REST shim: bad input', () => {
  let t: TestApp;
  let ws: Workspace;
  let envId: number;
  let serverKey: string;

  const send = (
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<Response> =>
    fetch(`${t.url}${path}`, {
      method,
      headers: { 'x-environment-key': serverKey, ...headers },
      body,
    });

  async function rows(): Promise<{ identities: number; traits: number }> {
    const em = t.app.db.orm.em.fork();
    return {
      identities: await em.count(Identity, { environment: envId }),
      traits: await em.count(Trait, { identity: { environment: envId } }),
    };
  }

  /** A raw HTTP/1.1 exchange; resolves with the response text once the server closes or answers. */
  function raw(request: string | Buffer[], waitMs = 2_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const { port, hostname } = new URL(t.url);
      const socket = connect(Number(port), hostname);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('error', (err) => (text ? resolve(text) : reject(err)));
      socket.on('close', () => resolve(text));
      socket.on('connect', () => {
        for (const part of typeof request === 'string' ? [Buffer.from(request)] : request)
          socket.write(part);
      });
      setTimeout(() => {
        socket.destroy();
        resolve(text);
      }, waitMs).unref();
    });
  }

  beforeAll(async () => {
    t = await createTestApp();
    const { token } = await t.createUser('bad-input@example.com', { isSuperuser: true });
    ws = await createWorkspace(t, token, { environments: ['Production'] });
    envId = Number(ws.environments.Production);
    serverKey = await createServerSideKey(adminGql(t, token), ws.environments.Production!);
  });

  afterAll(() => t?.close());

  it.each(BODY_ENDPOINTS)('%s %s: malformed JSON is a 400 JSON parse error', async (m, path) => {
    for (const body of ['{"identifier": ', '{"a": 1,}', "{'a': 1}", 'nope', '\u0000']) {
      const res = await send(m, path, body);
      expect(res.status, body).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/^JSON parse error - /);
    }
  });

  it.each(BODY_ENDPOINTS)(
    '%s %s: a body over 1 MiB is a 413, declared or streamed',
    async (m, path) => {
      const big = JSON.stringify({ identifier: 'x'.repeat(LIMIT) });
      const declared = await send(m, path, big);
      expect(declared.status).toBe(413);
      expect(await declared.json()).toEqual({ detail: 'Request body is too large.' });

      // Chunked, without a length: the server stops reading at the limit.
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"identifier": "'));
          for (let i = 0; i < 20; i++) controller.enqueue(chunk);
          controller.close();
        },
      });
      const streamed = await fetch(`${t.url}${path}`, {
        method: m,
        headers: { 'x-environment-key': serverKey, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(await streamed.json()).toEqual({ detail: 'Request body is too large.' });
    },
  );

  it.each(BODY_ENDPOINTS)(
    '%s %s: not JSON, another charset or an encoding is a 415',
    async (m, path) => {
      const cases: [Record<string, string>, string][] = [
        [{ 'content-type': 'text/plain' }, 'Unsupported media type "text/plain" in request.'],
        [
          { 'content-type': 'application/x-www-form-urlencoded' },
          'Unsupported media type "application/x-www-form-urlencoded" in request.',
        ],
        [{ 'content-type': 'application/json; charset=latin1' }, 'Unsupported charset "LATIN1".'],
        [
          { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          'Unsupported content encoding "gzip".',
        ],
      ];
      for (const [headers, detail] of cases) {
        const res = await send(m, path, '{"identifier": "x"}', headers);
        expect(res.status, JSON.stringify(headers)).toBe(415);
        expect(await res.json()).toEqual({ detail });
      }
    },
  );

  it.each(BODY_ENDPOINTS)(
    '%s %s: JSON of the wrong shape is a 4xx with a JSON body',
    async (m, path) => {
      const shapes = [
        'null',
        '1',
        '"text"',
        'true',
        '[]',
        '[1, "a", null]',
        '{"identifier": {"$ne": null}}',
        '{"identifier": "x", "traits": {"$gt": ""}}',
        `{"identifier": "x", "traits": [${'{"trait_key": "k", "trait_value": 1},'.repeat(2000)}{}]}`,
        '[{"identity": {"identifier": "x"}, "trait_key": "k", "trait_value": {"$ne": 1}}]',
        `{"evaluations": [${'['.repeat(5000)}${']'.repeat(5000)}]}`,
        '{"identifier": "\\ud800", "trait_key": "\\udfff", "trait_value": "\\u0000"}',
      ];
      for (const body of shapes) {
        const res = await send(m, path, body);
        expect(res.status, `${body.slice(0, 60)} → ${res.status}`).toBeLessThan(500);
        if (res.status >= 400) {
          expect(res.headers.get('content-type'), body.slice(0, 60)).toMatch(
            /^(application\/json|text\/html)/,
          );
        }
        await res.arrayBuffer();
      }
    },
  );

  it('writes nothing for a rejected identity or trait request', async () => {
    const before = await rows();
    const rejected: [string, string, unknown][] = [
      // One bad trait among good ones: the whole request is refused.
      [
        'POST',
        '/api/v1/identities/',
        {
          identifier: 'partial',
          traits: [
            { trait_key: 'plan', trait_value: 'pro' },
            { trait_key: 'age', trait_value: 'x'.repeat(3000) },
          ],
        },
      ],
      [
        'PUT',
        '/api/v1/traits/bulk/',
        [
          { identity: { identifier: 'partial' }, trait_key: 'plan', trait_value: 'pro' },
          { identity: { identifier: 'partial-2' }, trait_key: '', trait_value: 1 },
        ],
      ],
      [
        'POST',
        '/api/v1/traits/',
        { identity: { identifier: 'partial' }, trait_key: 'k', trait_value: null },
      ],
      [
        'POST',
        '/api/v1/traits/increment-value/',
        { identifier: 'partial', trait_key: 'n', increment_by: 'one' },
      ],
    ];
    for (const [m, path, body] of rejected) {
      const res = await send(m, path, JSON.stringify(body));
      expect(res.status, path).toBe(400);
      await res.arrayBuffer();
    }
    expect(await rows()).toEqual(before);
  });

  it('ignores unknown keys in a body, as DRF does', async () => {
    const res = await send(
      'POST',
      '/api/v1/identities/',
      JSON.stringify({ identifier: 'extra', traits: [], unknown: { deep: [1] }, __proto__x: 1 }),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { identifier: string }).identifier).toBe('extra');
  });

  it('survives a client that stops mid-body, and serves the next request', async () => {
    const before = await rows();
    const head =
      `POST /api/v1/identities/ HTTP/1.1\r\nHost: x\r\nX-Environment-Key: ${serverKey}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"identifier": "cut';
    const answer = await raw([Buffer.from(head)], 300);
    expect(answer).toBe('');
    const next = await send('POST', '/api/v1/identities/', JSON.stringify({ identifier: 'after' }));
    expect(next.status).toBe(200);
    await next.arrayBuffer();
    const after = await rows();
    expect(after.identities).toBe(before.identities + 1);
  });

  it('refuses odd keys with 403 and odd methods with 405, before reading a body', async () => {
    const keys = ['', ' ', 'x'.repeat(101), 'ser.', 'ser.' + 'x'.repeat(200), '../../etc', '🙂'];
    for (const key of keys) {
      const res = await fetch(`${t.url}/api/v1/flags/`, {
        headers: key ? { 'x-environment-key': encodeURIComponent(key) } : {},
      });
      expect(res.status, key).toBe(403);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/Environment [Kk]ey/);
    }
    for (const m of ['DELETE', 'PATCH', 'PUT']) {
      const res = await send(m, '/api/v1/identities/', '{}');
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, POST, OPTIONS');
      expect(await res.json()).toEqual({ detail: `Method "${m}" not allowed.` });
    }
    const head = await fetch(`${t.url}/api/v1/flags/`, {
      method: 'HEAD',
      headers: { 'x-environment-key': serverKey },
    });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers a malformed realtime path with 404, not an error', async () => {
    for (const path of ['/sse/environments/%E0%A4%A/stream', '/sse/environments/unknown/stream']) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ detail: 'Not found.' });
    }
  });
});
