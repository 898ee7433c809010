/**
 * Hostile input for the fuzzing tests (test/security/fuzz-*.e2e.test.ts), as fast-check
 * arbitraries: values of the wrong type, MongoDB-style operator objects, huge strings and
 * arrays, deeply nested JSON, strings PostgreSQL or a parser may choke on, and odd headers.
 */
import fc from 'fast-check';

/** A JSON text inserted into a body as it is (deep nesting JSON.stringify would overflow on). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** A value for a JSON body: plain JSON, possibly with RawJson fragments inside. */
export type FuzzValue =
  | null
  | boolean
  | number
  | string
  | RawJson
  | readonly FuzzValue[]
  | { readonly [key: string]: FuzzValue };

/** JSON text of a FuzzValue (RawJson fragments verbatim; iterative enough for our depths). */
export function toJson(value: FuzzValue | undefined): string {
  if (value === undefined) return 'null';
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${(value as FuzzValue[]).map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A short description of a FuzzValue for failure messages (huge values summarised). */
export function describeValue(value: unknown, max = 200): string {
  const text = value instanceof RawJson ? value.text : toJson(value as FuzzValue);
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** `{"__proto__": …}` as an own property (an object literal would set the prototype). */
const protoPollution = (): FuzzValue =>
  JSON.parse('{"__proto__": {"isSuperuser": true, "polluted": 1}}') as FuzzValue;

/** MongoDB-style operator objects (and prototype pollution), where a scalar belongs. */
export const operatorObject: fc.Arbitrary<FuzzValue> = fc.oneof(
  fc.constantFrom<FuzzValue>(
    { $ne: null },
    { $gt: '' },
    { $gte: 0 },
    { $in: ['1', '2'] },
    { $nin: [] },
    { $regex: '.*' },
    { $where: 'sleep(1000)' },
    { $exists: true },
    { $or: [{ id: { $ne: null } }] },
    { $like: '%' },
    { $eq: '1' },
    { constructor: { prototype: { polluted: 1 } } },
  ),
  fc.constant(null).map(protoPollution),
);

/** Strings known to trouble parsers, SQL, PostgreSQL's text type, templates and logs. */
export const nastyString: fc.Arbitrary<string> = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\uffff\ufffe',
  '\u202etxt.exe',
  '\u200b',
  '%00',
  '%ff%fe',
  "' OR '1'='1",
  '"; drop table users; --',
  '1; select pg_sleep(5)',
  '../../../../etc/passwd',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\r\nX-Injected: 1',
  'NaN',
  'Infinity',
  '-1',
  '0',
  '00',
  '2147483648',
  '-2147483649',
  '9223372036854775808',
  '99999999999999999999999999',
  '1e309',
  '0x1f',
  ' 1 ',
  '1.5',
  'null',
  'true',
  '[]',
  '{}',
  'ser.',
  'Api-Key ',
  '\\',
  '🏳️‍🌈'.repeat(50),
);

/** A string of one of several sizes up to about 1 MB (a cheap repeat, not a random walk). */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(1_025, 10_000, 100_001, 400_000, 1_048_577),
    fc.constantFrom('a', 'é', '𝄞', '\u0000', '%', '"', '\\', 'ab '),
  )
  .map(([n, unit]) => unit.repeat(Math.max(1, Math.floor(n / unit.length))));

/** Any string: random code points, nasty constants, huge ones. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: hugeString },
);

export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Nested `depth` deep: arrays, objects or a mix, as raw JSON text. */
export const deepJson: fc.Arbitrary<RawJson> = fc
  .tuple(fc.constantFrom(64, 1_000, 10_000, 100_000), fc.constantFrom('array', 'object', 'mixed'))
  .map(([depth, kind]) => {
    if (kind === 'array') return new RawJson('['.repeat(depth) + ']'.repeat(depth));
    if (kind === 'object') return new RawJson('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
    return new RawJson('[{"a":'.repeat(depth / 2) + 'null' + '}]'.repeat(depth / 2));
  });

/** A long array of small values. */
export const longArray: fc.Arbitrary<FuzzValue> = fc
  .tuple(fc.constantFrom(1_000, 20_000, 100_000), fc.constantFrom<FuzzValue>(0, '1', null, {}, []))
  .map(([n, item]) => new RawJson(`[${new Array<string>(n).fill(toJson(item)).join(',')}]`));

/** A small random JSON value (any type). */
export const smallJson: fc.Arbitrary<FuzzValue> = fc.jsonValue({
  maxDepth: 3,
}) as fc.Arbitrary<FuzzValue>;

/** Something that does not belong where a scalar is expected. */
export const hostileValue: fc.Arbitrary<FuzzValue> = fc.oneof(
  { weight: 4, arbitrary: operatorObject },
  { weight: 3, arbitrary: anyString },
  { weight: 2, arbitrary: oddNumber },
  { weight: 1, arbitrary: fc.constantFrom<FuzzValue>(null, true, false, [], {}, [null], ['']) },
  { weight: 1, arbitrary: smallJson },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: longArray },
);

/** Bytes that are not UTF-8 (lone continuation bytes, overlong forms, surrogates, truncation). */
export const invalidUtf8: fc.Arbitrary<Buffer> = fc
  .array(
    fc.constantFrom(
      [0xff],
      [0xfe, 0xff],
      [0xc0, 0xaf],
      [0xc0, 0x80],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xc3],
      [0x80],
      [0x00],
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => Buffer.from(parts.flat()));

/** A JSON body with invalid UTF-8 inside a string, or as the whole body. */
export const invalidUtf8Body = (template: (inner: string) => string): fc.Arbitrary<Buffer> =>
  fc.tuple(invalidUtf8, fc.boolean()).map(([bad, inString]) => {
    if (!inString) return bad;
    const [before, after] = template('\u0001SPLIT\u0001').split('\u0001SPLIT\u0001');
    return Buffer.concat([Buffer.from(before ?? ''), bad, Buffer.from(after ?? '')]);
  });

/** Content types a JSON endpoint may be sent. */
export const oddContentType: fc.Arbitrary<string | string[] | undefined> = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset="utf-16"',
  'APPLICATION/JSON',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/xml',
  'application/json, text/plain',
  '*/*',
  ';;;',
  ['application/json', 'text/plain'],
  'application/json; ' + 'x=1; '.repeat(500),
);

/** Authorization header values with odd schemes (none of them valid credentials). */
export const oddAuthorization: fc.Arbitrary<string | string[]> = fc.oneof(
  fc.constantFrom<string | string[]>(
    'Bearer',
    'Bearer ',
    'Bearer \u0000',
    'Basic YWRtaW46YWRtaW4=',
    'Digest username="admin"',
    'Token',
    'Api-Key',
    'Api-Key ser.nope',
    'Negotiate YII=',
    'bearer a b c',
    'Bearer ' + 'A'.repeat(8_000),
    ['Bearer one', 'Bearer two'],
    '{"$ne": null}',
  ),
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => `Bearer ${s}`),
);

/** Extra headers: huge, duplicated, contradictory. Node refuses headers past 16 KiB itself (431). */
export const oddHeaders: fc.Arbitrary<Record<string, string | string[]>> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, string | string[]>>(
      { 'x-huge': 'h'.repeat(12_000) },
      { 'x-huge': 'h'.repeat(20_000) },
      { 'x-many': Array.from({ length: 200 }, (_, i) => `v${i}`) },
      { 'content-encoding': 'gzip' },
      { 'content-encoding': 'br, deflate' },
      { 'x-forwarded-for': '1.2.3.4, ::1, not-an-ip, \u00ff' },
      { 'x-forwarded-proto': 'https, http' },
      { 'x-request-id': 'r'.repeat(5_000) },
      { accept: 'application/xml' },
      { 'accept-charset': 'latin1' },
      { expect: '100-continue' },
      { 'if-modified-since': 'Thu, 01 Jan 2099 00:00:00 GMT' },
      { 'if-modified-since': 'not a date' },
      { 'if-none-match': '"' + 'e'.repeat(3_000) + '"' },
      { cookie: 'flagward.sid=' + 'c'.repeat(3_000) },
      { cookie: 'flagward.sid=s%3Anope.sig; flagward.sid=other' },
      { origin: 'https://evil.example' },
    ),
  },
  { weight: 1, arbitrary: fc.record({ authorization: oddAuthorization }) },
);

/** Counts by name, with the smallest. */
export class Tally {
  private readonly counts = new Map<string, number>();

  constructor(names: readonly string[]) {
    for (const n of names) this.counts.set(n, 0);
  }

  add(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  get total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  get smallest(): { readonly name: string; readonly count: number } {
    const [name, count] = [...this.counts].sort((a, b) => a[1] - b[1])[0] ?? ['', 0];
    return { name, count };
  }

  get all(): ReadonlyMap<string, number> {
    return this.counts;
  }
}

/**
 * Generated inputs per fuzzing target (each /api/v1 endpoint, each GraphQL mutation):
 * FUZZ_INPUTS when set (`npm run test:fuzz` sets 1,000), else the file's own count, sized for
 * CI's time budget.
 */
export function fuzzInputs(fallback: number): number {
  const raw = process.env.FUZZ_INPUTS;
  if (raw === undefined || raw === '') return fallback;
  const given = Number(raw);
  if (!Number.isSafeInteger(given) || given < 1)
    throw new Error(`FUZZ_INPUTS must be a positive integer, not ${JSON.stringify(raw)}`);
  return given;
}

/** How long a fuzz test may run: a base plus a per-input allowance for the count chosen. */
export function fuzzTimeout(inputs: number, perInputMs: number, baseMs = 60_000): number {
  return baseMs + inputs * perInputMs;
}

/** The seed a fuzz file runs with: FUZZ_SEED to replay one, else a fixed one. */
export function fuzzSeed(fixed: number): number {
  const given = Number(process.env.FUZZ_SEED);
  return Number.isSafeInteger(given) && process.env.FUZZ_SEED ? given : fixed;
}
