import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStorage, type TestStorage } from '../support/database';
import { cliEnv } from '../support/cli';

/**
 * `flagward serve` as an operator runs it: it starts, answers, and on SIGTERM or SIGINT
 * drains and exits 0.
 */

const ROOT = path.resolve(__dirname, '../..');

describe('flagward serve', () => {
  let storage: TestStorage;

  beforeAll(async () => {
    storage = await createTestStorage();
  });
  afterAll(() => storage?.cleanup());

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits 0 on %s, promptly',
    async (signal) => {
      const child = spawn(
        process.execPath,
        ['-r', 'ts-node/register/transpile-only', 'src/cli/main.ts', 'serve'],
        {
          cwd: ROOT,
          env: cliEnv({ ...storage.env, LOG_LEVEL: 'info' }),
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let output = '';
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start:\n${output}`)), 60_000);
        const onData = (d: Buffer) => {
          output += d.toString();
          const found = /"url":"(http:\/\/[^"]+)"/.exec(output);
          if (found) {
            clearTimeout(timer);
            resolve(found[1]!);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
      });
      try {
        expect((await fetch(`${url}/health/liveness`)).status).toBe(200);
        const flags = await fetch(`${url}/api/v1/flags/`, {
          headers: { 'x-environment-key': 'k' },
        });
        expect(flags.status).toBe(403);
        await flags.arrayBuffer();

        const sent = performance.now();
        child.kill(signal);
        const code = await Promise.race([
          exited,
          new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000)),
        ]);
        expect(code, output).toBe(0);
        expect(performance.now() - sent).toBeLessThan(10_000);
        expect(output).toContain('shutting down');
      } finally {
        child.kill('SIGKILL');
      }
    },
    90_000,
  );
});
