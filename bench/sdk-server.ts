/**
 * Flagward as the SDK benchmark runs it, in a process of its own: the public entry point
 * `createApp(loadConfig(env))`, on 127.0.0.1 and a free port, logging nothing. The database
 * comes from the environment (FLAGWARD_DATA_DIR, DATABASE_URL) as in production.
 * Prints `LISTENING <url>` once ready; closes the app and exits when its stdin ends (the
 * parent ends it, or dies). Not on a signal: Apollo Server stops itself on SIGTERM and
 * SIGINT (`stopOnTerminationSignals`), and a second `stop()` while that one runs never
 * returns, so SIGTERM/SIGINT are left to Apollo, which re-raises them once stopped.
 */
import 'reflect-metadata';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config/config';

async function main(): Promise<void> {
  const app = await createApp(
    loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent' }),
  );
  const { url } = await app.listen();
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.stdout.write(`LISTENING ${url}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
