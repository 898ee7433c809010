import { describe, expect, it } from 'vitest';
import { pythonJsonDumps } from '../../src/webhooks/python-json';

// Every expected string below was produced by CPython 3.11.7 with
// `json.dumps(value, sort_keys=True)` for the equivalent Python value, and pasted here verbatim
// (CI has no python3).
const cases: Array<[name: string, value: unknown, python: string]> = [
  ['None', null, 'null'],
  ['True', true, 'true'],
  ['False', false, 'false'],
  ['0', 0, '0'],
  ['-1', -1, '-1'],
  ['1.5', 1.5, '1.5'],
  ['0.1', 0.1, '0.1'],
  ['1e-7', 1e-7, '1e-07'],
  ['123456789012', 123456789012, '123456789012'],
  ['1e21', 1e21, '1e+21'],
  ['2.5e-10', 2.5e-10, '2.5e-10'],
  ['-2.5e-10', -2.5e-10, '-2.5e-10'],
  ['1e-5', 1e-5, '1e-05'],
  ['0.0001', 0.0001, '0.0001'],
  ['0.00012345', 0.00012345, '0.00012345'],
  ['1e16', 1e16, '1e+16'],
  ['1.2345e20', 1.2345e20, '1.2345e+20'],
  ['1e100', 1e100, '1e+100'],
  ['5e-324', 5e-324, '5e-324'],
  ['max float', 1.7976931348623157e308, '1.7976931348623157e+308'],
  ['123.456', 123.456, '123.456'],
  ['-0.5', -0.5, '-0.5'],
  ['2**53 - 1', 9007199254740991, '9007199254740991'],
  ['1e15 + 0.5', 1e15 + 0.5, '1000000000000000.5'],
  ['0.1 + 0.2', 0.1 + 0.2, '0.30000000000000004'],
  ['{}', {}, '{}'],
  ['[]', [], '[]'],
  ['empty string', '', '""'],
  [
    'unicode',
    ['é', '日本', '😀', '\ud800', '\udc00x', 'a\u{10ffff}b'],
    '["\\u00e9", "\\u65e5\\u672c", "\\ud83d\\ude00", "\\ud800", "\\udc00x", "a\\udbff\\udfffb"]',
  ],
  [
    'control and special characters',
    'q"b\\s/n\nr\rt\tb\bf\fz\x00o\x01u\x1f del\x7f nb\xa0 ls\u2028',
    '"q\\"b\\\\s/n\\nr\\rt\\tb\\bf\\fz\\u0000o\\u0001u\\u001f del\\u007f nb\\u00a0 ls\\u2028"',
  ],
  [
    'key order: mixed case, digits, non-ASCII, astral after U+FFFF',
    {
      b: 1,
      B: 2,
      a: 3,
      _: 4,
      é: 5,
      Z: 6,
      日: 7,
      '😀': 8,
      '\uffff': 9,
      '\ue000': 10,
      aa: 11,
      '': 12,
      '10': 13,
      '9': 14,
      A: 15,
    },
    '{"": 12, "10": 13, "9": 14, "A": 15, "B": 2, "Z": 6, "_": 4, "a": 3, "aa": 11, "b": 1, "\\u00e9": 5, "\\u65e5": 7, "\\ue000": 10, "\\uffff": 9, "\\ud83d\\ude00": 8}',
  ],
  [
    'key order: lone surrogates',
    {
      '\ud83d': 0,
      '\u{1f600}': 1,
      '\ud83dx': 2,
      '\ud83d\ue000': 3,
      '\udc00': 4,
      '\ue000': 5,
      '\uffff': 6,
      '\ud83d\ud83d': 7,
      z: 8,
    },
    '{"z": 8, "\\ud83d": 0, "\\ud83dx": 2, "\\ud83d\\ud83d": 7, "\\ud83d\\ue000": 3, "\\udc00": 4, "\\ue000": 5, "\\uffff": 6, "\\ud83d\\ude00": 1}',
  ],
  ['null members and elements', { b: null, a: [null, true] }, '{"a": [null, true], "b": null}'],
  [
    'nested webhook-like payload',
    {
      event_type: 'FLAG_UPDATED',
      data: {
        changed_by: 'José <jose@example.com>',
        new_state: {
          enabled: true,
          feature_state_value: null,
          feature: { id: 12, name: 'new_checkout', tags: [], meta: {} },
          multivariate: [{ percentage_allocation: 33.3, value: 'b' }, [1, [2, [3, {}]]]],
        },
        previous_state: null,
        timestamp: '2024-01-01T00:00:00Z',
      },
    },
    '{"data": {"changed_by": "Jos\\u00e9 <jose@example.com>", "new_state": {"enabled": true, "feature": {"id": 12, "meta": {}, "name": "new_checkout", "tags": []}, "feature_state_value": null, "multivariate": [{"percentage_allocation": 33.3, "value": "b"}, [1, [2, [3, {}]]]]}, "previous_state": null, "timestamp": "2024-01-01T00:00:00Z"}, "event_type": "FLAG_UPDATED"}',
  ],
];

describe('pythonJsonDumps', () => {
  it.each(cases)('matches Python for %s', (_name, value, python) => {
    expect(pythonJsonDumps(value)).toBe(python);
  });

  it('skips undefined object members and writes undefined array elements as null', () => {
    expect(pythonJsonDumps({ a: undefined, b: 1 })).toBe('{"b": 1}');
    expect(pythonJsonDumps({ a: undefined })).toBe('{}');
    expect(pythonJsonDumps([undefined, 1])).toBe('[null, 1]');
  });

  it('prints negative zero as 0 (documented limitation)', () => {
    expect(pythonJsonDumps(-0)).toBe('0');
  });

  it('accepts objects without a prototype', () => {
    const value = Object.create(null) as Record<string, unknown>;
    value.y = 2;
    value.x = 1;
    expect(pythonJsonDumps(value)).toBe('{"x": 1, "y": 2}');
  });

  it('does not mutate its input or depend on insertion order', () => {
    const a = { z: 1, a: 2 };
    const b = { a: 2, z: 1 };
    expect(pythonJsonDumps(a)).toBe(pythonJsonDumps(b));
    expect(Object.keys(a)).toEqual(['z', 'a']);
  });

  it.each<[string, unknown]>([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['bigint', 1n],
    ['function', () => 1],
    ['symbol', Symbol('s')],
    ['undefined', undefined],
    ['Map', new Map()],
    ['Set', new Set()],
    ['Date', new Date(0)],
    ['class instance', new (class Point {})()],
    ['boxed string', new String('x')],
    ['nested function member', { a: { f: () => 1 } }],
    ['NaN in an array', [1, NaN]],
  ])('throws TypeError for %s', (_name, value) => {
    expect(() => pythonJsonDumps(value)).toThrow(TypeError);
  });

  it('throws TypeError for circular references but allows shared ones', () => {
    const shared = { x: 1 };
    expect(pythonJsonDumps({ a: shared, b: [shared] })).toBe('{"a": {"x": 1}, "b": [{"x": 1}]}');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => pythonJsonDumps(circular)).toThrow(TypeError);
  });
});
