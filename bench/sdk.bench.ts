/**
 * Benchmark (issue point 7): the Flagsmith SDK endpoints over HTTP, each set against a bare
 * `node:http` server answering the same bytes, measured in the same run, alternating.
 *
 * Fixture: 50 features (10 multivariate with 2–3 options; string, int and bool values),
 * 10 segments of 2–3 conditions on the identities' traits (one a PERCENTAGE_SPLIT),
 * 5 segment overrides, 1,000 identities `user-0` … `user-999` with 3 stored traits each
 * (plan: string, age: int, beta: bool). Built through the MikroORM entities in a throwaway
 * database, which is then released to Flagward.
 *
 * Flagward runs in a child process as `npm start` runs it (the built `flagward serve`; the
 * npm script builds first), the bare server (bench/sdk-bare-server.ts, compiled to plain
 * JavaScript) in another, both on plain `node` with the same flags (BENCH_SDK_NODE_FLAGS,
 * e.g. `--cpu-prof`) and environment; autocannon runs here. Before measuring, this
 * collects Flagward's exact bodies and content types for `GET /api/v1/flags/` and for
 * `POST /api/v1/identities/` of every identity with its stored traits: the bare server
 * answers those bytes (for POST it reads and parses the body and looks the identifier up).
 *
 * Scenarios, at BENCH_SDK_CONNECTIONS (default 50) connections each:
 *  1. `GET /api/v1/flags/`                                   target ≥ 70% of bare req/s
 *  2. `POST /api/v1/identities/`, the 1,000 identities in turn,
 *     traits unchanged                                       target ≥ 35% of bare req/s
 *  3. as 2, with one trait (age) changed on every request: reported (the bare server answers
 *     its precomputed bytes, for context).
 *  4. `POST /ofrep/v1/evaluate/flags` (OFREP bulk evaluation, key in `X-API-Key`), the 1,000
 *     identities' contexts (`targetingKey` + the same traits) in turn: reported (the bare
 *     server answers Flagward's precomputed bytes per targeting key, as for 2).
 * Per scenario: one warm-up round per server, then BENCH_SDK_ROUNDS (default 5) rounds of
 * BENCH_SDK_SECONDS (default 5) each, bare, Flagward, bare, Flagward, …. Reported: median
 * req/s, the ratio of medians, median p99 latency, each server's median CPU time per request
 * (user + system, from /proc on Linux), errors and non-2xx responses.
 * Any error or non-2xx response makes the run fail (exit code 1); a missed target is only
 * reported.
 *
 * Run: `npm run bench:sdk` (embedded PGlite in a temporary directory), or
 * `DATABASE_URL=postgres://… npm run bench:sdk` (a throwaway database on that server,
 * dropped at the end; the role needs CREATEDB). DATABASE_POOL_MAX is passed on to Flagward.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { migrate, type Orm } from '../src/db/orm';
import { Environment } from '../src/environments/environment.entity';
import {
  FeatureSegment,
  FeatureState,
  MultivariateStateValue,
} from '../src/features/feature-state.entity';
import { optionColumns, typedValue, type FlagValue } from '../src/features/feature-value';
import { Feature, FeatureType } from '../src/features/feature.entity';
import { MultivariateOption } from '../src/features/multivariate-option.entity';
import { Identity, Trait, TraitValueType } from '../src/identities/identity.entity';
import { traitColumns } from '../src/identities/trait-value';
import { Organisation } from '../src/organisations/organisation.entity';
import { Project } from '../src/projects/project.entity';
import {
  ConditionOperator as Op,
  RuleType,
  Segment,
  SegmentCondition,
  SegmentRule,
} from '../src/segments/segment.entity';
import type { SdkResponses } from './sdk-bare-server';
import { nodeFlags, startBare, startFlagward, type Child } from './processes';
import {
  cpuSeconds,
  flagwardEnv,
  loadAverageLine,
  median,
  openStorage,
  positiveInt,
  runMain,
} from './support';

export const FEATURES = 50;
const SEGMENTS = 10;
const SEGMENT_OVERRIDES = 5;
export const IDENTITIES = 1000;
/** A fixed key: percentage splits hash `<api key>_<identifier>`, so runs stay comparable. */
export const ENVIRONMENT_KEY = 'benchmarkSdkEnvironmentKey';
const PLANS = ['free', 'pro', 'enterprise'] as const;

const ROUNDS = positiveInt('BENCH_SDK_ROUNDS', 5);
const SECONDS = positiveInt('BENCH_SDK_SECONDS', 5);
const WARMUP_SECONDS = positiveInt('BENCH_SDK_WARMUP_SECONDS', SECONDS);
const CONNECTIONS = positiveInt('BENCH_SDK_CONNECTIONS', 50);
/** BENCH_SDK_SCENARIOS=1,3 runs only those (3 expects 2's state: run them in order). */
const ONLY = process.env.BENCH_SDK_SCENARIOS?.split(',').map((s) => s.trim()) ?? null;
/** Extra Node flags for both servers (e.g. `--cpu-prof`), from BENCH_SDK_NODE_FLAGS. */
const NODE_FLAGS = nodeFlags('BENCH_SDK_NODE_FLAGS');

/** Every fifth feature is multivariate: 10 of them. */
const isMultivariate = (j: number): boolean => j % 5 === 0;

export interface Traits {
  readonly plan: string;
  readonly age: number;
  readonly beta: boolean;
}

/** Identity n's stored traits. */
export function traitsOf(n: number): Traits {
  return { plan: PLANS[n % 3]!, age: 18 + ((n * 7) % 60), beta: n % 4 === 0 };
}

/** An OFREP bulk evaluation body as the OpenFeature providers send it. */
function ofrepBody(n: number, traits: Traits): string {
  return JSON.stringify({ context: { targetingKey: `user-${n}`, ...traits } });
}

/** A `POST /api/v1/identities/` body as the Node SDK sends it. */
export function identifyBody(n: number, traits: Traits): string {
  return JSON.stringify({
    identifier: `user-${n}`,
    traits: Object.entries(traits).map(([trait_key, trait_value]) => ({ trait_key, trait_value })),
  });
}

type Target = 'bare' | 'flagward';

interface Scenario {
  readonly id: string;
  readonly label: string;
  /** Flagward's req/s as a share of the bare server's; null: reported only. */
  readonly target: number | null;
  /** A fresh autocannon request for one round. */
  request(): autocannon.Request;
}

interface Round {
  readonly target: Target;
  readonly warmup: boolean;
  readonly reqPerSec: number;
  readonly requests: number;
  readonly p99: number;
  /** The server's CPU time (user + system) per request in the round, µs; null without /proc. */
  readonly cpuUs: number | null;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCodes: Record<string, number>;
  /** The first few non-2xx responses and request errors, verbatim. */
  readonly failures: readonly string[];
}

/** One server's figures in a scenario: medians over its rounds. */
interface Side {
  readonly reqPerSec: number;
  readonly p99: number;
  /** CPU µs per request (median of the rounds), or null where it cannot be read. */
  readonly cpuUs: number | null;
  readonly rounds: number[];
}

interface Summary {
  readonly id: string;
  readonly label: string;
  readonly target: number | null;
  readonly bare: Side;
  readonly flagward: Side;
  readonly ratio: number;
  readonly ratioRange: readonly [number, number];
  readonly pass: boolean | null;
  readonly errors: { bare: number; flagward: number };
  readonly non2xx: { bare: number; flagward: number };
}

async function main(): Promise<number> {
  const storage = await openStorage('flagward-bench-sdk-');
  const children: Child[] = [];
  const scratch = mkdtempSync(path.join(tmpdir(), 'flagward-bench-sdk-responses-'));
  try {
    const { orm } = storage.db;
    await migrate(orm);
    const seedStart = performance.now();
    await seed(orm);
    const seedMs = performance.now() - seedStart;
    await storage.release();
    console.log(
      `Seeded ${FEATURES} features (10 multivariate), ${SEGMENTS} segments, ${SEGMENT_OVERRIDES} segment overrides, ${IDENTITIES} identities × 3 traits on ${storage.label} in ${Math.round(seedMs)} ms.`,
    );

    const env = flagwardEnv(storage);
    delete env.BENCH_SDK_RESPONSES;

    const flagward = await startFlagward(NODE_FLAGS, env);
    children.push(flagward);

    // Flagward's exact answers, which the bare server will serve.
    const responses = await collectResponses(flagward.url);
    const overridden = countSegmentOverrideHits(responses);
    const file = path.join(scratch, 'responses.json');
    writeFileSync(file, JSON.stringify(responses));
    const bare = await startBare(
      'sdk-bare-server',
      NODE_FLAGS,
      { ...env, BENCH_SDK_RESPONSES: file },
      scratch,
    );
    children.push(bare);
    await checkSameBytes(flagward.url, bare.url);
    console.log(
      `GET /flags/: ${Buffer.byteLength(responses.flags.body)} bytes; POST /identities/: ${meanBytes(responses.identities.bodies)} bytes on average; OFREP bulk: ${meanBytes(responses.ofrep.bodies)} bytes on average; ${overridden} of ${IDENTITIES} identities get at least one segment override. The bare server answers identical bytes (checked).`,
    );
    console.log(
      `Node ${process.version}, ${cpus().length} CPUs shared by both servers and the load generator; ${CONNECTIONS} connections; ${ROUNDS} rounds of ${SECONDS} s per server after a ${WARMUP_SECONDS} s warm-up; flags ${NODE_FLAGS.join(' ')}; load average ${loadavg()[0]!.toFixed(2)}; database pool max ${storage.env.DATABASE_URL ? (process.env.DATABASE_POOL_MAX ?? '10 (default)') : '1 (PGlite)'}.`,
    );

    const servers: Record<Target, Child> = { bare, flagward };
    const summaries: Summary[] = [];
    let failed = false;
    for (const scenario of scenarios().filter((s) => ONLY === null || ONLY.includes(s.id))) {
      console.log('');
      console.log(`${scenario.id}. ${scenario.label}`);
      const rounds: Round[] = [];
      for (const target of ['bare', 'flagward'] as const) {
        rounds.push(await measure(servers[target], target, scenario, WARMUP_SECONDS, true));
      }
      for (let i = 0; i < ROUNDS; i++) {
        for (const target of ['bare', 'flagward'] as const) {
          rounds.push(await measure(servers[target], target, scenario, SECONDS, false));
        }
      }
      for (const r of rounds) if (r.errors > 0 || r.non2xx > 0) failed = true;
      summaries.push(summarise(scenario, rounds));
    }

    // Scenario 3's requests must have been stored: identities' ages have moved on.
    let checkFailed = false;
    if (summaries.some((s) => s.id === '3')) {
      const changed = await countChangedAges(flagward.url);
      console.log('');
      console.log(
        `Check: ${changed} of ${IDENTITIES} identities now have a stored age other than the fixture's (scenario 3 writes).`,
      );
      if (changed === 0) checkFailed = true;
    }

    console.log('');
    console.log(loadAverageLine());
    printTable(summaries);
    console.log('');
    console.log(
      JSON.stringify({
        database: storage.label,
        node: process.version,
        cpus: cpus().length,
        connections: CONNECTIONS,
        rounds: ROUNDS,
        seconds: SECONDS,
        seedMs: Math.round(seedMs),
        scenarios: summaries,
        ok: !failed && !checkFailed,
      }),
    );
    if (failed) console.log('FAILED: errors or non-2xx responses (see above).');
    if (checkFailed) console.log('FAILED: no changed trait was stored in scenario 3.');
    return failed || checkFailed ? 1 : 0;
  } finally {
    for (const child of children.reverse()) await child.stop();
    rmSync(scratch, { recursive: true, force: true });
    await storage.close();
  }
}

function scenarios(): Scenario[] {
  const headers = { 'x-environment-key': ENVIRONMENT_KEY };
  const post = { 'x-environment-key': ENVIRONMENT_KEY, 'content-type': 'application/json' };
  const ofrep = { 'x-api-key': ENVIRONMENT_KEY, 'content-type': 'application/json' };
  const contexts = Array.from({ length: IDENTITIES }, (_, n) => ofrepBody(n, traitsOf(n)));
  const unchanged = Array.from({ length: IDENTITIES }, (_, n) => identifyBody(n, traitsOf(n)));
  // Per identity, how many changed-trait bodies were made: age = stored age + visits, so
  // every request Flagward gets carries an age it has not stored yet.
  const visits = new Uint32Array(IDENTITIES);
  let changedNext = 0;
  return [
    {
      id: '1',
      label: 'GET /api/v1/flags/',
      target: 0.7,
      request: () => ({ method: 'GET', path: '/api/v1/flags/', headers }),
    },
    {
      id: '2',
      label: 'POST /api/v1/identities/, existing identity, traits unchanged',
      target: 0.35,
      request: () => {
        let next = 0;
        return {
          method: 'POST',
          path: '/api/v1/identities/',
          headers: post,
          setupRequest: (req) => ({ ...req, body: unchanged[next++ % IDENTITIES]! }),
        };
      },
    },
    {
      id: '3',
      label: 'POST /api/v1/identities/, existing identity, one trait changed per request',
      target: null,
      request: () => ({
        method: 'POST',
        path: '/api/v1/identities/',
        headers: post,
        setupRequest: (req) => {
          const n = changedNext++ % IDENTITIES;
          const traits = traitsOf(n);
          const visit = (visits[n] ?? 0) + 1;
          visits[n] = visit;
          return { ...req, body: identifyBody(n, { ...traits, age: traits.age + visit }) };
        },
      }),
    },
    {
      id: '4',
      label: 'POST /ofrep/v1/evaluate/flags (OFREP bulk), the identities’ contexts',
      target: null,
      request: () => {
        let next = 0;
        return {
          method: 'POST',
          path: '/ofrep/v1/evaluate/flags',
          headers: ofrep,
          setupRequest: (req) => ({ ...req, body: contexts[next++ % IDENTITIES]! }),
        };
      },
    },
  ];
}

async function measure(
  server: Child,
  target: Target,
  scenario: Scenario,
  seconds: number,
  warmup: boolean,
): Promise<Round> {
  const failures: string[] = [];
  const note = (text: string): void => {
    if (failures.length < 5) failures.push(text);
  };
  const request = scenario.request();
  const cpuBefore = cpuSeconds(server.pid);
  const run = autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        ...request,
        onResponse: (status, body) => {
          if (status < 200 || status > 299) note(`HTTP ${status}: ${body.slice(0, 500)}`);
        },
      },
    ],
  });
  run.on('reqError', (err: Error) => note(`request error: ${err.message}`));
  const result = await run;
  const cpuAfter = cpuSeconds(server.pid);
  const round: Round = {
    target,
    warmup,
    reqPerSec: result.requests.average,
    requests: result.requests.total,
    p99: result.latency.p99,
    cpuUs:
      cpuBefore === null || cpuAfter === null || result.requests.total === 0
        ? null
        : ((cpuAfter - cpuBefore) * 1e6) / result.requests.total,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, s]) => [code, s.count]),
    ),
    failures,
  };
  const codes = Object.entries(round.statusCodes)
    .map(([code, count]) => `${code}×${count}`)
    .join(' ');
  console.log(
    `  ${warmup ? 'warm-up ' : 'round   '} ${target.padEnd(8)} ${fmtRate(round.reqPerSec).padStart(7)} req/s  p99 ${String(round.p99).padStart(4)} ms  ${round.cpuUs === null ? '' : `CPU ${round.cpuUs.toFixed(1).padStart(5)} µs/req  `}${round.requests} requests (${codes})  errors ${round.errors}${round.timeouts ? ` (${round.timeouts} timeouts)` : ''}  non-2xx ${round.non2xx}`,
  );
  for (const f of failures) console.log(`    ${f}`);
  return round;
}

function summarise(scenario: Scenario, rounds: readonly Round[]): Summary {
  const measured = (t: Target): Round[] => rounds.filter((r) => r.target === t && !r.warmup);
  const side = (t: Target): Side => {
    const rs = measured(t);
    const cpu = rs.map((r) => r.cpuUs);
    return {
      reqPerSec: round(median(rs.map((r) => r.reqPerSec)), 0),
      p99: median(rs.map((r) => r.p99)),
      cpuUs: cpu.every((c) => c !== null) ? round(median(cpu), 1) : null,
      rounds: rs.map((r) => round(r.reqPerSec, 0)),
    };
  };
  const bare = side('bare');
  const flagward = side('flagward');
  const perRound = measured('flagward').map(
    (r, i) => r.reqPerSec / (measured('bare')[i]?.reqPerSec ?? NaN),
  );
  const ratio = round(flagward.reqPerSec / bare.reqPerSec, 3);
  const total = (t: Target, f: (r: Round) => number): number =>
    rounds.filter((r) => r.target === t).reduce((sum, r) => sum + f(r), 0);
  return {
    id: scenario.id,
    label: scenario.label,
    target: scenario.target,
    bare,
    flagward,
    ratio,
    ratioRange: [round(Math.min(...perRound), 3), round(Math.max(...perRound), 3)],
    pass: scenario.target === null ? null : ratio >= scenario.target,
    errors: { bare: total('bare', (r) => r.errors), flagward: total('flagward', (r) => r.errors) },
    non2xx: {
      bare: total('bare', (r) => r.non2xx),
      flagward: total('flagward', (r) => r.non2xx),
    },
  };
}

function printTable(summaries: readonly Summary[]): void {
  const header = [
    '',
    'scenario',
    'bare req/s',
    'flagward req/s',
    'ratio (rounds)',
    'target',
    'result',
    'p99 bare',
    'p99 flagward',
    'CPU µs/req bare, flagward',
    'errors / non-2xx',
  ];
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const rows = summaries.map((s) => [
    s.id,
    s.label,
    fmtRate(s.bare.reqPerSec),
    fmtRate(s.flagward.reqPerSec),
    `${pct(s.ratio)} (${pct(s.ratioRange[0])}–${pct(s.ratioRange[1])})`,
    s.target === null ? 'report' : `≥ ${pct(s.target).replace('.0%', '%')}`,
    s.pass === null ? '-' : s.pass ? 'PASS' : 'FAIL',
    `${s.bare.p99} ms`,
    `${s.flagward.p99} ms`,
    s.bare.cpuUs === null || s.flagward.cpuUs === null
      ? '-'
      : `${s.bare.cpuUs.toFixed(1)}, ${s.flagward.cpuUs.toFixed(1)}`,
    `bare ${s.errors.bare}/${s.non2xx.bare}, flagward ${s.errors.flagward}/${s.non2xx.flagward}`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const numeric = new Set([2, 3, 7, 8, 9]);
  const line = (row: readonly string[]): string =>
    row
      .map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const row of rows) console.log(line(row));
}

// --- Flagward's answers --------------------------------------------------------------------

async function call(
  url: string,
  method: 'GET' | 'POST',
  pathname: string,
  body?: string,
): Promise<{ contentType: string; body: string }> {
  const res = await fetch(new URL(pathname, url), {
    method,
    headers: {
      [pathname.startsWith('/ofrep/') ? 'x-api-key' : 'x-environment-key']: ENVIRONMENT_KEY,
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body,
  });
  const text = await res.text();
  if (res.status !== 200)
    throw new Error(`${method} ${pathname} answered ${res.status}: ${text.slice(0, 500)}`);
  return { contentType: res.headers.get('content-type') ?? '', body: text };
}

/** Flagward's bodies for GET /flags/ and for every identity with its stored traits. */
async function collectResponses(url: string): Promise<SdkResponses> {
  const flags = await call(url, 'GET', '/api/v1/flags/');
  const bodies: Record<string, string> = {};
  const types = new Set<string>();
  await inBatches(IDENTITIES, 10, async (n) => {
    const r = await call(url, 'POST', '/api/v1/identities/', identifyBody(n, traitsOf(n)));
    bodies[`user-${n}`] = r.body;
    types.add(r.contentType);
  });
  if (types.size !== 1) throw new Error(`identity responses vary in content type: ${[...types]}`);
  const ofrepBodies: Record<string, string> = {};
  const ofrepTypes = new Set<string>();
  await inBatches(IDENTITIES, 10, async (n) => {
    const r = await call(url, 'POST', '/ofrep/v1/evaluate/flags', ofrepBody(n, traitsOf(n)));
    ofrepBodies[`user-${n}`] = r.body;
    ofrepTypes.add(r.contentType);
  });
  if (ofrepTypes.size !== 1) throw new Error(`OFREP responses vary in content type`);
  return {
    environmentKey: ENVIRONMENT_KEY,
    flags,
    identities: { contentType: [...types][0]!, bodies },
    ofrep: { contentType: [...ofrepTypes][0]!, bodies: ofrepBodies },
  };
}

/** Flagward answers again with the same bytes, and the bare server with those bytes too. */
async function checkSameBytes(flagwardUrl: string, bareUrl: string): Promise<void> {
  const samples = [0, 1, 2, 3, 499, 500, 998, 999];
  const requests: [method: 'GET' | 'POST', pathname: string, body?: string][] = [
    ['GET', '/api/v1/flags/'],
    ...samples.map((n): ['POST', string, string] => [
      'POST',
      '/api/v1/identities/',
      identifyBody(n, traitsOf(n)),
    ]),
    ...samples.map((n): ['POST', string, string] => [
      'POST',
      '/ofrep/v1/evaluate/flags',
      ofrepBody(n, traitsOf(n)),
    ]),
  ];
  for (const [method, pathname, body] of requests) {
    const [a, b] = await Promise.all([
      call(flagwardUrl, method, pathname, body),
      call(bareUrl, method, pathname, body),
    ]);
    if (a.body !== b.body || a.contentType !== b.contentType)
      throw new Error(`the bare server's answer differs from Flagward's: ${method} ${body ?? ''}`);
  }
}

/** How many identities get at least one flag from a segment override. */
function countSegmentOverrideHits(responses: SdkResponses): number {
  return Object.values(responses.identities.bodies).filter((body) =>
    (JSON.parse(body) as { flags: { feature_segment: number | null }[] }).flags.some(
      (f) => f.feature_segment !== null,
    ),
  ).length;
}

/** How many identities' stored age differs from the fixture's. */
async function countChangedAges(url: string): Promise<number> {
  let changed = 0;
  await inBatches(IDENTITIES, 10, async (n) => {
    const r = await call(url, 'GET', `/api/v1/identities/?identifier=user-${n}`);
    const parsed = JSON.parse(r.body) as { traits: { trait_key: string; trait_value: unknown }[] };
    const age = parsed.traits.find((t) => t.trait_key === 'age')?.trait_value;
    if (age !== traitsOf(n).age) changed++;
  });
  return changed;
}

/** Runs `fn(0)` … `fn(count - 1)`, `concurrency` at a time. */
async function inBatches(
  count: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < count; start += concurrency) {
    const end = Math.min(count, start + concurrency);
    await Promise.all(Array.from({ length: end - start }, (_, i) => fn(start + i)));
  }
}

// --- The fixture -----------------------------------------------------------------------------

type Condition = [property: string | null, operator: Op, value: string | null];

/** Segment i's conditions (all must hold), on plan, age and beta; segment 2 a 30% split. */
const SEGMENT_CONDITIONS: readonly (readonly Condition[])[] = [
  [
    ['plan', Op.EQUAL, 'pro'],
    ['age', Op.GREATER_THAN, '30'],
  ],
  [
    ['plan', Op.IN, 'pro,enterprise'],
    ['beta', Op.EQUAL, 'true'],
    ['age', Op.LESS_THAN, '50'],
  ],
  [
    [null, Op.PERCENTAGE_SPLIT, '30'],
    ['plan', Op.NOT_EQUAL, 'free'],
  ],
  [
    ['age', Op.GREATER_THAN_INCLUSIVE, '40'],
    ['age', Op.LESS_THAN_INCLUSIVE, '60'],
  ],
  [
    ['beta', Op.EQUAL, 'true'],
    ['plan', Op.CONTAINS, 'enter'],
  ],
  [
    ['plan', Op.EQUAL, 'free'],
    ['age', Op.LESS_THAN, '25'],
    ['beta', Op.IS_SET, null],
  ],
  [
    ['age', Op.MODULO, '2|0'],
    ['plan', Op.REGEX, '^(pro|enterprise)$'],
  ],
  [
    ['plan', Op.IN, 'free,pro'],
    ['beta', Op.EQUAL, 'false'],
    ['age', Op.GREATER_THAN, '65'],
  ],
  [
    ['plan', Op.NOT_EQUAL, 'pro'],
    ['age', Op.LESS_THAN_INCLUSIVE, '20'],
  ],
  [
    ['plan', Op.EQUAL, 'enterprise'],
    ['country', Op.IS_NOT_SET, null],
    ['age', Op.GREATER_THAN, '21'],
  ],
];

function defaultValue(j: number): FlagValue {
  switch (j % 3) {
    case 0:
      return `value-${j}`;
    case 1:
      return j * 10;
    default:
      return j % 2 === 0;
  }
}

/**
 * 1 organisation, project and environment; 50 features with a default state each, every
 * fifth multivariate with 3 options at 30/30/20 or 2 at 50/25 (string, int, bool option
 * values); 10 segments, each an ALL rule holding one ALL rule of 2–3 conditions; segments
 * 0–4 override one feature each (two of them multivariate); 1,000 identities with 3 traits.
 */
export async function seed(orm: Orm): Promise<void> {
  const em = orm.em.fork();
  const organisation = em.create(Organisation, { name: 'Bench SDK' });
  const project = em.create(Project, { name: 'Bench SDK', organisation });
  const environment = em.create(Environment, {
    name: 'Production',
    project,
    apiKey: ENVIRONMENT_KEY,
  });
  const features = Array.from({ length: FEATURES }, (_, j) =>
    em.create(Feature, {
      project,
      name: `feature_${String(j).padStart(2, '0')}`,
      type: isMultivariate(j) ? FeatureType.MULTIVARIATE : FeatureType.STANDARD,
      description: j % 2 === 0 ? `Feature number ${j}` : null,
    }),
  );
  const options = new Map<number, MultivariateOption[]>();
  features.forEach((feature, j) => {
    if (!isMultivariate(j)) return;
    const values: FlagValue[] = j % 10 === 0 ? ['variant-a', 42, true] : ['variant-a', 7];
    options.set(
      j,
      values.map((value, k) =>
        em.create(MultivariateOption, {
          feature,
          key: `variant_${k}`,
          ...optionColumns(value),
        }),
      ),
    );
  });
  const segments = Array.from({ length: SEGMENTS }, (_, i) =>
    em.create(Segment, { project, name: `segment_${i}` }),
  );
  // Parent rules get their ids in this flush; their children are inserted in the next.
  const topRules = segments.map((segment) =>
    em.create(SegmentRule, { segment, type: RuleType.ALL }),
  );
  await em.flush();

  features.forEach((feature, j) => {
    const mv = options.get(j);
    const state = em.create(FeatureState, {
      feature,
      environment,
      enabled: j % 4 !== 3,
      ...typedValue(mv ? `control-${j}` : defaultValue(j)),
    });
    const shares = mv?.length === 3 ? ['30', '30', '20'] : ['50', '25'];
    mv?.forEach((option, k) =>
      em.create(MultivariateStateValue, {
        featureState: state,
        option,
        percentageAllocation: shares[k]!,
      }),
    );
  });

  topRules.forEach((parentRule, i) => {
    const rule = em.create(SegmentRule, { parentRule, type: RuleType.ALL });
    SEGMENT_CONDITIONS[i]!.forEach(([property, operator, value], position) =>
      em.create(SegmentCondition, { rule, operator, property, value, position }),
    );
  });

  // Segment overrides: segment i overrides feature 5i + 1 (standard), or for i = 0 and 2 the
  // multivariate features 0 and 10, with their own shares.
  for (let i = 0; i < SEGMENT_OVERRIDES; i++) {
    const j = i === 0 ? 0 : i === 2 ? 10 : 5 * i + 1;
    const feature = features[j]!;
    const featureSegment = em.create(FeatureSegment, {
      feature,
      segment: segments[i]!,
      environment,
      priority: i,
    });
    const state = em.create(FeatureState, {
      feature,
      environment,
      featureSegment,
      enabled: true,
      ...typedValue(options.has(j) ? `segment-${i}` : defaultValue(j + 1)),
    });
    options.get(j)?.forEach((option, k) =>
      em.create(MultivariateStateValue, {
        featureState: state,
        option,
        percentageAllocation: k === 0 ? '80' : '10',
      }),
    );
  }

  for (let n = 0; n < IDENTITIES; n++) {
    const identity = em.create(Identity, { environment, identifier: `user-${n}` });
    const t = traitsOf(n);
    em.create(Trait, {
      identity,
      key: 'plan',
      ...traitColumns({ type: TraitValueType.unicode, value: t.plan }),
    });
    em.create(Trait, {
      identity,
      key: 'age',
      ...traitColumns({ type: TraitValueType.int, value: t.age }),
    });
    em.create(Trait, {
      identity,
      key: 'beta',
      ...traitColumns({ type: TraitValueType.bool, value: t.beta }),
    });
  }
  await em.flush();
}

// --- Numbers ---------------------------------------------------------------------------------

function meanBytes(bodies: Readonly<Record<string, string>>): number {
  const values = Object.values(bodies);
  return Math.round(values.reduce((sum, b) => sum + Buffer.byteLength(b), 0) / values.length);
}

function fmtRate(x: number): string {
  return x.toFixed(0);
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

// Run as a script; bench/soak.bench.ts imports the fixture.
if (require.main === module) {
  runMain(main);
}
