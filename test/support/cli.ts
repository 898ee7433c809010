import { spawn } from 'node:child_process';
import path from 'node:path';
import { TEST_ENV } from './test-app';

const ROOT = path.resolve(__dirname, '../..');

/** The environment a CLI child gets: PATH, HOME and TMPDIR, the test settings, and `extra`. */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR']) if (process.env[key]) env[key] = process.env[key]!;
  return { ...env, ...TEST_ENV, ...extra };
}

/** Runs `flagward <args>` from source in a child process, as a user would run the CLI. */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'src/cli/main.ts', ...args],
      {
        cwd: ROOT,
        env: cliEnv(opts.env),
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

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs `flagward <args>` on a pseudo-terminal (util-linux `script`), answering each prompt
 * when it appears: `answers` pairs the text of a prompt with what to type.
 */
export function runCliInTerminal(
  args: string[],
  answers: readonly (readonly [prompt: string, answer: string])[],
  opts: { env?: Record<string, string> } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const key of ['PATH', 'HOME', 'TMPDIR'])
      if (process.env[key]) env[key] = process.env[key]!;
    const command = [
      process.execPath,
      '-r',
      'ts-node/register/transpile-only',
      'src/cli/main.ts',
      ...args,
    ]
      .map(shellQuote)
      .join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], {
      cwd: ROOT,
      env: { ...env, ...TEST_ENV, ...opts.env, SHELL: '/bin/sh' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let next = 0;
    let seen = 0;
    const onData = (d: Buffer) => {
      output += d.toString();
      const pending = answers[next];
      if (!pending) return;
      const at = output.indexOf(pending[0], seen);
      if (at >= 0) {
        seen = at + pending[0].length;
        next += 1;
        child.stdin.write(`${pending[1]}\r`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
