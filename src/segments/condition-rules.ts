import { RE2JS } from 're2js';
import { MAX_REGEX_PROGRAM, regexProgramSize } from '../engine/regex';
import { ValidationError } from '../shared/errors';
import { ConditionOperator, RuleType } from './segment.entity';

/** Longest condition property Flagsmith accepts. */
export const PROPERTY_LIMIT = 1000;
/** Rules nest at most this deep (a top-level rule is level 1). */
export const MAX_RULE_DEPTH = 5;
/** Conditions per segment, over all its rules. */
export const MAX_CONDITIONS = 100;

export interface ConditionShape {
  readonly operator: ConditionOperator;
  readonly property?: string | null;
  readonly value?: string | null;
  readonly description?: string | null;
}

export interface RuleShape {
  readonly type: RuleType;
  readonly conditions?: readonly ConditionShape[] | null;
  readonly rules?: readonly RuleShape[] | null;
}

/** The ordering operators, which compare versions when the value ends in `:semver`. */
const COMPARISONS: ReadonlySet<ConditionOperator> = new Set([
  ConditionOperator.EQUAL,
  ConditionOperator.NOT_EQUAL,
  ConditionOperator.GREATER_THAN,
  ConditionOperator.GREATER_THAN_INCLUSIVE,
  ConditionOperator.LESS_THAN,
  ConditionOperator.LESS_THAN_INCLUSIVE,
]);

const SEMVER_SUFFIX = ':semver';
/** Strict SemVer 2.0 (semver.org), as Python's `semver.Version.parse` reads it. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** A plain decimal number, which both Python's `float()` and JavaScript read the same way. */
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)$/;

const noValue = (value: string | null | undefined): boolean => value == null || value === '';

/**
 * What is wrong with a condition's value for its operator (evaluation.md §3.2), or null.
 * Checks only the value; the property is checked by `conditionProblem`.
 */
export function valueProblem(operator: ConditionOperator, value: string | null | undefined) {
  if (operator === ConditionOperator.IS_SET || operator === ConditionOperator.IS_NOT_SET) {
    return noValue(value) ? null : `${operator} takes no value`;
  }
  if (noValue(value)) return `a value is required for ${operator}`;
  const v = value!;
  switch (operator) {
    case ConditionOperator.PERCENTAGE_SPLIT: {
      if (!DECIMAL.test(v)) return 'must be a number between 0 and 100';
      const n = Number(v);
      return n >= 0 && n <= 100 ? null : 'must be a number between 0 and 100';
    }
    case ConditionOperator.MODULO: {
      const parts = v.split('|');
      if (parts.length !== 2 || !parts.every((p) => DECIMAL.test(p)))
        return 'must be "divisor|remainder", two numbers such as "2|0"';
      return Number(parts[0]) === 0 ? 'the divisor must not be 0' : null;
    }
    case ConditionOperator.IN:
      return inListProblem(v);
    case ConditionOperator.REGEX:
      return regexProblem(v);
    default:
      if (COMPARISONS.has(operator) && v.endsWith(SEMVER_SUFFIX)) {
        const version = v.slice(0, -SEMVER_SUFFIX.length);
        return SEMVER.test(version)
          ? null
          : `"${version.slice(0, 40)}" is not a semantic version such as 1.2.3 (before :semver)`;
      }
      return null;
  }
}

/** IN takes "a,b,c", or a JSON array of strings (or numbers) when the value starts with `[`. */
function inListProblem(value: string): string | null {
  if (!value.startsWith('[')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return 'starts with "[" but is not a JSON array; write a JSON array of strings or a comma-separated list';
  }
  if (!Array.isArray(parsed)) return 'must be a JSON array of strings or a comma-separated list';
  if (parsed.length === 0) return 'must list at least one value';
  const bad = parsed.findIndex(
    (item) => typeof item !== 'string' && !(typeof item === 'number' && Number.isFinite(item)),
  );
  return bad >= 0 ? `item ${bad} of the JSON array must be a string` : null;
}

/**
 * REGEX patterns are compiled on save by the linear-time engine evaluation uses, and refused
 * when they compile to a program so large that matching long values would be slow.
 */
function regexProblem(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return `is not a valid regular expression: ${reason.slice(0, 200)}`;
  }
  const size = regexProgramSize(pattern);
  if (size !== null && size > MAX_REGEX_PROGRAM) {
    return `is too complex a regular expression: it compiles to ${size} instructions, at most ${MAX_REGEX_PROGRAM} (counted repetitions such as {100} multiply what they repeat)`;
  }
  return null;
}

/** The first problem of one condition as `[part, message]`, or null. */
export function conditionProblem(c: ConditionShape): ['property' | 'value', string] | null {
  if (c.operator !== ConditionOperator.PERCENTAGE_SPLIT && noValue(c.property)) {
    return ['property', `a property is required for ${c.operator}`];
  }
  if (c.property != null && c.property.length > PROPERTY_LIMIT) {
    return ['property', `must be at most ${PROPERTY_LIMIT} characters`];
  }
  const problem = valueProblem(c.operator, c.value);
  return problem ? ['value', problem] : null;
}

/**
 * Checks a segment's rule tree before anything is written: nesting depth, the number of
 * conditions and every condition's property and value. Throws BAD_USER_INPUT naming the
 * exact path (`input.rules.0.rules.1.conditions.2.value`).
 */
export function validateRules(rules: readonly RuleShape[], field: string): void {
  let conditions = 0;
  const walk = (list: readonly RuleShape[], path: string, depth: number): void => {
    for (const [i, rule] of list.entries()) {
      const at = `${path}.${i}`;
      if (depth > MAX_RULE_DEPTH)
        throw new ValidationError(at, `rules may nest at most ${MAX_RULE_DEPTH} levels deep`);
      for (const [j, c] of (rule.conditions ?? []).entries()) {
        if (++conditions > MAX_CONDITIONS)
          throw new ValidationError(
            field,
            `a segment may have at most ${MAX_CONDITIONS} conditions in all`,
          );
        const problem = conditionProblem(c);
        if (problem) throw new ValidationError(`${at}.conditions.${j}.${problem[0]}`, problem[1]);
      }
      walk(rule.rules ?? [], `${at}.rules`, depth + 1);
    }
  };
  walk(rules, field, 1);
}

/** A condition as stored: no property for a plain percentage split, no value for IS_(NOT_)SET. */
export function storedCondition(c: ConditionShape): {
  operator: ConditionOperator;
  property: string | null;
  value: string | null;
  description: string | null;
} {
  const none =
    c.operator === ConditionOperator.IS_SET || c.operator === ConditionOperator.IS_NOT_SET;
  return {
    operator: c.operator,
    property: noValue(c.property) ? null : c.property!,
    value: none || c.value == null ? null : c.value,
    description: c.description ?? null,
  };
}
