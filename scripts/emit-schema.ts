/**
 * Writes schema.graphql from the code, or with --check fails when the committed file
 * differs (CI's drift check).
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildFlagwardSchema, printFlagwardSchema } from '../src/graphql/schema';

async function main(): Promise<void> {
  const file = path.resolve(__dirname, '..', 'schema.graphql');
  const printed = printFlagwardSchema(await buildFlagwardSchema());
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(file, 'utf8');
    } catch {
      // missing counts as drift
    }
    if (committed !== printed) {
      console.error(
        'schema.graphql is out of date with the code: run `npm run schema:emit` and commit it.',
      );
      process.exit(1);
    }
    console.log('schema.graphql matches the code.');
    return;
  }
  writeFileSync(file, printed);
  console.log(`Wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
