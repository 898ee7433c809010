/**
 * Byte-for-byte reproduction of Python 3's `json.dumps(value, sort_keys=True)` (default
 * separators `", "` / `": "`, `ensure_ascii=True`) for JSON-like values.
 *
 * Flagsmith serialises webhook payloads this way and signs the resulting bytes, so receivers
 * written against Flagsmith may re-serialise or compare bodies in that exact form.
 *
 * Supported: `null`, booleans, finite numbers, strings, arrays and plain objects (prototype
 * `Object.prototype` or `null`). Object members whose value is `undefined` are skipped and
 * `undefined` array elements become `null`, as with `JSON.stringify`. Everything else —
 * functions, symbols, bigints, `NaN`/`±Infinity`, `Map`, `Date` and other class instances,
 * a top-level `undefined`, circular references — throws a `TypeError`.
 *
 * Differences from Python that JavaScript cannot avoid:
 * - JS has one number type, so an integer-valued number with |n| < 1e16 prints as a Python
 *   `int` (`3`, never `3.0`); from 1e16 up it prints as a Python `float` repr (`1e+16`).
 * - Negative zero prints `0` (Python would print `-0.0` for the float `-0.0`).
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === undefined) {
    throw new TypeError('pythonJsonDumps: undefined is not JSON serializable');
  }
  return encode(value, new Set<object>());
}

function encode(value: unknown, stack: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return encodeNumber(value);
    case 'string':
      return encodeString(value);
    case 'object':
      return encodeContainer(value, stack);
    default:
      throw new TypeError(`pythonJsonDumps: ${typeof value} is not JSON serializable`);
  }
}

function encodeContainer(value: object, stack: Set<object>): string {
  if (stack.has(value)) {
    throw new TypeError('pythonJsonDumps: circular reference detected');
  }
  stack.add(value);
  try {
    if (Array.isArray(value)) {
      const items: string[] = [];
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        items.push(item === undefined ? 'null' : encode(item, stack));
      }
      return `[${items.join(', ')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      throw new TypeError(
        `pythonJsonDumps: ${typeof name === 'string' && name ? name : 'object'} is not JSON serializable`,
      );
    }
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort(compareCodePoints)) {
      const member = record[key];
      if (member === undefined) continue;
      members.push(`${encodeString(key)}: ${encode(member, stack)}`);
    }
    return `{${members.join(', ')}}`;
  } finally {
    stack.delete(value);
  }
}

/** Orders strings by Unicode code point, as Python compares `str` (not by UTF-16 code unit). */
function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // UTF-16 order differs from code-point order only around surrogates. Compare the whole
    // code points that start at the first difference; if that difference is the low half of a
    // pair whose (shared) high half precedes it, step back to the high half.
    const j =
      i > 0 && isHighSurrogate(a.charCodeAt(i - 1)) && (isLowSurrogate(ca) || isLowSurrogate(cb))
        ? i - 1
        : i;
    const pa = a.codePointAt(j) ?? ca;
    const pb = b.codePointAt(j) ?? cb;
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  }
  return a.length - b.length;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
  0x08: '\\b',
  0x0c: '\\f',
};

/** Python's `ensure_ascii` escaping: everything outside U+0020–U+007E is `\uXXXX` (lowercase). */
function encodeString(s: string): string {
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c) continue;
    out += s.slice(runStart, i);
    // Iterating UTF-16 code units yields astral characters as surrogate pairs and lone
    // surrogates as themselves — exactly Python's output.
    out += SHORT_ESCAPES[c] ?? `\\u${c.toString(16).padStart(4, '0')}`;
    runStart = i + 1;
  }
  return out + s.slice(runStart) + '"';
}

function encodeNumber(n: number): string {
  if (!Number.isFinite(n)) {
    throw new TypeError(`pythonJsonDumps: ${String(n)} is not JSON compliant`);
  }
  if (n === 0) return '0'; // also -0: JS cannot tell it apart in practice
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return n.toFixed(0);
  // Python's float repr: shortest round-trip digits (as JS), written in scientific notation
  // when the decimal exponent is < -4 or >= 16, with a signed, at-least-two-digit exponent.
  const [mantissa = '', exponentText = '0'] = n.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  // Here JS's String() uses plain decimal notation with the same shortest digits, and the
  // value is not an integer, so it matches Python's repr.
  return String(n);
}
