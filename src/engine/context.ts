/**
 * The engine's input and output, as JSON: Flagsmith's `EvaluationContext` and
 * `EvaluationResult` (shared/conformance/engine/schemas/, shared/spec/environment-document.md
 * §8–9). Plain JSON-able data; optional keys may be absent.
 */

/** A feature value or a multivariate option value. */
export type FlagValue = string | number | boolean | null;

/** A trait value. `null` is the same as an absent trait. */
export type TraitValue = string | number | boolean | null;

/** Free-form JSON object carried through to the result (e.g. `{ id: 12 }`). */
export type Metadata = { readonly [key: string]: unknown };

export const CONDITION_OPERATORS = [
  'EQUAL',
  'GREATER_THAN',
  'LESS_THAN',
  'LESS_THAN_INCLUSIVE',
  'CONTAINS',
  'GREATER_THAN_INCLUSIVE',
  'NOT_CONTAINS',
  'NOT_EQUAL',
  'REGEX',
  'PERCENTAGE_SPLIT',
  'MODULO',
  'IS_SET',
  'IS_NOT_SET',
  'IN',
] as const;

export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

export const RULE_TYPES = ['ALL', 'ANY', 'NONE'] as const;

export type RuleType = (typeof RULE_TYPES)[number];

export interface EnvironmentContext {
  readonly key: string;
  readonly name: string;
}

export interface IdentityContext {
  readonly identifier: string;
  /** Hashing key; defaults to `<environment.key>_<identifier>`. */
  readonly key?: string;
  readonly traits?: { readonly [name: string]: TraitValue };
}

/**
 * `property` is a trait name or a JSONPath into the context (`$.identity.identifier`); it may
 * be empty for PERCENTAGE_SPLIT. `value` is a string, or for IN also a list of strings.
 */
export type SegmentCondition =
  | {
      readonly property: string;
      readonly operator: ConditionOperator;
      readonly value: string;
    }
  | {
      readonly property: string;
      readonly operator: 'IN';
      readonly value: readonly string[];
    };

export interface SegmentRule {
  readonly type: RuleType;
  readonly conditions?: readonly SegmentCondition[];
  readonly rules?: readonly SegmentRule[];
}

/** One multivariate option: `weight` is a percentage, lower `priority` comes first. */
export interface FeatureValue {
  readonly key?: string;
  readonly value: FlagValue;
  readonly weight: number;
  readonly priority: number;
}

export interface FeatureContext {
  /** Multivariate hashing seed. */
  readonly key: string;
  readonly name: string;
  readonly enabled: boolean;
  /** The value, or the control value of a multivariate feature. */
  readonly value: FlagValue;
  readonly variants?: readonly FeatureValue[];
  /** For segment overrides: lower wins. Absent = weakest. */
  readonly priority?: number;
  readonly metadata?: Metadata;
}

export interface SegmentContext {
  /** Used in PERCENTAGE_SPLIT hashing. */
  readonly key: string;
  readonly name: string;
  readonly rules: readonly SegmentRule[];
  readonly overrides?: readonly FeatureContext[];
  readonly metadata?: Metadata;
}

export interface EvaluationContext {
  readonly environment: EnvironmentContext;
  readonly identity?: IdentityContext | null;
  readonly segments?: { readonly [key: string]: SegmentContext };
  readonly features?: { readonly [name: string]: FeatureContext };
}

export interface FlagResult {
  readonly name: string;
  readonly enabled: boolean;
  readonly value: FlagValue;
  /** `DEFAULT`, `TARGETING_MATCH; segment=<name>` or `SPLIT; weight=<weight>`. */
  readonly reason: string;
  /** The winning option's key, `"control"` for the control bucket, otherwise null. */
  readonly variant: string | null;
  readonly metadata?: Metadata;
}

export interface SegmentResult {
  readonly name: string;
  readonly metadata?: Metadata;
}

export interface EvaluationResult {
  readonly flags: { readonly [name: string]: FlagResult };
  readonly segments: readonly SegmentResult[];
}
