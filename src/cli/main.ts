import 'reflect-metadata';
import { ConfigError, loadConfig } from '../config/config';
import {
  changePassword,
  createSuperuser,
  describeFailure,
  runMigrations,
  serve,
  USAGE,
} from './commands';
import { evalCommand } from './eval';
import { importEnvironment } from './import';

/** `flagward <command>`: the one place that reads process.env and hands it to loadConfig. */
async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  const commands: Record<string, () => Promise<void>> = {
    serve: () => serve(config()),
    migrate: () => runMigrations(config()),
    createsuperuser: () => createSuperuser(config(), rest),
    changepassword: () => changePassword(config(), rest),
    eval: () => evalCommand(rest),
    'import-environment': () => importEnvironment(config(), rest),
  };
  const run = commands[command];
  if (!run) {
    console.error(`Unknown command: ${command}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  await run();
}

function config() {
  return loadConfig(process.env);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  const known = describeFailure(err);
  if (known) {
    console.error(known.message);
    process.exit(known.code);
  }
  console.error(err);
  process.exit(1);
});
