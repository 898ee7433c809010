import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { afterAll, describe, expect, it } from 'vitest';
import {
  evaluate,
  mapEnvironmentDocumentToContext,
  validateEvaluationContext,
  type EvaluationContext,
  type LegacyEnvironmentDocument,
} from '../../src/engine';
import {
  conformanceDir,
  conformanceDirOrNull,
  expectedLegacyFlags,
  legacyFlags,
  type LegacyFile,
} from '../support/conformance';

/**
 * Flagsmith's engine conformance data (shared/conformance/engine/README.md), read where it
 * lies at run time: every case file in cases/ and derived/, the legacy document with the
 * API's answers for its identities, and the mapper case.
 */
const CONFORMANCE_DIR = conformanceDirOrNull();

const FOLDERS = ['cases', 'derived', 'legacy', 'mapper_cases'] as const;
type Folder = (typeof FOLDERS)[number];

const found: Record<Folder, number> = { cases: 0, derived: 0, legacy: 0, mapper_cases: 0 };
const ran: Record<Folder, number> = { cases: 0, derived: 0, legacy: 0, mapper_cases: 0 };
let legacyIdentities = 0;
/** Legacy file → identities checked and passed, and how many it holds. */
const legacyProgress = new Map<string, { passed: number; total: number }>();

/** A legacy file counts as run once every identity in it has passed. */
function countLegacyFiles(): void {
  ran.legacy = [...legacyProgress.values()].filter(
    (p) => p.total > 0 && p.passed === p.total,
  ).length;
}

function caseFiles(folder: Folder): string[] {
  const dir = path.join(CONFORMANCE_DIR ?? conformanceDir(), folder);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  const files = readdirSync(dir)
    .filter((name) => /\.jsonc?$/.test(name))
    .sort();
  found[folder] = files.length;
  return files;
}

/** Every file is read as JSONC: upstream files may carry `//` comments, even `.json` ones. */
function loadJsonc(folder: Folder, file: string): Record<string, unknown> {
  const text = readFileSync(path.join(CONFORMANCE_DIR ?? conformanceDir(), folder, file), 'utf8');
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new Error(`${file}: ${printParseErrorCode(first.error)} at offset ${first.offset}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${file}: not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * The README's comparison: plain JSON (undefined dropped), `flags` as a map, `segments` as
 * a multiset (sorted by name, then metadata).
 */
function comparable(result: unknown): unknown {
  const plain = JSON.parse(JSON.stringify(result)) as {
    flags: unknown;
    segments: { name: string; metadata?: unknown }[];
  };
  const key = (s: { name: string; metadata?: unknown }) =>
    `${s.name}\u0000${JSON.stringify(s.metadata ?? null)}`;
  return {
    flags: plain.flags,
    segments: [...plain.segments].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)),
  };
}

function checkCase(folder: Folder, file: string): void {
  const data = loadJsonc(folder, file);
  expect(data, 'case file has a context').toHaveProperty('context');
  expect(data, 'case file has a result').toHaveProperty('result');
  const validation = validateEvaluationContext(data.context);
  expect(validation.ok ? [] : validation.problems, 'context passes the validator').toEqual([]);
  const result = evaluate(data.context as EvaluationContext);
  expect(comparable(result)).toEqual(comparable(data.result));
  ran[folder] += 1;
}

describe('engine conformance', () => {
  if (CONFORMANCE_DIR === null) {
    it('finds the conformance data', () => {
      conformanceDir(); // throws, naming where it looked
    });
    return;
  }

  describe('cases/', () => {
    it.each(caseFiles('cases'))('%s', (file) => checkCase('cases', file));
  });

  describe('derived/', () => {
    it.each(caseFiles('derived'))('%s', (file) => checkCase('derived', file));
  });

  describe('legacy/', () => {
    for (const file of caseFiles('legacy')) {
      describe(file, () => {
        const data = loadJsonc('legacy', file) as unknown as LegacyFile;
        const items = data.identities_and_responses ?? [];
        legacyIdentities += items.length;
        const progress = { passed: 0, total: items.length };
        legacyProgress.set(file, progress);
        it('holds an environment and identities', () => {
          expect(data.environment).toBeTypeOf('object');
          expect(items.length).toBeGreaterThan(0);
        });
        it.each(items.map((item) => [item.identity.identifier, item] as const))(
          'identity %s',
          (_identifier, item) => {
            // The API bucketed these identities by their database id, not the composite key.
            const context = mapEnvironmentDocumentToContext(data.environment, {
              identity: {
                identifier: item.identity.identifier,
                key: String(item.identity.django_id),
                traits: item.identity.identity_traits,
              },
            });
            const result = evaluate(context);
            expect(legacyFlags(result)).toEqual(expectedLegacyFlags(item.response.flags));
            progress.passed += 1;
          },
        );
      });
    }
  });

  describe('mapper_cases/', () => {
    it.each(caseFiles('mapper_cases'))('%s', (file) => {
      const data = loadJsonc('mapper_cases', file);
      const expected = normaliseMapperContext(data.expected_evaluation_context);
      const context = mapEnvironmentDocumentToContext(
        data.environment_document as LegacyEnvironmentDocument,
      );
      expect(normaliseMapperContext(context)).toEqual(expected);
      if (data.result !== undefined) {
        expect(comparable(evaluate(context))).toEqual(comparable(data.result));
      }
      ran.mapper_cases += 1;
    });
  });

  afterAll(() => {
    countLegacyFiles();
    // Printed after every case so the totals are visible in the run log.
    const total = FOLDERS.reduce((sum, folder) => sum + ran[folder], 0);
    console.log(
      `engine conformance: ${FOLDERS.map((f) => `${f} ${ran[f]}/${found[f]}`).join(', ')}` +
        ` (legacy identities: ${legacyIdentities}); total ${total} case files`,
    );
  });

  it('ran every case of every folder', () => {
    countLegacyFiles();
    for (const folder of FOLDERS) {
      expect(found[folder], `${folder}/ has case files`).toBeGreaterThan(0);
      expect(ran[folder], `every ${folder}/ case ran and passed`).toBe(found[folder]);
    }
    expect(legacyIdentities).toBeGreaterThan(0);
  });
});

/**
 * The mapper case comes from an unmerged upstream branch written in Python's spelling
 * (README "Mapper case"): `"-INF"`/`"INF"` for infinite priorities, `null` for absent
 * optional keys, and arbitrary segment-map keys. Normalised here: infinities become numbers,
 * null-valued keys are dropped, and segments are compared as a list in map order.
 */
function normaliseMapperContext(context: unknown): unknown {
  const plain = dropNulls(context) as { segments?: Record<string, unknown> };
  return { ...plain, segments: Object.values(plain.segments ?? {}) };
}

function dropNulls(value: unknown, key = ''): unknown {
  if (key === 'priority' && value === '-INF') return -Infinity;
  if (key === 'priority' && value === 'INF') return Infinity;
  if (Array.isArray(value)) return value.map((item) => dropNulls(item));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => [k, dropNulls(v, k)]),
    );
  }
  return value;
}
