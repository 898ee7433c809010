import { parseArgs } from 'node:util';
import { createApp } from '../app';
import { createServices } from '../services';
import { ChangeType } from '../audit/audit.service';
import type { Config } from '../config/config';
import { migrate, openDatabase } from '../db/orm';
import { PermissionService } from '../permissions/permission.service';
import { AppError } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { ANONYMOUS } from '../users/principal';
import { replacePassword, userChange } from '../users/user-audit';
import { checkPassword, normaliseEmail } from '../users/user.service';
import { ask, closePrompts, InputClosedError, readStdin } from './prompt';
import { UsageError } from './usage-error';

export const USAGE = `Usage: flagward <command> [options]

Commands:
  serve                       start the server (applies migrations first)
  migrate                     apply pending database migrations
  createsuperuser             create a superuser
      --email EMAIL           (prompted when omitted)
      --password PASSWORD     (prompted when omitted; prefer --password-stdin)
      --password-stdin        read the password from standard input
      --first-name NAME --last-name NAME
      --no-input              never prompt; fail if something is missing
  changepassword EMAIL        set a user's password
      --password-stdin | --password PASSWORD | (prompted)
  eval FILE                   evaluate the evaluation context in FILE (JSON or JSONC, or a
                              test case's "context"; - for standard input) and print the
                              result as JSON; needs no configuration or database
  import-environment FILE     import a Flagsmith environment document (keeps its client key)
      --organisation NAME     organisation to import into (made when missing)
      --project NAME          project to import into (default: the document's)
  help                        show this text

Configuration comes from environment variables (see README).`;

/** After the requests' timeout, how long the rest of a shutdown may take before exit(1). */
const SHUTDOWN_GRACE_AFTER_MS = 5000;

export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const app = await createApp(config, { logger });
  const { url } = await app.listen();
  logger.info({ url, database: config.database.kind }, `Flagward listening on ${url}`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    // Requests get SHUTDOWN_TIMEOUT_SECONDS; what follows them (usage counts, webhook claims,
    // the database) gets SHUTDOWN_GRACE_AFTER_MS more. Past that the process exits 1 anyway.
    setTimeout(() => {
      logger.error({ afterMs: Date.now() - started }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + SHUTDOWN_GRACE_AFTER_MS).unref();
    app
      .close()
      .then(() => {
        logger.info({ durationMs: Date.now() - started }, 'stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'error while shutting down');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export async function runMigrations(config: Config): Promise<void> {
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db.orm);
    console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'No pending migrations.');
  } finally {
    await db.close();
  }
}

const PASSWORD_OPTIONS = {
  password: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  'no-input': { type: 'boolean' },
} as const;

async function obtainPassword(values: {
  password?: string;
  'password-stdin'?: boolean;
  'no-input'?: boolean;
}): Promise<string> {
  if (values['password-stdin']) return readStdin();
  if (values.password !== undefined) return values.password;
  if (values['no-input'] || !process.stdin.isTTY)
    throw new UsageError('A password is required: use --password-stdin');
  for (;;) {
    const first = await ask('Password: ', true);
    const second = await ask('Password (again): ', true);
    if (first !== second) {
      console.error('Passwords do not match.');
      continue;
    }
    try {
      checkPassword(first);
      return first;
    } catch (err) {
      console.error(err instanceof Error ? err.message : String(err));
    }
  }
}

export async function createSuperuser(config: Config, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...PASSWORD_OPTIONS,
      email: { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
    },
    strict: true,
  });
  let email = values.email;
  if (email === undefined) {
    if (values['no-input'] || !process.stdin.isTTY)
      throw new UsageError('--email is required with --no-input');
    email = await ask('Email: ');
  }
  email = normaliseEmail(email, '--email');
  const password = await obtainPassword(values).finally(closePrompts);
  checkPassword(password, '--password');
  const db = await openDatabase(config);
  try {
    await migrate(db.orm);
    const services = createServices(config, db.orm, createLogger(config.logLevel));
    const user = await db.orm.em.fork().transactional(async (tx) => {
      const created = await services.users.create(tx, {
        email,
        password,
        firstName: values['first-name'],
        lastName: values['last-name'],
        isStaff: true,
        isSuperuser: true,
      });
      await services.audit.record(
        tx,
        new PermissionService(tx, ANONYMOUS),
        userChange(created, ChangeType.CREATE, 'Superuser created from the command line', {
          email: created.email,
          isStaff: true,
          isSuperuser: true,
        }),
      );
      return created;
    });
    console.log(`Superuser created: ${user.email} (id ${user.id})`);
  } finally {
    await db.close();
  }
}

export async function changePassword(config: Config, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: PASSWORD_OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const email = positionals[0];
  if (!email || positionals.length > 1)
    throw new UsageError('Usage: flagward changepassword EMAIL');
  const db = await openDatabase(config);
  try {
    await migrate(db.orm);
    const services = createServices(config, db.orm, createLogger(config.logLevel));
    const em = db.orm.em.fork();
    const user = await services.users.findByEmail(em, email);
    if (!user) throw new UsageError(`No user has the email ${email}`);
    const password = await obtainPassword(values).finally(closePrompts);
    // Whoever held the old password is signed out everywhere.
    await em.transactional((tx) =>
      replacePassword(tx, services, new PermissionService(tx, ANONYMOUS), user, password, {
        what: 'Password changed from the command line',
      }),
    );
    console.log(`Password changed for ${user.email}.`);
  } finally {
    await db.close();
  }
}

/** Turns expected failures into a message and exit code 2. */
export function describeFailure(err: unknown): { message: string; code: number } | null {
  if (err instanceof UsageError || err instanceof InputClosedError)
    return { message: err.message, code: 2 };
  if (err instanceof AppError) return { message: err.message, code: 2 };
  if (err instanceof TypeError && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    return { message: err.message, code: 2 };
  }
  return null;
}
