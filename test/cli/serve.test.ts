import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStorage, type TestStorage } from '../support/database';
import { startServe } from '../support/cli';

/**
 * `flagward serve` as an operator runs it: it starts, answers, and on SIGTERM or SIGINT
 * drains and exits 0.
 */

describe('flagward serve', { timeout: 180_000 }, () => {
  let storage: TestStorage;

  beforeAll(async () => {
    storage = await createTestStorage();
  });
  afterAll(() => storage?.cleanup());

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits 0 on %s, promptly',
    async (signal) => {
      const server = await startServe(storage.env);
      const { url } = server;
      try {
        expect((await fetch(`${url}/health/liveness`)).status).toBe(200);
        const flags = await fetch(`${url}/api/v1/flags/`, {
          headers: { 'x-environment-key': 'k' },
        });
        expect(flags.status).toBe(403);
        await flags.arrayBuffer();

        const sent = performance.now();
        const code = await server.stop(signal);
        expect(code, server.output()).toBe(0);
        expect(performance.now() - sent).toBeLessThan(10_000);
        expect(server.output()).toContain('shutting down');
      } finally {
        await server.stop('SIGKILL');
      }
    },
    90_000,
  );
});
