import { describe, expect, it } from 'vitest';
import type { EnvironmentDocument } from '../../src/environments/document.types';
import {
  evaluate,
  hashedPercentage,
  mapEnvironmentDocumentToContext,
  mapResultToLegacyFlags,
  validateEvaluationContext,
  type EvaluationContext,
  type FeatureContext,
  type LegacyEnvironmentDocument,
  type SegmentCondition,
  type TraitValue,
} from '../../src/engine';
import { firstNode, parseJsonPath } from '../../src/engine/jsonpath';
import { pythonFloatRepr } from '../../src/engine/python';
import { regexMatchesAtStart } from '../../src/engine/regex';

/** Whether a one-condition segment matches an identity with these traits. */
function matches(
  condition: SegmentCondition,
  traits: Record<string, TraitValue> = {},
  identity: { identifier?: string; key?: string } | null = {},
): boolean {
  const context: EvaluationContext = {
    environment: { key: 'env', name: 'Production' },
    identity:
      identity === null ? null : { identifier: identity.identifier ?? 'user', ...identity, traits },
    segments: {
      s: { key: '7', name: 'segment', rules: [{ type: 'ALL', conditions: [condition] }] },
    },
  };
  return evaluate(context).segments.length === 1;
}

const cond = (
  property: string,
  operator: SegmentCondition['operator'],
  value: string,
): SegmentCondition => ({ property, operator, value }) as SegmentCondition;

describe('REGEX', () => {
  it('matches at the start of the value only, like Python re.match', () => {
    expect(regexMatchesAtStart('abc', 'abcdef')).toBe(true);
    expect(regexMatchesAtStart('abc', 'xabc')).toBe(false);
    expect(regexMatchesAtStart('b|abc', 'abc')).toBe(true);
    expect(regexMatchesAtStart('[a-z]+$', 'abc1')).toBe(false);
    expect(matches(cond('v', 'REGEX', '\\d'), { v: 'v1.2' })).toBe(false);
    expect(matches(cond('v', 'REGEX', '\\d'), { v: '1.2.3' })).toBe(true);
  });

  it('never throws and never matches for an invalid or unsupported pattern', () => {
    for (const pattern of ['(', '[a-', 'a)(b', '*a', '\\', '(?=a)a', '(a)\\1', 'a{2000}']) {
      expect(() => regexMatchesAtStart(pattern, 'a')).not.toThrow();
      expect(regexMatchesAtStart(pattern, 'aaaa(a)(b')).toBe(false);
      expect(matches(cond('v', 'REGEX', pattern), { v: 'a' })).toBe(false);
    }
  });

  it('runs a catastrophic-backtracking pattern in linear time', () => {
    const text = `${'a'.repeat(50_000)}!`;
    expect(regexMatchesAtStart('(a+)+$', text)).toBe(false);
    expect(regexMatchesAtStart('(a|aa)+$', text)).toBe(false);
    expect(regexMatchesAtStart('(a+)+!', text)).toBe(true);
    expect(matches(cond('v', 'REGEX', '(a+)+$'), { v: text })).toBe(false);
  });

  it('reads Python escapes: Unicode \\d and \\w, \\Z, \\uXXXX', () => {
    expect(regexMatchesAtStart('\\d', '٣')).toBe(true);
    expect(regexMatchesAtStart('\\w+\\Z', 'tamaño')).toBe(true);
    expect(regexMatchesAtStart('[\\w-]+\\Z', 'a-ñ')).toBe(true);
    expect(regexMatchesAtStart('\\u00f1', 'ñ')).toBe(true);
    expect(regexMatchesAtStart('\\s', '\u00a0')).toBe(true);
  });

  it('renders non-string values as Python does', () => {
    expect(matches(cond('v', 'REGEX', 'True'), { v: true })).toBe(true);
    expect(matches(cond('v', 'REGEX', '1\\.5$'), { v: 1.5 })).toBe(true);
    expect(matches(cond('v', 'REGEX', '^42$'), { v: '42' })).toBe(true);
  });
});

describe('typed comparisons', () => {
  it('coerces numeric-looking strings: "9" is less than "10"', () => {
    expect(matches(cond('n', 'LESS_THAN', '10'), { n: '9' })).toBe(true);
    expect(matches(cond('n', 'GREATER_THAN', '10'), { n: 'nine' })).toBe(true); // string order
    expect(matches(cond('n', 'EQUAL', '007'), { n: '7' })).toBe(true);
  });

  it('casts the condition value to the trait type; a failed cast is false for every operator', () => {
    expect(matches(cond('n', 'EQUAL', 'abc'), { n: 1 })).toBe(false);
    expect(matches(cond('n', 'NOT_EQUAL', 'abc'), { n: 1 })).toBe(false);
    expect(matches(cond('n', 'NOT_EQUAL', '2'), { n: 1 })).toBe(true);
    expect(matches(cond('b', 'EQUAL', 'no'), { b: true })).toBe(true); // bool("no") is True
    expect(matches(cond('b', 'EQUAL', 'false'), { b: false })).toBe(true);
    expect(matches(cond('f', 'GREATER_THAN', '1e2'), { f: 100.5 })).toBe(true);
  });

  it('compares strings by code point', () => {
    expect(matches(cond('s', 'GREATER_THAN', '\uffff'), { s: '\u{10000}' })).toBe(true);
  });

  it('null and absent traits fail every operator except IS_NOT_SET', () => {
    for (const operator of ['EQUAL', 'NOT_EQUAL', 'CONTAINS', 'NOT_CONTAINS', 'REGEX'] as const) {
      expect(matches(cond('t', operator, 'x'), { t: null })).toBe(false);
      expect(matches(cond('t', operator, 'x'), {})).toBe(false);
    }
    expect(matches(cond('t', 'IS_NOT_SET', ''), { t: null })).toBe(true);
    expect(matches(cond('t', 'IS_SET', ''), { t: null })).toBe(false);
    expect(matches(cond('t', 'IS_SET', ''), { t: '' })).toBe(true);
  });

  it('semver: precedence with pre-releases, build ignored, invalid versions fail', () => {
    expect(matches(cond('v', 'GREATER_THAN', '1.0.0-rc.1:semver'), { v: '1.0.0' })).toBe(true);
    expect(matches(cond('v', 'LESS_THAN', '1.0.0-rc.2:semver'), { v: '1.0.0-rc.10' })).toBe(false);
    expect(matches(cond('v', 'LESS_THAN', '1.0.0-beta:semver'), { v: '1.0.0-alpha.1' })).toBe(true);
    expect(matches(cond('v', 'EQUAL', '1.2.3+other:semver'), { v: '1.2.3+build' })).toBe(true);
    expect(matches(cond('v', 'NOT_EQUAL', '1.0.0:semver'), { v: 'v1.0.0' })).toBe(false);
    expect(matches(cond('v', 'EQUAL', '1.0:semver'), { v: '1.0' })).toBe(false); // trait is a float
  });

  it('CONTAINS and NOT_CONTAINS need a string trait', () => {
    expect(matches(cond('s', 'CONTAINS', 'ell'), { s: 'hello' })).toBe(true);
    expect(matches(cond('s', 'NOT_CONTAINS', 'xyz'), { s: 'hello' })).toBe(true);
    expect(matches(cond('n', 'CONTAINS', '2'), { n: 123 })).toBe(false);
    expect(matches(cond('n', 'NOT_CONTAINS', '9'), { n: 123 })).toBe(false);
  });
});

describe('IN, MODULO, PERCENTAGE_SPLIT', () => {
  it('IN: strings and integers only, by exact string membership', () => {
    expect(matches(cond('p', 'IN', 'free,pro'), { p: 'pro' })).toBe(true);
    expect(matches(cond('p', 'IN', 'free, pro'), { p: 'pro' })).toBe(false); // no trimming
    expect(matches(cond('n', 'IN', '["1", 2, 3.0]'), { n: 2 })).toBe(true);
    expect(matches(cond('n', 'IN', '[1, 2, 3.0]'), { n: '3' })).toBe(false); // 3.0 → "3.0"
    expect(matches(cond('n', 'IN', '[true]'), { n: 'True' })).toBe(true);
    expect(matches(cond('n', 'IN', '1.5,2'), { n: '1.5' })).toBe(false); // "1.5" is a float
    expect(matches(cond('b', 'IN', 'True,true'), { b: true })).toBe(false);
    expect(matches(cond('p', 'IN', '[oops,pro'), { p: 'pro' })).toBe(true); // not JSON: split
    expect(
      matches({ property: '$.identity.identifier', operator: 'IN', value: ['a', 'user'] }, {}),
    ).toBe(true);
  });

  it('MODULO uses Python floor modulo and needs a number', () => {
    expect(matches(cond('n', 'MODULO', '2|1'), { n: -1 })).toBe(true);
    expect(matches(cond('n', 'MODULO', '2|0'), { n: '4' })).toBe(true); // coerced to int
    expect(matches(cond('n', 'MODULO', '0|0'), { n: 4 })).toBe(false);
    expect(matches(cond('n', 'MODULO', '2|1|0'), { n: 3 })).toBe(false);
    expect(matches(cond('n', 'MODULO', '2.5|0.5'), { n: 3 })).toBe(true);
    expect(matches(cond('n', 'MODULO', '2|1'), { n: true })).toBe(true);
  });

  it('hashes as Flagsmith does (spec test vectors)', () => {
    expect(hashedPercentage(['1', 'user_1'])).toBe(77.26545309061812);
    expect(hashedPercentage(['78986', '32103813'])).toBe(49.27985597119424);
    expect(hashedPercentage(['78986', 'test_env_foobar'])).toBe(54.53090618123625);
    expect(hashedPercentage(['12345', 'test_env_foobar'])).toBe(51.990398079615915);
  });

  it('PERCENTAGE_SPLIT hashes the segment key with the identity key, inclusive', () => {
    const identity = { identifier: 'foobar' }; // key defaults to env_foobar
    const p = hashedPercentage(['7', 'env_foobar']);
    expect(matches(cond('', 'PERCENTAGE_SPLIT', String(p)), {}, identity)).toBe(true);
    expect(matches(cond('', 'PERCENTAGE_SPLIT', String(p - 0.001)), {}, identity)).toBe(false);
    expect(matches(cond('', 'PERCENTAGE_SPLIT', 'x'), {}, identity)).toBe(false);
    expect(matches(cond('', 'PERCENTAGE_SPLIT', '100'), {}, null)).toBe(false);
    const byTrait = hashedPercentage(['7', 'True']);
    expect(matches(cond('t', 'PERCENTAGE_SPLIT', String(byTrait)), { t: true })).toBe(true);
  });
});

describe('properties', () => {
  it('reads JSONPath into the enriched context, a same-named trait first', () => {
    const ctx = { identifier: 'ada', key: undefined };
    expect(matches(cond('$.identity.key', 'EQUAL', 'env_ada'), {}, ctx)).toBe(true);
    expect(matches(cond('$.environment.name', 'EQUAL', 'Production'), {}, ctx)).toBe(true);
    expect(matches(cond("$.identity.traits['a b']", 'EQUAL', '1'), { 'a b': 1 })).toBe(true);
    expect(matches(cond('$.identity.key', 'EQUAL', 'mine'), { '$.identity.key': 'mine' })).toBe(
      true,
    );
    expect(matches(cond('$.identity', 'IS_NOT_SET', ''), {})).toBe(true); // an object
    expect(matches(cond('$.not valid', 'IS_SET', ''), {})).toBe(false);
  });

  it('parses RFC 9535 queries', () => {
    const doc = { a: [{ b: 1 }, { b: 2 }, { c: { b: 3 } }], 'x y': 'z' };
    const first = (q: string) => {
      const path = parseJsonPath(q);
      expect(path, q).not.toBeNull();
      return firstNode(doc, path!);
    };
    expect(first('$.a[1].b')).toBe(2);
    expect(first('$.a[-1].c.b')).toBe(3);
    expect(first('$["x y"]')).toBe('z');
    expect(first('$..c.b')).toBe(3);
    expect(first('$.a[1:].b')).toBe(2);
    expect(first('$.a[*].b')).toBe(1);
    expect(first('$.a[1:][*].b')).toBe(3);
    expect(first('$.a[::-1]..b')).toBe(3);
    expect(first('$.a[0, 2].b')).toBe(1);
    expect(first('$.nope')).toBeUndefined();
    for (const bad of ['$.', '$.a.', '$[01]', '$.1a', '$[?@.b]', '$.a ', "$['a]", '$[-0]']) {
      expect(parseJsonPath(bad), bad).toBeNull();
    }
  });
});

describe('evaluation', () => {
  const feature = (over: Partial<FeatureContext> = {}): FeatureContext => ({
    key: '1',
    name: 'banner',
    enabled: false,
    value: 'plain',
    ...over,
  });

  it('segment overrides: lowest priority wins, ties keep the first, absent is weakest', () => {
    const segment = (name: string, priority?: number) => ({
      key: name,
      name,
      rules: [{ type: 'ALL' as const, conditions: [cond('t', 'IS_NOT_SET', '')] }],
      overrides: [feature({ value: name, enabled: true, priority })],
    });
    const result = evaluate({
      environment: { key: 'e', name: 'E' },
      identity: { identifier: 'u' },
      segments: { a: segment('none'), b: segment('one', 1), c: segment('zero', 0) },
      features: { banner: feature() },
    });
    expect(result.flags.banner).toEqual({
      name: 'banner',
      enabled: true,
      value: 'zero',
      reason: 'TARGETING_MATCH; segment=zero',
      variant: null,
    });
    expect(result.segments.map((s) => s.name)).toEqual(['none', 'one', 'zero']);
  });

  it('an empty rules list never matches; NONE with no true condition does', () => {
    const result = evaluate({
      environment: { key: 'e', name: 'E' },
      identity: { identifier: 'u' },
      segments: {
        empty: { key: '1', name: 'empty', rules: [] },
        none: {
          key: '2',
          name: 'none',
          rules: [{ type: 'NONE', conditions: [cond('t', 'EQUAL', 'x')] }],
        },
      },
    });
    expect(result.segments).toEqual([{ name: 'none' }]);
  });

  it('multivariate: variant key, control bucket, and no bucketing without identity', () => {
    const mv = feature({
      key: '78986',
      variants: [
        { key: 'A', value: 'a', weight: 40, priority: 2 },
        { value: 'b', weight: 9, priority: 1 },
      ],
    });
    // hash(["78986", "32103813"]) = 49.28: past 9 + 40 = 49, so the control bucket.
    const identified = evaluate({
      environment: { key: 'e', name: 'E' },
      identity: { identifier: 'x', key: '32103813' },
      features: { banner: mv },
    });
    expect(identified.flags.banner).toMatchObject({ value: 'plain', variant: 'control' });
    const wider = evaluate({
      environment: { key: 'e', name: 'E' },
      identity: { identifier: 'x', key: '32103813' },
      features: {
        banner: { ...mv, variants: [{ key: 'A', value: 'a', weight: 50, priority: 1 }] },
      },
    });
    expect(wider.flags.banner).toMatchObject({
      value: 'a',
      variant: 'A',
      reason: 'SPLIT; weight=50',
    });
    const anonymous = evaluate({ environment: { key: 'e', name: 'E' }, features: { banner: mv } });
    expect(anonymous.flags.banner).toEqual({
      name: 'banner',
      enabled: false,
      value: 'plain',
      reason: 'DEFAULT',
      variant: null,
    });
  });

  it('keeps a feature named __proto__ as an ordinary flag', () => {
    const result = evaluate({
      environment: { key: 'e', name: 'E' },
      features: JSON.parse(
        '{"__proto__": {"key": "1", "name": "__proto__", "enabled": true, "value": 1}}',
      ),
    });
    expect(Object.keys(result.flags)).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(result)).flags.__proto__.value).toBe(1);
  });

  it('renders floats as Python does', () => {
    expect(pythonFloatRepr(2.5)).toBe('2.5');
    expect(pythonFloatRepr(1e16)).toBe('1e+16');
    expect(pythonFloatRepr(123456789012345.6)).toBe('123456789012345.6');
    expect(pythonFloatRepr(0.0001)).toBe('0.0001');
    expect(pythonFloatRepr(0.00001)).toBe('1e-05');
    expect(pythonFloatRepr(-0)).toBe('-0.0');
  });
});

describe('validateEvaluationContext', () => {
  it('accepts a context and returns it as given', () => {
    const context = { environment: { key: 'e', name: 'E' }, identity: null, extra: true };
    const validation = validateEvaluationContext(context);
    expect(validation).toEqual({ ok: true, context });
  });

  it('reports the JSON path of each problem', () => {
    const validation = validateEvaluationContext({
      environment: { key: 'e' },
      identity: { identifier: 'u', traits: { plan: { nested: true } } },
      segments: {
        s1: {
          key: '1',
          name: 's',
          rules: [
            {
              type: 'ALL',
              conditions: [
                { property: 'a', operator: 'EQUAL', value: 'x' },
                { property: 'a', operator: 'EQUAL', value: ['x'] },
                { property: 'a', operator: 'SOUNDS_LIKE', value: 'x' },
              ],
              rules: [{ type: 'SOME' }],
            },
          ],
        },
      },
      features: { 'my feature': { key: 1, name: 'f', enabled: true, value: null } },
    });
    expect(validation.ok).toBe(false);
    const problems = validation.ok ? [] : validation.problems;
    expect(problems).toContain('environment.name: required');
    expect(problems.some((p) => p.startsWith('identity.traits.plan: invalid input'))).toBe(true);
    expect(
      problems.some((p) =>
        p.startsWith('segments.s1.rules[0].conditions[1].value: a list value is only allowed'),
      ),
    ).toBe(true);
    expect(
      problems.some((p) =>
        p.startsWith('segments.s1.rules[0].conditions[2].operator: invalid option'),
      ),
    ).toBe(true);
    expect(
      problems.some((p) => p.startsWith('segments.s1.rules[0].rules[0].type: invalid option')),
    ).toBe(true);
    expect(
      problems.some((p) =>
        p.startsWith('features["my feature"].key: invalid input: expected string'),
      ),
    ).toBe(true);
  });

  it('reports a non-object', () => {
    const validation = validateEvaluationContext([1]);
    expect(validation.ok ? [] : validation.problems).toEqual([
      '(root): invalid input: expected object, received array',
    ]);
  });
});

describe('document mapper', () => {
  const document: LegacyEnvironmentDocument = {
    api_key: 'client-key',
    name: 'Production',
    hide_disabled_flags: null,
    project: {
      hide_disabled_flags: true,
      server_key_only_feature_ids: [3],
      segments: [
        {
          id: 9,
          name: 'beta',
          rules: [
            {
              type: 'ALL',
              rules: [],
              conditions: [{ operator: 'EQUAL', property_: 'beta', value: 'true' }],
            },
          ],
          feature_states: [
            {
              feature: { id: 1, name: 'checkout', type: 'STANDARD' },
              enabled: true,
              django_id: 120,
              feature_segment: { priority: 0 },
              feature_state_value: 'segment',
              multivariate_feature_state_values: [],
            },
          ],
        },
      ],
    },
    feature_states: [
      {
        feature: { id: 1, name: 'checkout', type: 'STANDARD' },
        enabled: false,
        django_id: 101,
        feature_state_value: 'default',
        multivariate_feature_state_values: [],
      },
      {
        feature: { id: 2, name: 'banner', type: 'MULTIVARIATE' },
        enabled: true,
        django_id: null,
        featurestate_uuid: 'uuid-2',
        feature_state_value: 'control',
        multivariate_feature_state_values: [
          {
            id: null,
            multivariate_feature_option: { value: 'b', key: 'B' },
            percentage_allocation: 100,
            mv_fs_value_uuid: 'bbbb',
          },
          {
            id: null,
            multivariate_feature_option: { value: 'a', key: null },
            percentage_allocation: 0,
            mv_fs_value_uuid: 'aaaa',
          },
        ],
      },
      {
        feature: { id: 3, name: 'secret', type: 'STANDARD' },
        enabled: true,
        django_id: 103,
        feature_state_value: 1,
        multivariate_feature_state_values: [],
      },
    ],
    identity_overrides: [
      {
        identifier: 'vip',
        identity_features: [
          {
            feature: { id: 1, name: 'checkout', type: 'STANDARD' },
            enabled: true,
            django_id: 130,
            feature_state_value: 'vip',
            multivariate_feature_state_values: [],
          },
        ],
      },
      {
        identifier: 'vip2',
        identity_features: [
          {
            feature: { id: 1, name: 'checkout', type: 'STANDARD' },
            enabled: true,
            django_id: 131,
            feature_state_value: 'vip',
            multivariate_feature_state_values: [],
          },
        ],
      },
    ],
  };

  it('accepts the server-built document type', () => {
    const typed = (doc: EnvironmentDocument): LegacyEnvironmentDocument => doc;
    expect(typed).toBeTypeOf('function');
  });

  it('maps features, variants, segments and grouped identity overrides', () => {
    const context = mapEnvironmentDocumentToContext(document);
    expect(context.identity).toBeNull();
    expect(context.features?.banner).toEqual({
      key: 'uuid-2',
      name: 'banner',
      enabled: true,
      value: 'control',
      variants: [
        { value: 'b', weight: 100, priority: 1, key: 'B' },
        { value: 'a', weight: 0, priority: 0 },
      ],
      metadata: { id: 2 },
    });
    const segments = Object.values(context.segments ?? {});
    expect(segments.map((s) => s.name)).toEqual(['beta', 'identity_overrides']);
    expect(segments[1]?.rules[0]?.conditions).toEqual([
      { property: '$.identity.identifier', operator: 'IN', value: ['vip', 'vip2'] },
    ]);
    expect(segments[1]?.overrides?.[0]?.priority).toBe(-Infinity);
  });

  it('identity overrides beat segment overrides; traits may be a list', () => {
    const evaluateFor = (identifier: string) =>
      evaluate(
        mapEnvironmentDocumentToContext(document, {
          identity: { identifier, traits: [{ trait_key: 'beta', trait_value: true }] },
        }),
      );
    expect(evaluateFor('vip2').flags.checkout).toMatchObject({
      value: 'vip',
      reason: 'TARGETING_MATCH; segment=identity_overrides',
    });
    expect(evaluateFor('someone').flags.checkout).toMatchObject({
      value: 'segment',
      reason: 'TARGETING_MATCH; segment=beta',
    });
    expect(evaluateFor('someone').flags.banner).toMatchObject({ value: 'b', variant: 'B' });
  });

  it('maps a result back to the flag list, hiding disabled and server-only flags', () => {
    const context = mapEnvironmentDocumentToContext(document, { identity: { identifier: 'u' } });
    const result = evaluate(context);
    expect(
      mapResultToLegacyFlags(result, document, { withVariant: true, clientKey: true }),
    ).toEqual([
      {
        feature: { id: 2, name: 'banner', type: 'MULTIVARIATE' },
        feature_state_value: 'b',
        enabled: true,
        variant: 'B',
      },
    ]);
    expect(
      mapResultToLegacyFlags(result, { ...document, hide_disabled_flags: false }).map(
        (f) => f.feature.name,
      ),
    ).toEqual(['checkout', 'banner', 'secret']);
  });
});
