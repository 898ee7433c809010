import { spawn } from 'node:child_process';
import path from 'node:path';
import { TEST_ENV } from './test-app';

const ROOT = path.resolve(__dirname, '../..');

/** Runs `flagward <args>` from source in a child process, as a user would run the CLI. */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const key of ['PATH', 'HOME', 'TMPDIR'])
      if (process.env[key]) env[key] = process.env[key]!;
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'src/cli/main.ts', ...args],
      {
        cwd: ROOT,
        env: { ...env, ...TEST_ENV, ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? '');
  });
}
