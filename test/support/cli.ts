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

/** A `flagward serve` child process. */
export interface ServeProcess {
  readonly url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Sends `signal` and resolves with the exit code (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

/** Starts `flagward serve` from source, as an operator would, and waits until it listens. */
export async function startServe(env: Record<string, string>): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', 'src/cli/main.ts', 'serve'],
    {
      cwd: ROOT,
      env: cliEnv({ LOG_LEVEL: 'info', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`flagward serve did not start:\n${output}`)),
      60_000,
    );
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
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`flagward serve exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
