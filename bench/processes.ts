/**
 * Shared by the HTTP benchmarks: servers in child processes. Flagward runs as `npm start` runs
 * it (the built `flagward serve`); a bench's bare baseline runs compiled to plain JavaScript,
 * so that both run on plain `node` without a loader, with the same flags.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';

export const ROOT = path.resolve(__dirname, '..');

/** Flagward's access log lines ("msg":"request"), one per request, as a grep pattern. */
const ACCESS_LINE = '"msg":"request"}$';
/** At most this many other lines of a child's output are shown. */
const MAX_ECHOED = 50;

export interface Child {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Extra Node flags for the servers (e.g. `--cpu-prof`), from the environment variable `name`. */
export function nodeFlags(name: string): string[] {
  return (process.env[name] ?? '').split(' ').filter(Boolean);
}

/**
 * Starts `node <flags> <script> <args>` and waits for the output line `ready` matches (its
 * first group is the URL). Stopped with SIGTERM; one still running 30 s later is killed,
 * with a warning.
 */
export async function startChild(
  name: string,
  flags: readonly string[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<Child> {
  // The child's output passes `grep`, in a process of its own (as a log shipper would), which
  // drops the access lines. Read here, in the load generator's process, they cost it CPU, and
  // whenever it fell behind, the full pipe held the server up on its writes.
  const filter = spawn('grep', ['--line-buffered', '-v', ACCESS_LINE], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const child: ChildProcess = spawn(process.execPath, [...flags, ...argv], {
    cwd: ROOT,
    env,
    stdio: ['ignore', filter.stdin!, 'inherit'],
  });
  // The child holds the pipe's writing end now; grep ends when the child does.
  filter.stdin!.destroy();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    const lines = createInterface({ input: filter.stdout! });
    let listening = false;
    let echoed = 0;
    lines.on('line', (line) => {
      const m = listening ? null : ready.exec(line);
      if (m) {
        listening = true;
        clearTimeout(timer);
        resolve(m[1]!);
      } else if (echoed < MAX_ECHOED) {
        echoed++;
        console.log(`[${name}] ${line.length > 1000 ? `${line.slice(0, 1000)}…` : line}`);
        if (echoed === MAX_ECHOED) console.log(`[${name}] (further lines not shown)`);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before listening`));
    });
  });
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        console.error(`warning: ${name} had not exited 30 s after SIGTERM: killed`);
        child.kill('SIGKILL');
      }, 30_000);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0 && code !== null) console.error(`${name} exited with code ${code}`);
    },
  };
}

/**
 * Flagward as `npm start` runs it: the built CLI (`dist/src/cli/main.js serve`; the bench
 * scripts build first), on 127.0.0.1 and a free port. `LOG_LEVEL` defaults to info (one
 * access line per request, as in production by default).
 */
export function startFlagward(flags: readonly string[], env: NodeJS.ProcessEnv): Promise<Child> {
  const main = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  return startChild(
    'flagward',
    flags,
    [main, 'serve'],
    { LOG_LEVEL: 'info', ...env, HOST: '127.0.0.1', PORT: '0' },
    /"msg":"Flagward listening on (http:\/\/[^"]+)"/,
  );
}

/**
 * A bench's bare server (`bench/<name>.ts`, which prints `LISTENING <url>` once ready),
 * compiled to plain JavaScript into `scratch`. Its imports must be packages, not relative.
 */
export function startBare(
  name: string,
  flags: readonly string[],
  env: NodeJS.ProcessEnv,
  scratch: string,
): Promise<Child> {
  const source = readFileSync(path.join(ROOT, 'bench', `${name}.ts`), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  const file = path.join(scratch, `${name}.js`);
  writeFileSync(file, outputText);
  // Run from the project so that its packages resolve.
  return startChild(
    'bare',
    flags,
    [file],
    { ...env, NODE_PATH: path.join(ROOT, 'node_modules') },
    /^LISTENING (\S+)$/,
  );
}

/** The resident set size of process `pid` in bytes (Linux: /proc/<pid>/status VmRSS). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}
