/**
 * Flagsmith's reference engine is Python; segment conditions follow Python's typing rules.
 * These helpers give the same answers in TypeScript: value coercion, `int()`/`float()`
 * parsing, `str()` rendering and code-point string ordering.
 */

/**
 * A condition's context value after coercion. Python keeps integers and floats apart (and
 * integers are unbounded), so integers are bigints here.
 *
 * `fromNumber` marks an integer that arrived as a JS number: JSON `2` and `2.0` both parse to
 * the number 2, which Python would have read as an int and a float respectively. Such a value
 * is compared as an int when the condition value is an integer, and as a float otherwise.
 */
export type ContextValue =
  | { readonly type: 'str'; readonly value: string }
  | { readonly type: 'int'; readonly value: bigint; readonly fromNumber?: boolean }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean };

const INT_STRING = /^-?[0-9]+$/;
const FLOAT_STRING = /^-?[0-9]+\.[0-9]+$/;

/**
 * Coerces a trait or context value (shared/spec/evaluation.md §3.1 step 4): booleans and
 * numbers are kept (an integral number is an int), a string that is entirely an integer or a
 * decimal becomes an int or a float, other strings stay strings. Null, absent, objects and
 * arrays give null.
 */
export function coerceContextValue(raw: unknown): ContextValue | null {
  switch (typeof raw) {
    case 'boolean':
      return { type: 'bool', value: raw };
    case 'number':
      return Number.isInteger(raw)
        ? { type: 'int', value: BigInt(raw), fromNumber: true }
        : { type: 'float', value: raw };
    case 'bigint':
      return { type: 'int', value: raw };
    case 'string':
      if (INT_STRING.test(raw)) return { type: 'int', value: BigInt(raw) };
      if (FLOAT_STRING.test(raw)) return { type: 'float', value: Number(raw) };
      return { type: 'str', value: raw };
    default:
      return null;
  }
}

/** Python's `str()` of a coerced value. */
export function pythonStr(value: ContextValue): string {
  switch (value.type) {
    case 'str':
      return value.value;
    case 'int':
      return value.value.toString();
    case 'float':
      return pythonFloatRepr(value.value);
    case 'bool':
      return value.value ? 'True' : 'False';
  }
}

/**
 * Python's `repr()`/`str()` of a float: the shortest round-trip digits (as JS), always with a
 * fractional part or an exponent, scientific notation below 1e-4 and from 1e16 on.
 */
export function pythonFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const [mantissa = '', exponentText = '0'] = Math.abs(n).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    const fraction = digits.slice(exponent + 1) || '0';
    return `${sign}${whole}.${fraction}`;
  }
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const exp = `${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  return `${sign}${head}e${exp}`;
}

const PY_INT = /^[+-]?[0-9](?:_?[0-9])*$/;
const PY_DIGITS = '[0-9](?:_?[0-9])*';
const PY_FLOAT = new RegExp(
  `^[+-]?(?:(?:(?:${PY_DIGITS})?\\.${PY_DIGITS}|${PY_DIGITS}\\.?)(?:[eE][+-]?${PY_DIGITS})?|inf|infinity|nan)$`,
  'i',
);

/** Python's `int(text)` (base 10), or null where Python raises ValueError. */
export function parsePythonInt(text: string): bigint | null {
  const trimmed = text.trim();
  if (!PY_INT.test(trimmed)) return null;
  return BigInt(trimmed.replace(/_/g, ''));
}

/** Python's `float(text)`, or null where Python raises ValueError. */
export function parsePythonFloat(text: string): number | null {
  const trimmed = text.trim();
  if (!PY_FLOAT.test(trimmed)) return null;
  const unsigned = trimmed.replace(/^[+-]/, '').toLowerCase();
  const negative = trimmed.startsWith('-');
  if (unsigned === 'nan') return NaN;
  if (unsigned === 'inf' || unsigned === 'infinity') return negative ? -Infinity : Infinity;
  return Number(trimmed.replace(/_/g, ''));
}

/** Python's `float % float`: the result takes the divisor's sign. Null for a zero divisor. */
export function pythonFloatMod(dividend: number, divisor: number): number | null {
  if (divisor === 0) return null;
  const mod = dividend % divisor;
  if (mod === 0) return divisor < 0 ? -0 : 0;
  return divisor < 0 !== mod < 0 ? mod + divisor : mod;
}

/** Orders strings by Unicode code point, as Python does (JS `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i += 1) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const cx = a.codePointAt(i) ?? x;
    const cy = b.codePointAt(i) ?? y;
    return cx < cy ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Python's `repr()` of a JSON value (used when a list item is itself a list or object).
 * Iterative: a value read from a request body may nest deeper than the call stack goes.
 */
export function pythonRepr(value: unknown): string {
  const out: string[] = [];
  // Work left to do, last first: values to write, or text to write as it is.
  const work: ({ readonly text: string } | { readonly value: unknown })[] = [{ value }];
  for (let next = work.pop(); next !== undefined; next = work.pop()) {
    if ('text' in next) {
      out.push(next.text);
      continue;
    }
    const v = next.value;
    if (Array.isArray(v)) {
      work.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        work.push({ value: v[i] as unknown });
        if (i > 0) work.push({ text: ', ' });
      }
      work.push({ text: '[' });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      work.push({ text: '}' });
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, item] = entries[i]!;
        work.push({ value: item as unknown });
        work.push({ text: `${pythonStringRepr(k)}: ` });
        if (i > 0) work.push({ text: ', ' });
      }
      work.push({ text: '{' });
    } else {
      out.push(scalarRepr(v));
    }
  }
  return out.join('');
}

function scalarRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'string') return pythonStringRepr(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') {
    return Number.isInteger(value) ? BigInt(value).toString() : pythonFloatRepr(value);
  }
  return String(value);
}

function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}
