import { parseArgs } from 'node:util';
import { evaluate, validateEvaluationContext } from '../engine';
import { readJsonInput } from './json-file';
import { UsageError } from './usage-error';

const EVAL_USAGE = 'Usage: flagward eval FILE  (FILE is JSON or JSONC; - reads standard input)';

/**
 * `flagward eval FILE`: evaluates the evaluation context in FILE (or the `context` of a
 * test-case file holding `{context, result}`) and prints the result as JSON. Needs no
 * configuration and no database. Bad input is reported with its location and exit code 2.
 */
export async function evalCommand(argv: string[]): Promise<void> {
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true });
  const [file] = positionals;
  if (file === undefined || positionals.length > 1) throw new UsageError(EVAL_USAGE);
  const name = file === '-' ? '<stdin>' : file;
  const document = await readJsonInput(file);
  const validation = validateEvaluationContext(contextOf(document));
  if (!validation.ok) {
    throw new UsageError(
      `${name}: not a valid evaluation context:\n${validation.problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
  process.stdout.write(`${JSON.stringify(evaluate(validation.context), null, 2)}\n`);
}

/** A test-case file (`{context, result}`) is evaluated for its `context`. */
function contextOf(document: unknown): unknown {
  if (
    typeof document === 'object' &&
    document !== null &&
    !Array.isArray(document) &&
    'context' in document &&
    !('environment' in document)
  ) {
    return document.context;
  }
  return document;
}
