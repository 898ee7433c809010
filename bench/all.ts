/**
 * `npm run bench`: builds once, then runs every benchmark in turn, each in its own process,
 * whatever the previous one's outcome; exits with 1 when any failed. The environment (e.g.
 * DATABASE_URL) is passed on to each.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const BENCHES = [
  'environment-document.bench.ts',
  'sdk.bench.ts',
  'graphql.bench.ts',
  'soak.bench.ts',
] as const;

function run(command: string, args: readonly string[]): number {
  const r = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit' });
  return r.status ?? 1;
}

function main(): number {
  if (run('npm', ['run', 'build']) !== 0) return 1;
  const results = BENCHES.map((file) => {
    console.log(`\n=== bench/${file}\n`);
    const code = run(process.execPath, [
      '-r',
      'ts-node/register/transpile-only',
      path.join('bench', file),
    ]);
    return { file, code };
  });
  console.log('');
  for (const { file, code } of results)
    console.log(`${code === 0 ? 'ok    ' : 'FAILED'} bench/${file}`);
  return results.every((r) => r.code === 0) ? 0 : 1;
}

process.exitCode = main();
