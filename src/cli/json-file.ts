import { readFile } from 'node:fs/promises';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { readStdin } from './prompt';
import { UsageError } from './usage-error';

/**
 * Reads JSON from a file (`-`: standard input), with `//` and block comments and trailing
 * commas allowed. Fails with `FILE:LINE:COLUMN: invalid JSON: …`, or naming why the file
 * could not be read.
 */
export async function readJsonInput(file: string): Promise<unknown> {
  const name = file === '-' ? '<stdin>' : file;
  const text = file === '-' ? await readStdin() : await readInput(file);
  return parseJsonc(text, name);
}

async function readInput(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : err instanceof Error
              ? err.message
              : String(err);
    throw new UsageError(`Cannot read ${file}: ${reason}`);
  }
}

/** Parses JSON with comments and trailing commas allowed; `name` labels error messages. */
export function parseJsonc(text: string, name: string): unknown {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true });
  const first = errors[0];
  if (first !== undefined) {
    const { line, column } = lineAndColumn(text, first.offset);
    throw new UsageError(
      `${name}:${line}:${column}: invalid JSON: ${describeParseError(printParseErrorCode(first.error))}`,
    );
  }
  return value;
}

function describeParseError(code: string): string {
  // `CommaExpected` → `comma expected`
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** 1-based line and column of a character offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split(/\r\n|\r|\n/);
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}
