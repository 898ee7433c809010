import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type FlagwardApp } from '../../src/app';
import { loadConfig } from '../../src/config/config';
import { createTestStorage, type TestStorage } from '../support/database';
import { TEST_ENV } from '../support/test-app';

describe('unexpected errors in GraphQL requests', () => {
  let storage: TestStorage;
  let app: FlagwardApp;
  let url: string;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    storage = await createTestStorage();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    const config = loadConfig({
      ...TEST_ENV,
      ...storage.env,
      LOG_LEVEL: 'info',
      SECRET_KEY: randomBytes(32).toString('hex'),
    });
    app = await createApp(config, { logger: pino({ level: 'info' }, sink) });
    ({ url } = await app.listen());
  });
  afterAll(async () => {
    await app.close();
    await storage.cleanup();
  });

  it('are answered masked, and logged once with the request id the response carries', async () => {
    const spy = vi
      .spyOn(app.services.users, 'findByEmail')
      .mockRejectedValue(new Error('disk on fire at /var/lib/secret'));
    try {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          query: 'mutation { requestPasswordReset(email: "someone@example.com") }',
        }),
      });
      const body = (await res.json()) as {
        errors: { message: string; extensions: Record<string, unknown> }[];
      };
      expect(body.errors[0]).toMatchObject({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(body)).not.toContain('disk on fire');
      const requestId = res.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      const logged = lines.filter((l) => l.msg === 'unexpected error in GraphQL request');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ requestId, level: 50 });
      expect(JSON.stringify(logged[0])).toContain('disk on fire');
    } finally {
      spy.mockRestore();
    }
  });

  it('are not logged when they are the caller’s mistakes', async () => {
    const before = lines.length;
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } nope }' }),
    });
    expect(res.status).toBe(400);
    expect(lines.slice(before).filter((l) => (l.level as number) >= 40)).toEqual([]);
  });
});
