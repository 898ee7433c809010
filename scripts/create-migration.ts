/**
 * Generates a migration from the difference between the entities and the schema the
 * existing migrations produce, using a throwaway in-memory PGlite.
 *   npm run migration:create [-- --name=short_name]
 * Then add the new class to migrations/index.ts.
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/core';
import { ormOptions } from '../src/db/orm';
import { startEmbeddedPostgres } from '../src/db/embedded';

async function main(): Promise<void> {
  const pg = await startEmbeddedPostgres('memory://');
  const orm = await MikroORM.init(ormOptions(pg.url, 1));
  try {
    const migrator = orm.getMigrator();
    await migrator.up();
    const result = await migrator.createMigration('migrations', false, false);
    if (!result.fileName) console.log('No changes: the migrations already match the entities.');
    else console.log(`Created migrations/${result.fileName}; add it to migrations/index.ts`);
  } finally {
    await orm.close(true);
    await pg.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
