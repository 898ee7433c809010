import { parseArgs } from 'node:util';
import type { Config } from '../config/config';
import { migrate, openDatabase } from '../db/orm';
import { DocumentProblem, parseImportedDocument } from '../environments/import/document.schema';
import { PermissionService } from '../permissions/permission.service';
import { createServices } from '../services';
import { createLogger } from '../shared/logger';
import { ANONYMOUS } from '../users/principal';
import { readJsonInput } from './json-file';
import { UsageError } from './usage-error';

/**
 * `flagward import-environment FILE [--organisation NAME] [--project NAME]`: imports a
 * Flagsmith environment document, keeping its client key. Prints the client key and, when
 * the environment is new, a server-side key.
 */
export async function importEnvironment(config: Config, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { organisation: { type: 'string' }, project: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0)
    throw new UsageError(
      'Usage: flagward import-environment FILE [--organisation NAME] [--project NAME]',
    );
  let document;
  try {
    document = parseImportedDocument(await readJsonInput(file));
  } catch (err) {
    if (err instanceof DocumentProblem)
      throw new UsageError(`${file} is not an environment document we can import:\n${err.message}`);
    throw err;
  }
  const organisationName =
    values.organisation?.trim() || document.project.organisation?.name || 'Imported';
  const db = await openDatabase(config);
  try {
    await migrate(db.orm);
    const em = db.orm.em.fork();
    // Deliveries this import causes are sent by a running server's worker.
    const services = createServices(config, db.orm, createLogger(config.logLevel));
    const result = await services.imports.importEnvironment(
      em,
      new PermissionService(em, ANONYMOUS),
      document,
      {
        organisation: { name: organisationName },
        projectName: values.project?.trim() || undefined,
      },
    );
    const where = `${result.organisation.name} / ${result.project.name} / ${result.environment.name}`;
    console.log(result.changed ? `Imported into ${where}.` : `Already up to date: ${where}.`);
    console.log(`Client-side key: ${result.environment.apiKey}`);
    console.log(
      result.serverSideKey
        ? `Server-side key: ${result.serverSideKey}  (shown once; store it now)`
        : 'Server-side key: none made (the environment existed); create one with createServerSideKey.',
    );
  } finally {
    await db.close();
  }
}
