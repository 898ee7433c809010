/**
 * Benchmark (issue 3, point 7): building the environment document for 1,000 features ×
 * 100 segments, and evaluating one identity against it. Every figure is set against a
 * baseline measured in the same run, and the ratios are what to compare between machines:
 *
 * - A  `buildEnvironmentDocument` on a fresh fork (no identity-map cache)
 *   A0 plain SQL reading the same rows with the same round trips, no mapping
 * - B  our engine: `evaluate(mapEnvironmentDocumentToContext(doc, { identity }))`,
 *      and `evaluate` alone on a context mapped once
 *   B0 the published Flagsmith Node SDK evaluating the same identity locally (offline mode)
 *      against the same document
 *
 * Run: `npm run bench` (embedded PGlite in a temporary directory), or
 * `DATABASE_URL=postgres://… npm run bench` (a throwaway database on that server, dropped at
 * the end; the role needs CREATEDB). BENCH_DOC_RUNS and BENCH_EVAL_RUNS set the iterations.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Flagsmith, LocalFileHandler } from 'flagsmith-nodejs';
import { migrate, type Orm } from '../src/db/orm';
import { evaluate, mapEnvironmentDocumentToContext, type IdentityInput } from '../src/engine';
import { buildEnvironmentDocument } from '../src/environments/document.builder';
import { Environment } from '../src/environments/environment.entity';
import {
  FeatureSegment,
  FeatureState,
  MultivariateStateValue,
} from '../src/features/feature-state.entity';
import { typedValue, ValueType, type FlagValue } from '../src/features/feature-value';
import { Feature, FeatureType } from '../src/features/feature.entity';
import { MultivariateOption } from '../src/features/multivariate-option.entity';
import { Identity } from '../src/identities/identity.entity';
import { Organisation } from '../src/organisations/organisation.entity';
import { Project } from '../src/projects/project.entity';
import {
  ConditionOperator as Op,
  RuleType,
  Segment,
  SegmentCondition,
  SegmentRule,
} from '../src/segments/segment.entity';
import { openStorage, positiveInt, runMain } from './support';

const FEATURES = 1000;
const SEGMENTS = 100;
const OVERRIDES_PER_SEGMENT = 5;
const IDENTITY_OVERRIDES = 50;
const DOC_RUNS = positiveInt('BENCH_DOC_RUNS', 20);
const EVAL_RUNS = positiveInt('BENCH_EVAL_RUNS', 2000);
const DOC_WARMUP = Math.max(3, Math.ceil(DOC_RUNS / 5));
const EVAL_WARMUP = Math.max(100, Math.ceil(EVAL_RUNS / 10));

/** The identity evaluated: it has an identity override and matches several segments. */
const IDENTIFIER = 'user-7';
const TRAITS = {
  age: 34,
  plan: 'pro',
  country: 'de',
  app_version: '2.3.1',
  email: 'ann@acme.test',
} as const;

/** Every tenth feature is multivariate: 100 of them. */
const isMultivariate = (j: number): boolean => j % 10 === 0;

interface Stats {
  readonly runs: number;
  readonly median: number;
  readonly p95: number;
}

async function main(): Promise<number> {
  const storage = await openStorage();
  let sdk: Flagsmith | undefined;
  try {
    const { orm } = storage.db;
    await migrate(orm);

    const seedStart = performance.now();
    const { environmentId } = await seed(orm);
    const seedMs = performance.now() - seedStart;
    console.log(
      `Seeded ${FEATURES} features, ${SEGMENTS} segments, ${SEGMENTS * OVERRIDES_PER_SEGMENT} segment overrides, ${IDENTITY_OVERRIDES} identity overrides on ${storage.label} in ${fmt(seedMs)} ms (not measured below).`,
    );

    // One build, counting its SQL statements: the count is fixed by design.
    let queries = 0;
    orm.config.set('onQuery', (sql: string) => {
      queries++;
      return sql;
    });
    const doc = await buildEnvironmentDocument(orm.em.fork(), environmentId);
    const builderQueries = queries;
    queries = 0;
    const rawRows = await readRows(orm, environmentId);
    const rawQueries = queries;
    orm.config.set('onQuery', (sql: string) => sql);
    const docBytes = Buffer.byteLength(JSON.stringify(doc));

    // A and A0, interleaved (alternating which goes first) so drift hits both alike.
    for (let i = 0; i < DOC_WARMUP; i++) {
      await buildEnvironmentDocument(orm.em.fork(), environmentId);
      await readRows(orm, environmentId);
    }
    const a: number[] = [];
    const a0: number[] = [];
    for (let i = 0; i < DOC_RUNS; i++) {
      const build = (): Promise<unknown> => buildEnvironmentDocument(orm.em.fork(), environmentId);
      const raw = (): Promise<unknown> => readRows(orm, environmentId);
      if (i % 2 === 0) {
        a.push(await time(build));
        a0.push(await time(raw));
      } else {
        a0.push(await time(raw));
        a.push(await time(build));
      }
    }

    // B and B0 against the same document.
    const dir = mkdtempSync(path.join(tmpdir(), 'flagward-bench-doc-'));
    const file = path.join(dir, 'environment.json');
    writeFileSync(file, JSON.stringify(doc));
    sdk = new Flagsmith({ offlineMode: true, offlineHandler: new LocalFileHandler(file) });
    rmSync(dir, { recursive: true, force: true });
    const flagsmith = sdk;

    const identity: IdentityInput = { identifier: IDENTIFIER, traits: TRAITS };
    const mapped = mapEnvironmentDocumentToContext(doc, { identity });
    const ours = evaluate(mapped);
    const theirs = await flagsmith.getIdentityFlags(IDENTIFIER, { ...TRAITS });
    const mismatches = compareFlags(
      Object.values(ours.flags).map((f) => [f.name, f.enabled, f.value]),
      theirs.allFlags().map((f) => [f.featureName, f.enabled, f.value ?? null]),
    );
    const agree = mismatches.length === 0;
    const segmentsMatched = ours.segments.filter((s) => s.name !== 'identity_overrides').length;

    let sink = 0;
    const mapAndEvaluate = (): void => {
      sink += Object.keys(
        evaluate(mapEnvironmentDocumentToContext(doc, { identity })).flags,
      ).length;
    };
    const evaluateOnly = (): void => {
      sink += Object.keys(evaluate(mapped).flags).length;
    };
    const viaSdk = async (): Promise<void> => {
      sink += (await flagsmith.getIdentityFlags(IDENTIFIER, { ...TRAITS })).allFlags().length;
    };
    for (let i = 0; i < EVAL_WARMUP; i++) {
      mapAndEvaluate();
      evaluateOnly();
      await viaSdk();
    }
    const b: number[] = [];
    const b1: number[] = [];
    const b0: number[] = [];
    for (let i = 0; i < EVAL_RUNS; i++) {
      b.push(timeSync(mapAndEvaluate));
      b1.push(timeSync(evaluateOnly));
      b0.push(await time(viaSdk));
    }
    if (sink === 0) throw new Error('nothing was evaluated');

    const r = {
      A: stats(a),
      A0: stats(a0),
      B: stats(b),
      B1: stats(b1),
      B0: stats(b0),
    };
    const ratios = {
      'A/A0': round(r.A.median / r.A0.median, 2),
      'B/B0': round(r.B.median / r.B0.median, 2),
      'B1/B0': round(r.B1.median / r.B0.median, 2),
    };

    console.log('');
    console.log(
      `Document: ${doc.feature_states.length} feature states, ${doc.project.segments.length} segments, ${doc.identity_overrides.length} identity overrides; ${docBytes} bytes as JSON; the builder issues ${builderQueries} SQL queries (baseline: ${rawQueries} queries, ${rawRows} rows).`,
    );
    console.log(
      `Identity ${IDENTIFIER} with ${Object.keys(TRAITS).length} traits matches ${segmentsMatched} segments. agree: ${agree ? 'yes' : 'no'} (enabled and value of all ${Object.keys(ours.flags).length} flags, our engine vs flagsmith-nodejs)`,
    );
    for (const m of mismatches.slice(0, 10)) console.log(`  mismatch: ${m}`);
    console.log('');
    printTable([
      ['A', 'buildEnvironmentDocument (fresh fork)', r.A, `A/A0 = ${ratios['A/A0']}`],
      ['A0', 'baseline: plain SQL, same rows', r.A0, ''],
      ['B', 'our engine: map + evaluate', r.B, `B/B0 = ${ratios['B/B0']}`],
      ['B1', 'our engine: evaluate only', r.B1, `B1/B0 = ${ratios['B1/B0']}`],
      ['B0', 'baseline: flagsmith-nodejs 8.1.2', r.B0, ''],
    ]);
    console.log('');
    console.log(
      JSON.stringify({
        database: storage.label,
        node: process.version,
        features: FEATURES,
        segments: SEGMENTS,
        segmentOverrides: SEGMENTS * OVERRIDES_PER_SEGMENT,
        identityOverrides: IDENTITY_OVERRIDES,
        seedMs: round(seedMs, 0),
        docBytes,
        builderQueries,
        segmentsMatched,
        agree,
        ms: r,
        ratios,
      }),
    );
    return agree ? 0 : 1;
  } finally {
    await sdk?.close();
    await storage.close();
  }
}

/**
 * 1 organisation, project and environment; 1,000 features with a default state each (mixed
 * value types; every tenth multivariate with 3 options at 30/30/20); 100 segments with a
 * nested rule tree, each overriding 5 features (500 overrides, each overridden feature
 * having priorities 0 and 1); 50 identity overrides. Two flushes, batched inserts.
 */
async function seed(orm: Orm): Promise<{ environmentId: number }> {
  const em = orm.em.fork();
  const organisation = em.create(Organisation, { name: 'Bench' });
  const project = em.create(Project, { name: 'Bench', organisation });
  // A fixed key: percentage splits hash `<api key>_<identifier>`, so runs stay comparable.
  const environment = em.create(Environment, {
    name: 'Production',
    project,
    apiKey: 'benchmarkEnvironmentKey',
  });

  const features = Array.from({ length: FEATURES }, (_, j) =>
    em.create(Feature, {
      project,
      name: `feature_${String(j).padStart(4, '0')}`,
      type: isMultivariate(j) ? FeatureType.MULTIVARIATE : FeatureType.STANDARD,
    }),
  );
  const options = new Map<number, MultivariateOption[]>();
  features.forEach((feature, j) => {
    if (!isMultivariate(j)) return;
    options.set(j, [
      em.create(MultivariateOption, { feature, key: 'variant_a', ...optionValue('a') }),
      em.create(MultivariateOption, { feature, key: 'variant_b', ...optionValue(42) }),
      em.create(MultivariateOption, { feature, key: 'variant_c', ...optionValue(true) }),
    ]);
  });
  const segments = Array.from({ length: SEGMENTS }, (_, i) =>
    em.create(Segment, { project, name: `segment_${String(i).padStart(3, '0')}` }),
  );
  const topRules = segments.map((segment) =>
    em.create(SegmentRule, { segment, type: RuleType.ALL }),
  );
  const identities = Array.from({ length: IDENTITY_OVERRIDES }, (_, n) =>
    em.create(Identity, { environment, identifier: `user-${n}` }),
  );
  await em.flush();

  // Environment defaults.
  features.forEach((feature, j) => {
    const mv = options.get(j);
    const state = em.create(FeatureState, {
      feature,
      environment,
      enabled: j % 3 !== 0,
      ...typedValue(mv ? `control-${j}` : defaultValue(j)),
    });
    mv?.forEach((option, k) =>
      em.create(MultivariateStateValue, {
        featureState: state,
        option,
        percentageAllocation: ['30', '30', '20'][k]!,
      }),
    );
  });

  // Rule trees: ALL holding two ANY rules of 2–3 conditions.
  topRules.forEach((parentRule, i) => {
    segmentConditions(i).forEach((conditions, position) => {
      const rule = em.create(SegmentRule, { parentRule, type: RuleType.ANY, position });
      conditions.forEach(([property, operator, value], p) =>
        em.create(SegmentCondition, { rule, operator, property, value, position: p }),
      );
    });
  });

  // Segment overrides: segment i overrides features 4·((5i + k) mod 250), so each of those
  // 250 features is overridden by two segments, at priorities 0 and 1.
  const nextPriority = new Map<number, number>();
  segments.forEach((segment, i) => {
    for (let k = 0; k < OVERRIDES_PER_SEGMENT; k++) {
      const j = ((i * OVERRIDES_PER_SEGMENT + k) % 250) * 4;
      const priority = nextPriority.get(j) ?? 0;
      nextPriority.set(j, priority + 1);
      const feature = features[j]!;
      const featureSegment = em.create(FeatureSegment, {
        feature,
        segment,
        environment,
        priority,
      });
      const state = em.create(FeatureState, {
        feature,
        environment,
        featureSegment,
        enabled: (i + k) % 4 !== 0,
        ...typedValue(`segment-${i}-${k}`),
      });
      const mv = options.get(j);
      if (mv) {
        em.create(MultivariateStateValue, {
          featureState: state,
          option: mv[0]!,
          percentageAllocation: '60',
        });
        em.create(MultivariateStateValue, {
          featureState: state,
          option: mv[1]!,
          percentageAllocation: '20',
        });
      }
    }
  });

  // Identity overrides.
  identities.forEach((identity, n) =>
    em.create(FeatureState, {
      feature: features[n * 20 + 1]!,
      environment,
      identity,
      enabled: true,
      ...typedValue(`just-for-user-${n}`),
    }),
  );
  await em.flush();
  return { environmentId: environment.id };
}

function defaultValue(j: number): FlagValue {
  switch (j % 4) {
    case 0:
      return `value-${j}`;
    case 1:
      return j * 10;
    case 2:
      return j % 8 === 2;
    default:
      return null;
  }
}

function optionValue(value: FlagValue): {
  type: ValueType;
  stringValue: string | null;
  integerValue: string | null;
  booleanValue: boolean | null;
} {
  const { valueType, ...rest } = typedValue(value);
  return { type: valueType, ...rest };
}

type Condition = [property: string | null, operator: Op, value: string | null];

/**
 * Segment i's two ANY rules. With TRAITS, the first holds for about 4 segments in 10 and the
 * second for about half, so roughly a fifth of the segments match.
 */
function segmentConditions(i: number): [Condition[], Condition[]] {
  const first: Condition[] = [
    ['plan', Op.EQUAL, ['free', 'enterprise', 'pro', 'free', 'enterprise'][i % 5]!],
    ['age', Op.GREATER_THAN, String(30 + (i % 50))],
  ];
  if (i % 2 === 0) first.push(['country', Op.IN, ['fr,gb', 'us,jp,br', 'de,at'][i % 3]!]);
  const second: Condition[][] = [
    [
      ['email', Op.REGEX, i % 8 === 0 ? '.*@acme\\.test$' : '.*@corp\\.io$'],
      [null, Op.PERCENTAGE_SPLIT, String(5 + (i % 10) * 10)],
    ],
    [
      ['app_version', i % 8 === 1 ? Op.GREATER_THAN : Op.LESS_THAN, '2.0.0:semver'],
      ['beta', Op.IS_SET, null],
    ],
    [
      ['age', Op.MODULO, i % 8 === 2 ? '3|1' : '5|0'],
      ['phone', Op.IS_SET, null],
      ['email', Op.EQUAL, `user${i}@acme.test`],
    ],
    [
      ['app_version', Op.GREATER_THAN_INCLUSIVE, '3.0.0:semver'],
      ['country', Op.IN, i % 8 === 3 ? 'de,at,ch' : 'nl,be'],
    ],
  ];
  return [first, second[i % 4]!];
}

/**
 * The baseline for A: the rows the builder reads, in the same round trips (three of them
 * concurrent), as plain `select *` through the connection, without entities or mapping.
 * Returns the number of rows read.
 */
async function readRows(orm: Orm, environmentId: number): Promise<number> {
  const c = orm.em.fork().getConnection();
  type Row = { id: number };
  const selectIn = async <T extends Row>(
    table: string,
    column: string,
    ids: readonly number[],
    orderBy: string,
  ): Promise<T[]> =>
    ids.length === 0
      ? []
      : c.execute<T[]>(
          `select * from ${table} where ${column} in (${ids.map(() => '?').join(', ')}) order by ${orderBy}`,
          [...ids],
        );

  const [env] = await c.execute<(Row & { project_id: number })[]>(
    'select * from environments where id = ?',
    [environmentId],
  );
  const [project] = await c.execute<(Row & { organisation_id: number })[]>(
    'select * from projects where id = ?',
    [env!.project_id],
  );
  const organisations = await c.execute<Row[]>('select * from organisations where id = ?', [
    project!.organisation_id,
  ]);
  const [features, states, options] = await Promise.all([
    c.execute<Row[]>('select * from features where project_id = ? order by id', [project!.id]),
    c.execute<(Row & { identity_id: number | null })[]>(
      'select * from feature_states where environment_id = ? order by id',
      [environmentId],
    ),
    c.execute<Row[]>(
      'select o.* from multivariate_options o join features f on f.id = o.feature_id where f.project_id = ? order by o.id',
      [project!.id],
    ),
  ]);
  const shares = await selectIn(
    'multivariate_state_values',
    'feature_state_id',
    states.map((s) => s.id),
    'id',
  );
  const featureSegments = await c.execute<Row[]>(
    'select * from feature_segments where environment_id = ? order by priority, id',
    [environmentId],
  );
  const segments = await c.execute<Row[]>(
    'select * from segments where project_id = ? order by id',
    [project!.id],
  );
  const ruleIds: number[] = [];
  let level = await selectIn(
    'segment_rules',
    'segment_id',
    segments.map((s) => s.id),
    'position, id',
  );
  while (level.length > 0) {
    const ids = level.map((r) => r.id);
    ruleIds.push(...ids);
    level = await selectIn('segment_rules', 'parent_rule_id', ids, 'position, id');
  }
  const conditions = await selectIn('segment_conditions', 'rule_id', ruleIds, 'position, id');
  const identityIds = new Set(
    states.flatMap((s) => (s.identity_id === null ? [] : [s.identity_id])),
  );
  const identities = await selectIn('identities', 'id', [...identityIds], 'id');
  return [
    [env, project],
    organisations,
    features,
    states,
    options,
    shares,
    featureSegments,
    segments,
    ruleIds,
    conditions,
    identities,
  ].reduce((sum, rows) => sum + rows.length, 0);
}

type FlagTuple = [name: string, enabled: boolean, value: unknown];

/** Differences between two flag lists, by name, on enabled and value. */
function compareFlags(ours: readonly FlagTuple[], theirs: readonly FlagTuple[]): string[] {
  const show = ([, enabled, value]: FlagTuple): string => `${enabled}/${JSON.stringify(value)}`;
  const theirsByName = new Map(theirs.map((f) => [f[0], f]));
  const out: string[] = [];
  for (const flag of ours) {
    const other = theirsByName.get(flag[0]);
    if (!other) out.push(`${flag[0]}: ours ${show(flag)}, missing in the SDK`);
    else if (other[1] !== flag[1] || other[2] !== flag[2])
      out.push(`${flag[0]}: ours ${show(flag)}, SDK ${show(other)}`);
    theirsByName.delete(flag[0]);
  }
  for (const [name, flag] of theirsByName) out.push(`${name}: only the SDK has ${show(flag)}`);
  return out;
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function timeSync(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number): number =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const median =
    sorted.length % 2 === 1
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return { runs: sorted.length, median: round(median, 3), p95: round(at(0.95), 3) };
}

function printTable(rows: readonly [string, string, Stats, string][]): void {
  const header = ['', 'measure', 'runs', 'median ms', 'p95 ms', 'ratio (medians)'];
  const cells = rows.map(([id, label, s, ratio]) => [
    id,
    label,
    String(s.runs),
    fmt(s.median),
    fmt(s.p95),
    ratio,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, c) => (c >= 2 && c <= 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const row of cells) console.log(line(row));
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(3);
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

runMain(main);
