/**
 * Benchmark (issue 8, point 4): a page of the GraphQL management API, set against a bare
 * Apollo Server resolving the same data from memory, measured in the same run, alternating.
 *
 * Fixture, made through Flagward's GraphQL API (only the user accounts are written directly,
 * as `flagward createsuperuser` would: there is no sign-up mutation): an organisation with
 * one project, 3 environments, 6 tags and 60 features (every fifth multivariate with two
 * options; most with a description, 0–2 tags and 1–2 owners), each with its own enabled and
 * value in every environment. A member (organisation role USER, not an admin) holds
 * VIEW_PROJECT on the project and VIEW_ENVIRONMENT on the three environments, and signs in
 * for a bearer token.
 *
 * The query, as that member: the first page of 50 features with their tags, owners and
 * their states in the three environments (`QUERY` below). Flagward runs in a child process
 * as `npm start` runs it (the built `flagward serve`, NODE_ENV=production; the npm script
 * builds first). The bare server (bench/graphql-bare-server.ts: @apollo/server on Express 5,
 * compiled to plain JavaScript) runs in another with the same Node flags
 * (BENCH_GRAPHQL_NODE_FLAGS, e.g. `--cpu-prof`); it serves Flagward's answer, captured once,
 * and the run checks that both answer identical bytes. autocannon runs here.
 *
 * One warm-up round per server, then BENCH_GRAPHQL_ROUNDS (default 3) rounds of
 * BENCH_GRAPHQL_SECONDS (default 5) per server, bare, Flagward, bare, …, at
 * BENCH_GRAPHQL_CONNECTIONS (default 10) connections. The same request is sent every time, as
 * a management UI refetching its page does: after the first, Flagward answers it from its
 * GraphQL answer cache (src/graphql/response-cache.ts), having checked the bearer token, until
 * a table the page read is written. Then BENCH_GRAPHQL_UNCACHED_ROUNDS (default 1) rounds of
 * bare against Flagward with an unused variable different on every request, so that each one
 * runs in full (its queries and permission checks): reported, not judged.
 *
 * Every Flagward answer must be HTTP 200 and identical to the captured one (so: no `errors`).
 * Fails (exit code 1) on any error, non-200 or differing answer, or when Flagward's median
 * req/s is below 60% of the bare server's.
 *
 * Run: `npm run bench:graphql` (embedded PGlite in a temporary directory), or
 * `DATABASE_URL=postgres://… npm run bench:graphql` (a throwaway database on that server,
 * dropped at the end; the role needs CREATEDB). DATABASE_POOL_MAX is passed on to Flagward.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { migrate } from '../src/db/orm';
import { PasswordHasher } from '../src/users/password';
import { UserService } from '../src/users/user.service';
import type { BareFeature, GraphqlBareData } from './graphql-bare-server';
import { nodeFlags, startBare, startFlagward, type Child } from './processes';
import {
  openStorage,
  positiveInt,
  type Storage,
  runMain,
  loadAverageLine,
  flagwardEnv,
  median,
} from './support';

const FEATURES = 60;
const PAGE = 50;
const TARGET = 0.6;
const ROUNDS = positiveInt('BENCH_GRAPHQL_ROUNDS', 3);
const SECONDS = positiveInt('BENCH_GRAPHQL_SECONDS', 5);
const WARMUP_SECONDS = positiveInt('BENCH_GRAPHQL_WARMUP_SECONDS', SECONDS);
/** Rounds of the uncached variant (each after a bare round), reported but not judged. */
const UNCACHED_ROUNDS = positiveInt('BENCH_GRAPHQL_UNCACHED_ROUNDS', 1);
/** A management UI's concurrency, not an SDK fleet's: Flagward answers this page in tens of ms. */
const CONNECTIONS = positiveInt('BENCH_GRAPHQL_CONNECTIONS', 10);
const NODE_FLAGS = nodeFlags('BENCH_GRAPHQL_NODE_FLAGS');
const PASSWORD = 'bench-password-1';

/** The people: the organisation's admin, who builds the fixture, and three members. */
const ADMIN = { email: 'alice@bench.test', firstName: 'Alice', lastName: 'Admin' };
const MEMBER = { email: 'bob@bench.test', firstName: 'Bob', lastName: 'Viewer' };
const OWNERS = [
  { email: 'carol@bench.test', firstName: 'Carol', lastName: 'Owner' },
  { email: 'dave@bench.test', firstName: 'Dave', lastName: 'Owner' },
] as const;

export const QUERY = /* GraphQL */ `
  query FeaturePage($projectId: ID!, $environmentIds: [ID!]!) {
    features(projectId: $projectId, first: ${PAGE}) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      nodes {
        id
        name
        description
        type
        isArchived
        createdAt
        tags {
          id
          label
          color
        }
        owners {
          id
          email
          firstName
          lastName
        }
        states(environmentIds: $environmentIds) {
          id
          enabled
          value
          updatedAt
          environment {
            id
            name
          }
        }
      }
    }
  }
`;

/**
 * `flagward` sends the same request every time (answered from Flagward's GraphQL answer cache
 * after the first); `uncached` adds a variable the query does not use, different on every
 * request, so that each one runs in full (reported, not judged).
 */
type Target = 'bare' | 'flagward' | 'uncached';

interface Round {
  readonly target: Target;
  readonly warmup: boolean;
  readonly reqPerSec: number;
  readonly requests: number;
  readonly p99: number;
  readonly errors: number;
  readonly non2xx: number;
  /** 200 answers whose body differs from the captured one. */
  readonly differing: number;
  readonly failures: readonly string[];
}

async function main(): Promise<number> {
  const storage = await openStorage('flagward-bench-graphql-');
  const children: Child[] = [];
  const scratch = mkdtempSync(path.join(tmpdir(), 'flagward-bench-graphql-data-'));
  try {
    await migrate(storage.db.orm);
    await createUsers(storage);
    await storage.release();

    const env = flagwardEnv(storage);
    delete env.BENCH_GRAPHQL_DATA;

    const flagward = await startFlagward(NODE_FLAGS, { ...env, LOG_LEVEL: 'info' });
    children.push(flagward);
    const seedStart = performance.now();
    const fixture = await seed(flagward.url);
    const seedMs = performance.now() - seedStart;
    const variables = { projectId: fixture.projectId, environmentIds: fixture.environmentIds };
    const body = JSON.stringify({ query: QUERY, variables });
    const headers = {
      'content-type': 'application/json',
      authorization: `Bearer ${fixture.memberToken}`,
    };

    // Flagward's answer, which the bare server will serve.
    const answer = await post(flagward.url, headers, body);
    const page = checkPage(answer);
    const file = path.join(scratch, 'data.json');
    writeFileSync(file, JSON.stringify(bareData(fixture.projectId, page)));
    const bare = await startBare(
      'graphql-bare-server',
      NODE_FLAGS,
      { ...env, BENCH_GRAPHQL_DATA: file },
      scratch,
    );
    children.push(bare);
    const bareAnswer = await post(bare.url, headers, body);
    if (bareAnswer !== answer) {
      throw new Error(
        `the bare server's answer differs from Flagward's:\n${bareAnswer.slice(0, 500)}`,
      );
    }
    const states = page.nodes.reduce((n, f) => n + f.states.length, 0);
    console.log(
      `Seeded through GraphQL on ${storage.label} in ${Math.round(seedMs)} ms: ${FEATURES} features, ${fixture.environmentIds.length} environments, ${fixture.tags} tags; member ${MEMBER.email} (role USER) holds VIEW_PROJECT and VIEW_ENVIRONMENT ×${fixture.environmentIds.length}.`,
    );
    console.log(
      `The page as that member: ${page.nodes.length} of ${page.totalCount} features, ${states} states, ${Buffer.byteLength(answer)} bytes; the bare server answers identical bytes (checked).`,
    );
    console.log(
      `Node ${process.version}, ${cpus().length} CPUs shared by both servers and the load generator; ${CONNECTIONS} connections; ${ROUNDS} rounds of ${SECONDS} s per server after a ${WARMUP_SECONDS} s warm-up; flags ${NODE_FLAGS.join(' ') || '(none)'}; load average ${loadavg()[0]!.toFixed(2)}; database pool max ${storage.env.DATABASE_URL ? (process.env.DATABASE_POOL_MAX ?? '10 (default)') : '1 (PGlite)'}.`,
    );
    console.log('');

    const urls = { bare: bare.url, flagward: flagward.url };
    const rounds: Round[] = [];
    for (const target of ['bare', 'flagward'] as const) {
      rounds.push(await measure(urls[target], target, headers, body, answer, WARMUP_SECONDS, true));
    }
    for (let i = 0; i < ROUNDS; i++) {
      for (const target of ['bare', 'flagward'] as const) {
        rounds.push(await measure(urls[target], target, headers, body, answer, SECONDS, false));
      }
    }

    // Every request a new key: Flagward's full path (queries, permission checks), reported.
    const uncachedRounds: Round[] = [];
    for (let i = 0; i < UNCACHED_ROUNDS; i++) {
      for (const target of ['bare', 'uncached'] as const) {
        const url = target === 'bare' ? bare.url : flagward.url;
        const round = await measure(url, target, headers, body, answer, SECONDS, false);
        if (target === 'uncached') uncachedRounds.push(round);
        else rounds.push(round);
      }
    }

    const measured = (t: Target): Round[] => rounds.filter((r) => r.target === t && !r.warmup);
    const bareRps = median(measured('bare').map((r) => r.reqPerSec));
    const flagwardRps = median(measured('flagward').map((r) => r.reqPerSec));
    const ratio = flagwardRps / bareRps;
    const perRound = measured('flagward').map(
      (r, i) => r.reqPerSec / (measured('bare')[i]?.reqPerSec ?? NaN),
    );
    const uncachedRps = median(uncachedRounds.map((r) => r.reqPerSec));
    const bad = [...rounds, ...uncachedRounds].filter(
      (r) => r.errors > 0 || r.non2xx > 0 || r.differing > 0,
    );
    const pass = ratio >= TARGET;
    const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

    console.log('');
    console.log(loadAverageLine());
    console.log(
      `bare ${Math.round(bareRps)} req/s (p99 ${median(measured('bare').map((r) => r.p99))} ms), Flagward ${Math.round(flagwardRps)} req/s (p99 ${median(measured('flagward').map((r) => r.p99))} ms): Flagward / bare = ${pct(ratio)} (rounds ${pct(Math.min(...perRound))}–${pct(Math.max(...perRound))}), target ≥ ${pct(TARGET)}: ${pass ? 'PASS' : 'FAIL'}`,
    );
    if (uncachedRounds.length > 0)
      console.log(
        `Every request a different one (no answer kept, each runs its queries): Flagward ${Math.round(uncachedRps)} req/s (p99 ${median(uncachedRounds.map((r) => r.p99))} ms) = ${pct(uncachedRps / bareRps)} of bare (reported, not judged).`,
      );
    console.log(
      JSON.stringify({
        database: storage.label,
        node: process.version,
        cpus: cpus().length,
        connections: CONNECTIONS,
        rounds: ROUNDS,
        seconds: SECONDS,
        answerBytes: Buffer.byteLength(answer),
        bare: {
          reqPerSec: Math.round(bareRps),
          rounds: measured('bare').map((r) => Math.round(r.reqPerSec)),
        },
        flagward: {
          reqPerSec: Math.round(flagwardRps),
          rounds: measured('flagward').map((r) => Math.round(r.reqPerSec)),
        },
        uncached: {
          reqPerSec: Math.round(uncachedRps),
          rounds: uncachedRounds.map((r) => Math.round(r.reqPerSec)),
        },
        ratio: Math.round(ratio * 1000) / 1000,
        target: TARGET,
        pass,
        ok: bad.length === 0,
      }),
    );
    if (bad.length > 0) console.log('FAILED: errors, non-200 or differing answers (see above).');
    if (!pass) console.log(`FAILED: Flagward below ${pct(TARGET)} of the bare server's req/s.`);
    return bad.length === 0 && pass ? 0 : 1;
  } finally {
    for (const child of children.reverse()) await child.stop();
    rmSync(scratch, { recursive: true, force: true });
    await storage.close();
  }
}

async function measure(
  url: string,
  target: Target,
  headers: Record<string, string>,
  body: string,
  expected: string,
  seconds: number,
  warmup: boolean,
): Promise<Round> {
  const failures: string[] = [];
  const note = (text: string): void => {
    if (failures.length < 5) failures.push(text);
  };
  let differing = 0;
  let sent = 0;
  const parsed = JSON.parse(body) as { query: string; variables: Record<string, unknown> };
  const run = autocannon({
    url: new URL('/graphql', url).toString(),
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers,
        body,
        ...(target === 'uncached'
          ? {
              setupRequest: (request: autocannon.Request) => ({
                ...request,
                body: JSON.stringify({
                  query: parsed.query,
                  variables: { ...parsed.variables, unused: ++sent },
                }),
              }),
            }
          : {}),
        onResponse: (status, text) => {
          if (status !== 200) note(`HTTP ${status}: ${text.slice(0, 500)}`);
          else if (text !== expected) {
            differing++;
            note(`a different answer: ${text.slice(0, 500)}`);
          }
        },
      },
    ],
  });
  run.on('reqError', (err: Error) => note(`request error: ${err.message}`));
  const result = await run;
  // Requests autocannon gave up on at the end may still be running: one more answer, on a
  // fresh connection, comes after them, so that they do not eat into the next round.
  await post(url, headers, body);
  const round: Round = {
    target,
    warmup,
    reqPerSec: result.requests.average,
    requests: result.requests.total,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    differing,
    failures,
  };
  console.log(
    `  ${warmup ? 'warm-up ' : 'round   '} ${target.padEnd(8)} ${Math.round(round.reqPerSec).toString().padStart(6)} req/s  p99 ${String(round.p99).padStart(4)} ms  ${round.requests} requests  errors ${round.errors}${result.timeouts ? ` (${result.timeouts} timeouts)` : ''}  non-2xx ${round.non2xx}  differing ${differing}`,
  );
  for (const f of failures) console.log(`    ${f}`);
  return round;
}

// --- The fixture ---------------------------------------------------------------------------

/** The accounts, as `flagward createsuperuser` writes them but without superuser rights. */
export async function createUsers(storage: Storage): Promise<void> {
  // Cheap hashing parameters: only the sign-ins below check these passwords.
  const users = new UserService(new PasswordHasher({ memoryCost: 1024, timeCost: 1 }));
  const em = storage.db.orm.em.fork();
  for (const person of [ADMIN, MEMBER, ...OWNERS]) {
    await users.create(em, { ...person, password: PASSWORD });
  }
}

export interface Fixture {
  readonly projectId: string;
  readonly environmentIds: string[];
  readonly tags: number;
  readonly memberToken: string;
}

/** Builds the fixture through GraphQL, as the organisation's admin would. */
export async function seed(url: string): Promise<Fixture> {
  const adminToken = await login(url, ADMIN.email);
  const as = (query: string, variables: Record<string, unknown> = {}): Promise<GqlData> =>
    gql(url, adminToken, query, variables);

  const org = await as(`mutation { createOrganisation(input: { name: "Acme Bench" }) { id } }`);
  const organisationId = field(org, 'createOrganisation', 'id');
  const project = await as(
    `mutation($o: ID!) { createProject(input: { organisationId: $o, name: "Web shop" }) { id } }`,
    { o: organisationId },
  );
  const projectId = field(project, 'createProject', 'id');
  const environmentIds: string[] = [];
  for (const name of ['Development', 'Staging', 'Production']) {
    const e = await as(
      `mutation($p: ID!, $n: String!) { createEnvironment(input: { projectId: $p, name: $n }) { id } }`,
      { p: projectId, n: name },
    );
    environmentIds.push(field(e, 'createEnvironment', 'id'));
  }

  const userIds: Record<string, string> = {};
  for (const person of [MEMBER, ...OWNERS]) {
    const m = await as(
      `mutation($o: ID!, $e: String!) { addOrganisationMember(input: { organisationId: $o, email: $e, role: USER }) { user { id } } }`,
      { o: organisationId, e: person.email },
    );
    userIds[person.email] = field(m, 'addOrganisationMember', 'user', 'id');
  }
  const me = await as(`query { me { id } }`);
  const adminId = field(me, 'me', 'id');

  const tagLabels = ['checkout', 'search', 'mobile', 'experiment', 'ops', 'kill-switch'];
  const colours = ['#6837FC', '#0AADDF', '#27AB95', '#FF9F43', '#EF4D56', '#3D4DB6'];
  const tagIds: string[] = [];
  for (const [i, label] of tagLabels.entries()) {
    const t = await as(
      `mutation($p: ID!, $l: String!, $c: String!) { createTag(input: { projectId: $p, label: $l, color: $c }) { id } }`,
      { p: projectId, l: label, c: colours[i] },
    );
    tagIds.push(field(t, 'createTag', 'id'));
  }

  const featureIds: string[] = [];
  const carol = userIds[OWNERS[0].email]!;
  const dave = userIds[OWNERS[1].email]!;
  for (let j = 0; j < FEATURES; j++) {
    const multivariate = j % 5 === 0;
    const input = {
      projectId,
      name: `${tagLabels[j % tagLabels.length]!.replace('-', '_')}_feature_${String(j).padStart(2, '0')}`,
      description:
        j % 4 === 3 ? null : `What feature ${j} turns on, for the ${tagLabels[j % 6]} team.`,
      defaultEnabled: j % 3 === 0,
      initialValue: initialValue(j),
      tagIds: [tagIds[j % 6]!, ...(j % 3 === 0 ? [tagIds[(j + 2) % 6]!] : [])].slice(
        0,
        j % 7 === 6 ? 0 : 2,
      ),
      ownerIds: j % 2 === 0 ? [adminId, carol] : [j % 3 === 1 ? dave : adminId],
      multivariateOptions: multivariate
        ? [
            { key: 'variant_a', value: `variant-a-${j}`, defaultPercentageAllocation: 30 },
            { key: 'variant_b', value: j * 3, defaultPercentageAllocation: 20 },
          ]
        : null,
    };
    const f = await as(`mutation($i: CreateFeatureInput!) { createFeature(input: $i) { id } }`, {
      i: input,
    });
    featureIds.push(field(f, 'createFeature', 'id'));
  }

  // Each environment's own enabled and value, 100 changes per call at most.
  const items = featureIds.flatMap((featureId, j) =>
    environmentIds.map((environmentId, e) => ({
      featureId,
      environmentId,
      enabled: (j + e) % 3 !== 0,
      value: stateValue(j, e),
    })),
  );
  for (let i = 0; i < items.length; i += 100) {
    await as(
      `mutation($items: [FeatureStateChangeInput!]!) { updateFeatureStates(items: $items) { id } }`,
      { items: items.slice(i, i + 100) },
    );
  }

  // The member's grants: view the project and the three environments, nothing more.
  const member = userIds[MEMBER.email]!;
  await as(
    `mutation($u: ID!, $p: ID!) { grantPermissions(input: { holder: { userId: $u }, projectId: $p, keys: ["VIEW_PROJECT"] }) { id } }`,
    { u: member, p: projectId },
  );
  for (const environmentId of environmentIds) {
    await as(
      `mutation($u: ID!, $e: ID!) { grantPermissions(input: { holder: { userId: $u }, environmentId: $e, keys: ["VIEW_ENVIRONMENT"] }) { id } }`,
      { u: member, e: environmentId },
    );
  }
  const memberToken = await login(url, MEMBER.email);
  return { projectId, environmentIds, tags: tagIds.length, memberToken };
}

function initialValue(j: number): string | null {
  switch (j % 4) {
    case 0:
      return `value-${j}`;
    case 1:
      return String(j * 10);
    case 2:
      return j % 8 === 2 ? 'true' : 'false';
    default:
      return null;
  }
}

/** A value per feature and environment: strings, integers, booleans and some nulls. */
function stateValue(j: number, e: number): string | number | boolean | null {
  switch ((j + e) % 4) {
    case 0:
      return `${['dev', 'staging', 'prod'][e]}-${j}`;
    case 1:
      return j * 10 + e;
    case 2:
      return (j + e) % 2 === 0;
    default:
      return null;
  }
}

// --- GraphQL over HTTP -----------------------------------------------------------------------

type GqlData = Record<string, unknown>;

async function post(url: string, headers: Record<string, string>, body: string): Promise<string> {
  const res = await fetch(new URL('/graphql', url), { method: 'POST', headers, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/graphql answered ${res.status}: ${text.slice(0, 500)}`);
  return text;
}

async function gql(
  url: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown>,
): Promise<GqlData> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const text = await post(url, headers, JSON.stringify({ query, variables }));
  const parsed = JSON.parse(text) as { data?: GqlData | null; errors?: unknown[] };
  if (parsed.errors?.length || !parsed.data) {
    throw new Error(`GraphQL errors: ${JSON.stringify(parsed.errors)}\nfor: ${query}`);
  }
  return parsed.data;
}

async function login(url: string, email: string): Promise<string> {
  const data = await gql(
    url,
    null,
    `mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p, mode: TOKEN }) { token } }`,
    { e: email, p: PASSWORD },
  );
  return field(data, 'login', 'token');
}

/** A string at `path` in a GraphQL answer (ids, tokens). */
function field(data: GqlData, ...path: string[]): string {
  let value: unknown = data;
  for (const key of path) value = (value as Record<string, unknown> | null)?.[key];
  if (typeof value !== 'string') throw new Error(`no ${path.join('.')} in ${JSON.stringify(data)}`);
  return value;
}

interface CapturedState {
  readonly environment: { readonly id: string };
}
interface CapturedPage {
  readonly totalCount: number;
  readonly pageInfo: Record<string, unknown>;
  readonly nodes: readonly (Record<string, unknown> & { states: readonly CapturedState[] })[];
}

/** The page in Flagward's answer, checked: no errors, a full page, 3 states per feature. */
function checkPage(answer: string): CapturedPage {
  const parsed = JSON.parse(answer) as {
    data?: { features?: CapturedPage } | null;
    errors?: unknown[];
  };
  if (parsed.errors?.length)
    throw new Error(`Flagward answered errors: ${JSON.stringify(parsed.errors)}`);
  const page = parsed.data?.features;
  if (!page) throw new Error(`no page in Flagward's answer: ${answer.slice(0, 500)}`);
  if (page.nodes.length !== PAGE || page.nodes.some((f) => f.states.length !== 3)) {
    throw new Error(`expected ${PAGE} features with 3 states each: ${answer.slice(0, 500)}`);
  }
  return page;
}

/** What the bare server holds: the page, each feature's states keyed by environment id. */
function bareData(projectId: string, page: CapturedPage): GraphqlBareData {
  return {
    projectId,
    totalCount: page.totalCount,
    pageInfo: page.pageInfo,
    nodes: page.nodes.map(({ states, ...rest }): BareFeature => ({
      ...rest,
      statesByEnvironment: Object.fromEntries(states.map((s) => [s.environment.id, s])),
    })),
  };
}

if (require.main === module) {
  runMain(main);
}
