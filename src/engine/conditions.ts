import { parseTree, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { BoundedCache } from './bounded-cache';
import type { SegmentCondition, TraitValue } from './context';
import { hashedPercentage } from './hashing';
import { firstNode, parseJsonPath } from './jsonpath';
import {
  coerceContextValue,
  compareCodePoints,
  parsePythonFloat,
  parsePythonInt,
  pythonFloatMod,
  pythonFloatRepr,
  pythonRepr,
  pythonStr,
  type ContextValue,
} from './python';
import { regexMatchesAtStart } from './regex';
import { compareSemVer, parseSemVer } from './semver';

/** What a condition can look at while one segment is evaluated. */
export interface ConditionScope {
  /** The segment's key, hashed by PERCENTAGE_SPLIT. */
  readonly segmentKey: string;
  /** The identity's (possibly defaulted) key; null without an identity. */
  readonly identityKey: string | null;
  readonly traits: { readonly [name: string]: TraitValue } | null;
  /** The enriched context, for JSONPath properties. */
  readonly document: unknown;
}

/**
 * Whether one condition holds (shared/spec/evaluation.md §3). Never throws: anything the
 * reference engine would fail on (bad casts, bad patterns, a zero divisor) is false.
 */
export function conditionMatches(condition: SegmentCondition, scope: ConditionScope): boolean {
  const property = condition.property ?? '';
  const value: unknown = condition.value;
  switch (condition.operator) {
    case 'PERCENTAGE_SPLIT': {
      const subject =
        property === '' ? scope.identityKey : nullableStr(resolveProperty(property, scope));
      return subject !== null && percentageSplit(value, scope.segmentKey, subject);
    }
    case 'IN':
      return inList(value, resolveProperty(property, scope));
    case 'IS_SET':
      return resolveProperty(property, scope) !== null;
    case 'IS_NOT_SET':
      return resolveProperty(property, scope) === null;
    default:
      break;
  }
  if (typeof value !== 'string') return false;
  const subject = resolveProperty(property, scope);
  if (subject === null) return false;
  switch (condition.operator) {
    case 'EQUAL':
      return compare(subject, value, (c) => c === 0);
    case 'NOT_EQUAL':
      return compare(subject, value, (c) => c !== 0);
    case 'GREATER_THAN':
      return compare(subject, value, (c) => c > 0);
    case 'GREATER_THAN_INCLUSIVE':
      return compare(subject, value, (c) => c >= 0);
    case 'LESS_THAN':
      return compare(subject, value, (c) => c < 0);
    case 'LESS_THAN_INCLUSIVE':
      return compare(subject, value, (c) => c <= 0);
    case 'CONTAINS':
      return subject.type === 'str' && !isSemVerCondition(value) && subject.value.includes(value);
    case 'NOT_CONTAINS':
      return subject.type === 'str' && !subject.value.includes(value);
    case 'REGEX':
      return regexMatchesAtStart(value, pythonStr(subject));
    case 'MODULO':
      return modulo(subject, value);
    default:
      return false;
  }
}

function nullableStr(value: ContextValue | null): string | null {
  return value === null ? null : pythonStr(value);
}

/**
 * The coerced context value a property names (§3.1): for `$.` properties a trait with that
 * exact name first, then the JSONPath (primitives only); otherwise the trait.
 */
function resolveProperty(property: string, scope: ConditionScope): ContextValue | null {
  const trait = traitValue(scope, property);
  if (!property.startsWith('$.') || trait !== null) return coerceContextValue(trait);
  const path = parseJsonPath(property);
  // Not a valid JSONPath: a plain trait name, and that trait is absent.
  if (path === null) return null;
  const node = firstNode(scope.document, path);
  return typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean'
    ? coerceContextValue(node)
    : null;
}

function traitValue(scope: ConditionScope, name: string): TraitValue {
  const traits = scope.traits;
  if (traits === null || !Object.hasOwn(traits, name)) return null;
  return traits[name] ?? null;
}

const SEMVER_SUFFIX = ':semver';

function isSemVerCondition(value: string): boolean {
  return value.endsWith(SEMVER_SUFFIX);
}

/**
 * Typed comparison (§3.3): the condition value is cast to the context value's type, then
 * compared; a failed cast or incomparable values give false for every operator.
 */
function compare(
  subject: ContextValue,
  value: string,
  accept: (comparison: number) => boolean,
): boolean {
  const comparison = compareTyped(subject, value);
  return comparison !== null && accept(comparison);
}

function compareTyped(subject: ContextValue, value: string): number | null {
  switch (subject.type) {
    case 'bool': {
      const cast = value !== 'False' && value !== 'false';
      return Number(subject.value) - Number(cast);
    }
    case 'int': {
      const cast = parsePythonInt(value);
      if (cast !== null) return subject.value === cast ? 0 : subject.value < cast ? -1 : 1;
      // A JSON number such as `2.0` may have been a float (see ContextValue).
      return subject.fromNumber ? compareFloat(Number(subject.value), value) : null;
    }
    case 'float':
      return compareFloat(subject.value, value);
    case 'str': {
      if (!isSemVerCondition(value)) return compareCodePoints(subject.value, value);
      const version = parseSemVer(subject.value);
      const against = parseSemVer(value.slice(0, -SEMVER_SUFFIX.length));
      if (version === null || against === null) return null;
      return compareSemVer(version, against);
    }
  }
}

function compareFloat(subject: number, value: string): number | null {
  const cast = parsePythonFloat(value);
  if (cast === null) return null;
  // As in Python, NaN is unequal to everything and neither below nor above anything.
  if (Number.isNaN(cast) || Number.isNaN(subject)) return Number.NaN;
  return subject === cast ? 0 : subject < cast ? -1 : 1;
}

function percentageSplit(value: unknown, segmentKey: string, subject: string): boolean {
  if (typeof value !== 'string') return false;
  const threshold = parsePythonFloat(value);
  return threshold !== null && hashedPercentage([segmentKey, subject]) <= threshold;
}

/** MODULO (`"divisor|remainder"`): Python's floor modulo on numbers (booleans count as 0/1). */
function modulo(subject: ContextValue, value: string): boolean {
  if (subject.type === 'str') return false;
  const parts = value.split('|');
  if (parts.length !== 2) return false;
  const divisor = parsePythonFloat(parts[0] ?? '');
  const remainder = parsePythonFloat(parts[1] ?? '');
  if (divisor === null || remainder === null) return false;
  // Python converts the int to a float here, and fails (false) if it is too large for one.
  const dividend = Number(subject.value);
  if (subject.type === 'int' && !Number.isFinite(dividend)) return false;
  const result = pythonFloatMod(dividend, divisor);
  return result !== null && result === remainder;
}

/**
 * IN: only strings and (non-boolean) integers can match, by exact string membership. The
 * candidates are a list as given, a string that starts with `[` read as a JSON array (items
 * rendered as Python's `str` would), or the string split on commas.
 */
function inList(value: unknown, subject: ContextValue | null): boolean {
  if (subject === null) return false;
  let needle: string;
  if (subject.type === 'str') needle = subject.value;
  else if (subject.type === 'int') needle = subject.value.toString();
  else return false;
  if (Array.isArray(value)) return value.some((item) => String(item) === needle);
  if (typeof value !== 'string' || value === '') return false;
  return inCandidates.get(value, parseInCandidates).has(needle);
}

const inCandidates = new BoundedCache<string, ReadonlySet<string>>(512);

function parseInCandidates(value: string): ReadonlySet<string> {
  if (value.startsWith('[')) {
    const items = jsonArrayItems(value);
    if (items !== null) return new Set(items);
  }
  return new Set(value.split(','));
}

/** The items of a strict JSON array, each as Python's `str()`; null if not one. */
function jsonArrayItems(text: string): string[] | null {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  if (errors.length > 0 || root === undefined || root.type !== 'array') return null;
  return (root.children ?? []).map((item) => pythonStrOfJson(item, text));
}

function pythonStrOfJson(node: JsonNode, text: string): string {
  switch (node.type) {
    case 'string':
      return String(node.value);
    case 'number': {
      // The lexeme tells an integer (`1`) from a float (`1.0`), which JSON.parse would not.
      const lexeme = text.slice(node.offset, node.offset + node.length);
      return /[.eE]/.test(lexeme) ? pythonFloatRepr(Number(lexeme)) : BigInt(lexeme).toString();
    }
    case 'boolean':
      return node.value === true ? 'True' : 'False';
    case 'null':
      return 'None';
    default: {
      const source = text.slice(node.offset, node.offset + node.length);
      try {
        return pythonRepr(JSON.parse(source));
      } catch {
        return source;
      }
    }
  }
}
