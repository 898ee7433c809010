/**
 * Fuzzing the SDK data plane (issue 9.1): fast-check generates requests to every endpoint
 * under /api/v1 (with /api/v2's analytics and OFREP, served by the same router) — wrong
 * types and operator objects in every slot of the bodies, huge strings and arrays, deeply
 * nested JSON, invalid UTF-8, odd query strings, keys and headers — and each answer must be
 * below 500, arrive, and, when it refuses (4xx), leave the database exactly as it was. At the
 * end: no unhandled rejection or uncaught exception in this process (the server's), nothing
 * logged at error level, and the server still serving.
 *
 * The endpoints are found in the code (every '/api/…' and '/ofrep/…' path written in src/):
 * one without a surface here fails the test by name.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOAuthProvider } from '../support/fake-oauth-provider';
import { createWorkspace, ok, type Workspace } from '../support/fixtures';
import {
  anyString,
  deepJson,
  describeValue,
  type FuzzValue,
  fuzzInputs,
  fuzzSeed,
  fuzzTimeout,
  hostileValue,
  hugeString,
  invalidUtf8Body,
  longArray,
  nastyString,
  RawJson,
  oddContentType,
  oddHeaders,
  smallJson,
  Tally,
  toJson,
} from '../support/fuzz';
import { LogCapture, rawAgent, rawRequest, watchProcess, WriteWatch } from '../support/security';
import { createTestApp, type TestApp } from '../support/test-app';

const SEED = fuzzSeed(90_101);
/** Generated requests per surface (FUZZ_INPUTS overrides; `npm run test:fuzz` sends 1,000). */
const PER_SURFACE = fuzzInputs(150);
/** Refused sign-ins are counted there on purpose (login throttling); nothing else may change. */
const WRITTEN_WHEN_REFUSED: string[] = [];

// --- What the endpoints take ---------------------------------------------------------------

type KeyKind = 'client' | 'server' | 'none';

/** One fuzzing target: an endpoint (or all unknown paths under /api/v1/). */
interface Surface {
  readonly name: string;
  readonly method: string;
  /** The path, `*` standing for a generated segment. */
  readonly path: string;
  /** The key the endpoint wants (it gets others too). */
  readonly key: KeyKind;
  /** A valid body; slots of it are replaced with hostile values. */
  readonly body?: () => FuzzValue;
  /** Paths into the body whose values the fuzzer replaces ('' is the whole body). */
  readonly slots?: readonly string[];
  /** Query parameters it reads. */
  readonly params?: readonly string[];
  /** A form (application/x-www-form-urlencoded) instead of JSON. */
  readonly form?: readonly string[];
  /** Paths no endpoint serves (it covers no endpoint of the code). */
  readonly unknown?: boolean;
}

const IDENTITY_BODY = (): FuzzValue => ({
  identifier: 'fuzzed-user',
  traits: [
    { trait_key: 'plan', trait_value: 'gold' },
    { trait_key: 'age', trait_value: 42, transient: true },
  ],
  transient: false,
});
const TRAIT_ITEM = (): FuzzValue => ({
  identity: { identifier: 'fuzzed-user' },
  trait_key: 'plan',
  trait_value: 'silver',
});

const SURFACES: readonly Surface[] = [
  { name: 'GET flags', method: 'GET', path: '/api/v1/flags/', key: 'client', params: ['feature'] },
  {
    name: 'GET identities',
    method: 'GET',
    path: '/api/v1/identities/',
    key: 'client',
    params: ['identifier', 'feature', 'transient'],
  },
  {
    name: 'POST identities',
    method: 'POST',
    path: '/api/v1/identities/',
    key: 'client',
    body: IDENTITY_BODY,
    slots: [
      '',
      'identifier',
      'traits',
      'traits.0',
      'traits.0.trait_key',
      'traits.0.trait_value',
      'traits.1.transient',
      'transient',
    ],
  },
  {
    name: 'GET environment-document/',
    method: 'GET',
    path: '/api/v1/environment-document/',
    key: 'server',
  },
  {
    name: 'GET environment-document',
    method: 'GET',
    path: '/api/v1/environment-document',
    key: 'server',
  },
  {
    name: 'POST traits',
    method: 'POST',
    path: '/api/v1/traits/',
    key: 'server',
    body: TRAIT_ITEM,
    slots: ['', 'identity', 'identity.identifier', 'trait_key', 'trait_value'],
  },
  {
    name: 'PUT traits/bulk',
    method: 'PUT',
    path: '/api/v1/traits/bulk/',
    key: 'server',
    body: () => [
      TRAIT_ITEM(),
      { ...(TRAIT_ITEM() as object), trait_key: 'gone', trait_value: null },
    ],
    slots: [
      '',
      '0',
      '0.identity',
      '0.identity.identifier',
      '0.trait_key',
      '0.trait_value',
      '1.trait_value',
    ],
  },
  {
    name: 'POST traits/increment-value',
    method: 'POST',
    path: '/api/v1/traits/increment-value/',
    key: 'server',
    body: () => ({ trait_key: 'visits', increment_by: 1, identifier: 'fuzzed-user' }),
    slots: ['', 'trait_key', 'increment_by', 'identifier'],
  },
  {
    name: 'POST analytics v1',
    method: 'POST',
    path: '/api/v1/analytics/flags/',
    key: 'client',
    body: () => ({ checkout: 3, banner: 1 }),
    slots: ['', 'checkout', 'banner'],
  },
  {
    name: 'POST analytics v2',
    method: 'POST',
    path: '/api/v2/analytics/flags/',
    key: 'client',
    body: () => ({
      evaluations: [
        {
          feature_name: 'checkout',
          identity_identifier: 'u1',
          enabled_when_evaluated: true,
          count: 2,
        },
      ],
    }),
    slots: [
      '',
      'evaluations',
      'evaluations.0',
      'evaluations.0.feature_name',
      'evaluations.0.identity_identifier',
      'evaluations.0.enabled_when_evaluated',
      'evaluations.0.count',
    ],
  },
  {
    name: 'POST auth/oauth/google',
    method: 'POST',
    path: '/api/v1/auth/oauth/google/',
    key: 'none',
    body: () => ({ access_token: 'google-at-not-issued' }),
    slots: ['', 'access_token'],
  },
  {
    name: 'POST auth/oauth/github',
    method: 'POST',
    path: '/api/v1/auth/oauth/github/',
    key: 'none',
    body: () => ({ access_token: 'github-at-not-issued' }),
    slots: ['', 'access_token'],
  },
  { name: 'GET users/config/init', method: 'GET', path: '/api/v1/users/config/init/', key: 'none' },
  {
    name: 'POST users/config/init',
    method: 'POST',
    path: '/api/v1/users/config/init/',
    key: 'none',
    form: ['email', 'site_name', 'site_domain'],
  },
  {
    name: 'POST ofrep flag',
    method: 'POST',
    path: '/ofrep/v1/evaluate/flags/*',
    key: 'server',
    body: () => ({ context: { targetingKey: 'fuzzed-user', plan: 'gold', age: 30 } }),
    slots: ['', 'context', 'context.targetingKey', 'context.plan', 'context.age'],
  },
  {
    name: 'POST ofrep flags',
    method: 'POST',
    path: '/ofrep/v1/evaluate/flags',
    key: 'client',
    body: () => ({ context: { targetingKey: 'fuzzed-user', plan: 'gold' } }),
    slots: ['', 'context', 'context.targetingKey', 'context.plan'],
  },
  { name: 'unknown /api/v1 path', method: 'GET', path: '/api/v1/*', key: 'client', unknown: true },
];

// --- Requests ------------------------------------------------------------------------------

/** A body value with `slot` (dot path; '' the whole) set to `value`. */
function withSlot(body: FuzzValue, slot: string, value: FuzzValue): FuzzValue {
  if (slot === '') return value;
  if (body === null || typeof body !== 'object' || body instanceof RawJson) return body;
  const keys = slot.split('.');
  const set = (at: FuzzValue, i: number): FuzzValue => {
    const key = keys[i]!;
    const base: Record<string, FuzzValue> | FuzzValue[] =
      at !== null && typeof at === 'object' && !(at instanceof RawJson)
        ? Array.isArray(at)
          ? [...(at as FuzzValue[])]
          : { ...(at as Record<string, FuzzValue>) }
        : {};
    const inner =
      i === keys.length - 1 ? value : set((base as Record<string, FuzzValue>)[key] ?? null, i + 1);
    (base as Record<string, FuzzValue>)[key] = inner;
    return base as FuzzValue;
  };
  return set(body, 0);
}

/** Percent-encodes every byte of the string's UTF-8 but unreserved ASCII (lone surrogates too). */
const percent = (s: string): string =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');

/** Query strings: hostile values, raw percent-garbage (invalid UTF-8 when decoded), repeats. */
const queryValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: anyString.map((s) => percent(s.slice(0, 4_000))) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '%FF%FE',
      '%C0%AF',
      '%ED%A0%80',
      '%00',
      '%',
      '%zz',
      '%E2%82',
      '+',
      'a&b=c',
      '[]',
    ),
  },
  // Past Node's 16 KiB header limit: refused (431) before any handler runs.
  { weight: 1, arbitrary: fc.constant('q'.repeat(12_000)) },
);

interface Built {
  readonly surface: Surface;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body?: Buffer;
  /** What went in, for failure messages. */
  readonly what: string;
}

interface Keys {
  readonly client: string;
  readonly server: string;
}

const keyChoice = (keys: Keys, wanted: KeyKind): fc.Arbitrary<string | string[] | undefined> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constant(
        wanted === 'server' ? keys.server : wanted === 'client' ? keys.client : undefined,
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom(keys.client, keys.server, undefined) },
    { weight: 1, arbitrary: nastyString },
    { weight: 1, arbitrary: fc.constant<string[]>([keys.client, 'not-a-key']) },
    { weight: 1, arbitrary: fc.constant<string[]>(['not-a-key', keys.server]) },
  );

function surfaceArbitrary(surface: Surface, keys: Keys): fc.Arbitrary<Built> {
  const method = fc.oneof(
    { weight: 8, arbitrary: fc.constant(surface.method) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
    },
  );
  const segment = fc.oneof(
    fc.constantFrom(
      'checkout',
      'banner',
      'missing',
      '..',
      '%2e%2e',
      '%00',
      '%FF',
      'a'.repeat(3_000),
    ),
    fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).map(percent),
  );
  const query = fc
    .array(
      fc.tuple(fc.constantFrom(...(surface.params ?? ['x']), 'identifier', 'feature'), queryValue),
      {
        maxLength: 4,
      },
    )
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

  const jsonBody: fc.Arbitrary<{ body: Buffer; what: string } | undefined> = surface.body
    ? fc.oneof(
        {
          weight: 6,
          arbitrary: fc
            .array(fc.tuple(fc.constantFrom(...surface.slots!), hostileValue), {
              minLength: 1,
              maxLength: 3,
            })
            .map((changes) => {
              let body = surface.body!();
              for (const [slot, value] of changes) body = withSlot(body, slot, value);
              return {
                body: Buffer.from(toJson(body)),
                what: changes.map(([s, v]) => `${s || '(body)'} = ${describeValue(v)}`).join('; '),
              };
            }),
        },
        {
          weight: 1,
          arbitrary: fc.oneof(smallJson, deepJson, longArray).map((v) => ({
            body: Buffer.from(toJson(v)),
            what: `body ${describeValue(v)}`,
          })),
        },
        {
          weight: 1,
          arbitrary: invalidUtf8Body((inner) =>
            toJson(withSlot(surface.body!(), surface.slots![1] ?? '', inner)),
          ).map((body) => ({ body, what: `invalid UTF-8: ${body.toString('hex').slice(0, 120)}` })),
        },
        {
          weight: 1,
          arbitrary: hugeString.map((s) => ({
            body: Buffer.from(s),
            what: `raw ${s.length} characters`,
          })),
        },
        { weight: 1, arbitrary: fc.constant(undefined) },
      )
    : fc.oneof(
        { weight: 3, arbitrary: fc.constant(undefined) },
        {
          weight: 1,
          arbitrary: smallJson.map((v) => ({
            body: Buffer.from(toJson(v)),
            what: 'a body on a GET',
          })),
        },
      );

  const formBody = surface.form
    ? fc
        .array(fc.tuple(fc.constantFrom(...surface.form, 'email'), anyString), { maxLength: 5 })
        .chain((pairs) =>
          fc.oneof(
            fc.constant(
              new URLSearchParams(
                pairs.map(([k, v]): [string, string] => [k, v.slice(0, 20_000)]),
              ).toString(),
            ),
            fc.constant(pairs.map(([k]) => `${k}=%FF%FE%00`).join('&')),
            fc.constant('email[$ne]=x&email[]=a&email[]=b'),
            fc.constant('a=1&'.repeat(5_000)),
          ),
        )
        .map((text) => ({ body: Buffer.from(text), what: `form ${describeValue(text)}` }))
    : undefined;

  return fc
    .record({
      method,
      key: keyChoice(keys, surface.key),
      // OFREP reads all three; the Flagsmith endpoints X-Environment-Key only.
      keyHeader: surface.path.startsWith('/ofrep/')
        ? fc.constantFrom('x-environment-key', 'x-api-key', 'authorization')
        : fc.oneof(
            { weight: 8, arbitrary: fc.constant('x-environment-key') },
            { weight: 1, arbitrary: fc.constantFrom('x-api-key', 'authorization') },
          ),
      segment,
      query,
      body: formBody ?? jsonBody,
      contentType: surface.form
        ? fc.oneof(
            {
              weight: 4,
              arbitrary: fc.constant<string | string[] | undefined>(
                'application/x-www-form-urlencoded',
              ),
            },
            { weight: 1, arbitrary: oddContentType },
          )
        : fc.oneof(
            {
              weight: 4,
              arbitrary: fc.constant<string | string[] | undefined>('application/json'),
            },
            { weight: 1, arbitrary: oddContentType },
          ),
      extra: oddHeaders,
    })
    .map((r) => {
      const headers: Record<string, string | string[]> = { ...r.extra };
      if (r.key !== undefined) {
        headers[r.keyHeader] =
          r.keyHeader === 'authorization'
            ? (Array.isArray(r.key) ? r.key : [r.key]).map((k) => `Bearer ${k}`)
            : r.key;
      }
      if (r.body && r.contentType !== undefined) headers['content-type'] = r.contentType;
      const pathname = surface.path.replace('*', r.segment);
      const withQuery = r.query ? `${pathname}?${r.query}` : pathname;
      const what = [
        `${surface.name}: ${r.method} ${withQuery.slice(0, 200)}`,
        `headers ${describeValue(Object.keys(headers))}`,
        r.body?.what ?? 'no body',
      ].join(' | ');
      return {
        surface,
        method: r.method,
        path: withQuery,
        headers,
        body: r.body?.body,
        what,
        // fast-check prints counterexamples with this (not the megabytes they may hold).
        [fc.toStringMethod]: () => what,
      };
    });
}

// --- The run -------------------------------------------------------------------------------

type RawRequestLike = Parameters<typeof rawRequest>[1];

/** A request to an SDK endpoint with a key and a JSON body (a RawJson one sent as it is). */
function sdk(method: string, path: string, key?: string, body?: unknown): RawRequestLike {
  const headers: Record<string, string> = {};
  if (key) headers['x-environment-key'] = key;
  if (body === undefined) return { method, path, headers };
  headers['content-type'] = 'application/json';
  const text = body instanceof RawJson ? body.text : JSON.stringify(body);
  return { method, path, headers, body: Buffer.from(text) };
}

/**
 * A 4xx that refuses nothing: GET identities/ stores the identity it is asked about
 * (Flagsmith's get-or-create, shared/spec/sdk-rest-api.md §6.1) and then answers a `feature`
 * the environment lacks with 404 "Given feature not found" (HEAD: the same, without a body).
 * What it may write: that identity.
 */
function lookupMiss(r: Built, status: number, body: Buffer): readonly string[] | null {
  const url = new URL(r.path, 'http://x');
  if (status !== 404 || url.pathname !== '/api/v1/identities/') return null;
  if (r.method === 'GET' && body.toString('utf8') !== '{"detail":"Given feature not found"}')
    return null;
  if (r.method !== 'GET' && !(r.method === 'HEAD' && url.searchParams.has('feature'))) return null;
  return ['identities'];
}

/** Every '/api/…' or '/ofrep/…' endpoint path written in src/ (template parts as `*`). */
function pathsInCode(): string[] {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (file.endsWith('.ts')) {
        const text = readFileSync(file, 'utf8');
        for (const m of text.matchAll(/['`](\/(?:api|ofrep)\/[^'`\s]*)['`]/g)) {
          const route = m[1]!.replace(/\$\{[^}]*\}/g, '*');
          // Prefixes ('/ofrep/', '/api/v1/') name no endpoint.
          if (route.split('/').filter(Boolean).length >= 3) found.add(route);
        }
      }
    }
  };
  walk(path.resolve(__dirname, '../../src'));
  return [...found].sort();
}

/** Whether two paths match, `*` in either standing for one segment (or an empty last one). */
const matches = (pattern: string, route: string): boolean => {
  const parts = pattern.split('*').map((p) => p.replace(/[.?+^$()|[\]\\{}]/g, '\\$&'));
  const last = parts.pop()!;
  const body = parts.map((p) => `${p}[^/]+`).join('');
  const re = new RegExp(
    pattern.endsWith('*') ? `^${parts.join('[^/]+')}[^/]*$` : `^${body}${last}$`,
  );
  return re.test(route);
};
const covers = (surface: string, route: string): boolean =>
  matches(surface, route) || matches(route, surface);

describe('fuzzing the SDK API (/api/v1 and friends)', () => {
  let t: TestApp;
  let fake: FakeOAuthProvider;
  let ws: Workspace;
  let keys: Keys;
  const logs = new LogCapture();
  const processWatch = watchProcess();

  beforeAll(async () => {
    fake = await FakeOAuthProvider.start({
      google: { clientId: 'g', clientSecret: 'gs' },
      github: { clientId: 'h', clientSecret: 'hs' },
    });
    t = await createTestApp(
      undefined,
      { WEBHOOK_WORKER: 'false', USAGE_FLUSH_SECONDS: '3600', ...fake.env },
      { logger: logs.logger },
    );
    const { token } = await t.createUser('fuzz-admin@acme.test');
    ws = await createWorkspace(t, token, { environments: ['Development'] });
    const env = ws.environments.Development!;
    const as = <T>(query: string, variables: Record<string, unknown>) =>
      t.gql<T>(query, variables, { token }).then(ok);
    const feature = await as<{ createFeature: { id: string } }>(
      'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "checkout", initialValue: "blue", defaultEnabled: true }) { id } }',
      { p: ws.projectId },
    );
    await as(
      'mutation($f: ID!) { createMultivariateOption(featureId: $f, input: { value: "red", defaultPercentageAllocation: 30 }) { id } }',
      { f: feature.createFeature.id },
    );
    await as(
      'mutation($p: ID!) { createFeature(input: { projectId: $p, name: "banner" }) { id } }',
      {
        p: ws.projectId,
      },
    );
    const segment = await as<{ createSegment: { id: string } }>(
      'mutation($p: ID!) { createSegment(input: { projectId: $p, name: "gold", rules: [{ type: ALL, conditions: [{ operator: REGEX, property: "plan", value: "^g.*d$" }] }] }) { id } }',
      { p: ws.projectId },
    );
    await as(
      'mutation($i: CreateSegmentOverrideInput!) { createSegmentOverride(input: $i) { id } }',
      {
        i: {
          environmentId: env,
          featureId: feature.createFeature.id,
          segmentId: segment.createSegment.id,
          enabled: true,
          value: 'gold value',
        },
      },
    );
    const server = await as<{ createServerSideKey: { key: string } }>(
      'mutation($e: ID!) { createServerSideKey(input: { environmentId: $e, name: "fuzz" }) { key } }',
      { e: env },
    );
    keys = { client: ws.apiKeys.Development!, server: server.createServerSideKey.key };
    // An identity with traits, as an SDK would leave it.
    const seeded = await fetch(`${t.url}/api/v1/identities/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-environment-key': keys.client },
      body: JSON.stringify(IDENTITY_BODY()),
    });
    expect(seeded.status).toBe(200);
  });

  afterAll(async () => {
    processWatch.stop();
    rawAgent.destroy();
    await t?.close();
    await fake?.close();
  });

  it('has a surface for every SDK path in the code', () => {
    const missing = pathsInCode().filter(
      (route) => !SURFACES.some((s) => !s.unknown && covers(s.path, route)),
    );
    expect(missing, 'paths in src/ without a fuzzing surface').toEqual([]);
  });

  it(
    `answers ${PER_SURFACE} generated requests to each surface below 500, and refusals write nothing`,
    { timeout: fuzzTimeout(PER_SURFACE * SURFACES.length, 40) },
    async () => {
      const tally = new Tally(SURFACES.map((s) => s.name));
      const statuses = new Map<number, number>();
      const watch = await WriteWatch.of(t, WRITTEN_WHEN_REFUSED);
      let refused = 0;
      /** Accepted requests whose writes the watch saw (it sees writes, so silence means none). */
      let wrote = 0;
      const started = Date.now();
      console.log(`fuzz-rest: seed ${SEED} (replay with FUZZ_SEED=${SEED})`);

      const check = async (r: Built): Promise<void> => {
        tally.add(r.surface.name);
        const res = await rawRequest(t.url, {
          method: r.method,
          path: r.path,
          headers: r.headers,
          body: r.body,
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) {
          throw new Error(
            `${res.status} for ${r.what}: ${res.body.toString('utf8').slice(0, 300)}`,
          );
        }
        const changed = await watch.changedSinceBase();
        if (res.status < 300 && changed.length) wrote++;
        const mayWrite = lookupMiss(r, res.status, res.body);
        if (mayWrite) {
          const other = changed.filter((table) => !mayWrite.includes(table));
          if (other.length)
            throw new Error(`a feature lookup wrote ${other.join(', ')}: ${r.what}`);
        } else if (res.status >= 400) {
          refused++;
          if (changed.length) {
            throw new Error(`refused (${res.status}) but wrote ${changed.join(', ')}: ${r.what}`);
          }
        }
      };
      // Each surface in turn, with its own seed (SEED + its index), PER_SURFACE requests each.
      for (const [i, surface] of SURFACES.entries()) {
        await fc.assert(fc.asyncProperty(surfaceArbitrary(surface, keys), check), {
          seed: SEED + i,
          numRuns: PER_SURFACE,
          endOnFailure: true,
        });
      }

      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const small = tally.smallest;
      console.log(
        `fuzz-rest: ${tally.total} requests in ${seconds} s over ${SURFACES.length} surfaces ` +
          `(fewest: ${small.count} to ${small.name}); ${refused} refused, each leaving the database ` +
          `unchanged; ${wrote} accepted requests wrote (${watch.fingerprints} fingerprints taken); statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
      );
      console.log(`fuzz-rest: per surface ${JSON.stringify(Object.fromEntries(tally.all))}`);
      expect(tally.total).toBe(PER_SURFACE * SURFACES.length);
      expect(small.count, 'every surface gets its count').toBe(PER_SURFACE);
      expect(wrote, 'the watch saw the writes of accepted identities').toBeGreaterThan(0);
    },
  );

  /** Inputs the fuzzer found answered 500 or 503 (fixed since), each with the answer it gets. */
  it('refuses the inputs that once failed, writing nothing', async () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const cases: { what: string; r: () => RawRequestLike; status: number; body?: unknown }[] = [
      {
        what: 'GET identities/ with a 2,001-character identifier (varchar(2000): 500)',
        r: () => sdk('GET', `/api/v1/identities/?identifier=${'q'.repeat(2001)}`, keys.client),
        status: 400,
        body: { identifier: ['Ensure this field has no more than 2000 characters.'] },
      },
      {
        what: 'GET identities/ with a NUL in the identifier (PostgreSQL text: 503)',
        r: () => sdk('GET', '/api/v1/identities/?identifier=a%00b', keys.client),
        status: 400,
        body: { identifier: ['Null characters are not allowed.'] },
      },
      {
        what: 'POST identities/ with a NUL in a trait value',
        r: () =>
          sdk('POST', '/api/v1/identities/', keys.client, {
            identifier: 'nul-user',
            traits: [{ trait_key: 'plan', trait_value: 'a\u0000b' }],
          }),
        status: 400,
        body: { traits: [{ trait_value: ['Null characters are not allowed.'] }] },
      },
      {
        what: 'POST traits/ with a NUL identifier',
        r: () =>
          sdk('POST', '/api/v1/traits/', keys.server, {
            identity: { identifier: '\u0000' },
            trait_key: 'plan',
            trait_value: 'gold',
          }),
        status: 400,
        body: { identity: { identifier: ['Null characters are not allowed.'] } },
      },
      {
        what: 'POST traits/increment-value/ with a NUL in the key (503)',
        r: () =>
          sdk('POST', '/api/v1/traits/increment-value/', keys.server, {
            trait_key: 'a\u0000b',
            increment_by: 1,
            identifier: 'nul-user',
          }),
        status: 400,
        body: { trait_key: ['Null characters are not allowed.'] },
      },
      {
        what: 'PUT traits/bulk/ deleting a trait of a NUL identifier (500): nothing to delete',
        r: () =>
          sdk('PUT', '/api/v1/traits/bulk/', keys.server, [
            { identity: { identifier: 'x\u0000' }, trait_key: 'plan', trait_value: null },
          ]),
        status: 200,
        body: [],
      },
      {
        what: 'POST identities/ with a trait value nested 100,000 deep (stack overflow: 500)',
        r: () =>
          sdk(
            'POST',
            '/api/v1/identities/',
            keys.client,
            new RawJson(
              `{"identifier":"deep-user","traits":[{"trait_key":"k","trait_value":${deep(100_000)}}]}`,
            ),
          ),
        status: 400,
        body: {
          traits: [{ trait_value: ['Value string is too long. Must be less than 2000 character'] }],
        },
      },
      {
        what: 'POST ofrep flags with a context field nested 100,000 deep (500)',
        r: () =>
          sdk(
            'POST',
            '/ofrep/v1/evaluate/flags',
            keys.client,
            new RawJson(`{"context":{"targetingKey":"u","plan":${deep(100_000)}}}`),
          ),
        status: 400,
      },
      {
        what: 'POST auth/oauth/google/ with a token no header can carry (500)',
        r: () =>
          sdk('POST', '/api/v1/auth/oauth/google/', undefined, { access_token: 'tok\u00e9n' }),
        status: 401,
        body: { detail: 'Google did not accept the access token' },
      },
    ];
    const watch = await WriteWatch.of(t, WRITTEN_WHEN_REFUSED);
    for (const c of cases) {
      const res = await rawRequest(t.url, c.r());
      expect(res.status, c.what).toBe(c.status);
      if (c.body !== undefined)
        expect(JSON.parse(res.body.toString('utf8')), c.what).toEqual(c.body);
      expect(await watch.changedSinceBase(), c.what).toEqual([]);
    }
    // Analytics names with a NUL or half a surrogate pair are counted nowhere (either made
    // the whole flush fail).
    const analytics = await rawRequest(
      t.url,
      sdk('POST', '/api/v1/analytics/flags/', keys.client, {
        'a\u0000b': 1,
        'x\udfffy': 1,
        checkout: 2,
      }),
    );
    expect(analytics.status).toBe(200);
    await t.app.usage.flush();
    const counted = await t.app.db.orm.em
      .fork()
      .getConnection()
      .execute<{ n: string }[]>(
        "select coalesce(sum(count), 0)::text as n from feature_evaluations where feature_name = 'checkout'",
      );
    expect(Number(counted[0]!.n), 'the rest of the batch is written').toBeGreaterThanOrEqual(2);
  });

  it('crashed nothing: no unhandled rejection, no error logged, still serving', async () => {
    // The analytics counted above are written now (a bad name must not fail the batch).
    await t.app.usage.flush();
    const health = await fetch(`${t.url}/health/liveness`);
    expect(health.status).toBe(200);
    const flags = await fetch(`${t.url}/api/v1/flags/`, {
      headers: { 'x-environment-key': keys.client },
    });
    expect(flags.status).toBe(200);
    expect(processWatch.exceptions, 'uncaught exceptions').toEqual([]);
    expect(processWatch.rejections, 'unhandled rejections').toEqual([]);
    const errors = logs.lines().filter((l) => Number(l.level) >= 50);
    expect(
      errors.map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? '')}`.slice(0, 400)),
    ).toEqual([]);
    console.log(`fuzz-rest: ${logs.lines().length} log lines read, none at error level`);
  });
});
