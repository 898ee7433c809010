import { conditionMatches, type ConditionScope } from './conditions';
import type {
  EvaluationContext,
  EvaluationResult,
  FeatureContext,
  FlagResult,
  FlagValue,
  IdentityContext,
  RuleType,
  SegmentContext,
  SegmentResult,
  SegmentRule,
} from './context';
import { hashedPercentage } from './hashing';

/**
 * Evaluates every feature of the context for its identity (shared/spec/evaluation.md §1):
 * segment membership, the strongest segment override per feature (lowest priority), then
 * multivariate selection. Pure and deterministic: the same context gives the same result.
 *
 * Segments are evaluated even without an identity (conditions on `$.environment.*` or
 * `IS_NOT_SET` can match); callers serving environment-level flags leave segments out.
 */
export function evaluate(context: EvaluationContext): EvaluationResult {
  const identity = context.identity ?? null;
  const identityKey = identity === null ? null : identityKeyOf(context, identity);
  const document = enrich(context, identity, identityKey);
  const traits = identity?.traits ?? null;

  const segments: SegmentResult[] = [];
  const overrides = new Map<string, KeptOverride>();
  for (const segment of Object.values(context.segments ?? {})) {
    const scope: ConditionScope = { segmentKey: segment.key, identityKey, traits, document };
    if (!segmentMatches(segment, scope)) continue;
    segments.push(withMetadata({ name: segment.name }, segment.metadata));
    for (const override of segment.overrides ?? []) {
      const priority = override.priority ?? Infinity;
      const kept = overrides.get(override.name);
      if (kept === undefined || priority < kept.priority) {
        overrides.set(override.name, { feature: override, segmentName: segment.name, priority });
      }
    }
  }

  const flags: [string, FlagResult][] = [];
  for (const feature of Object.values(context.features ?? {})) {
    const kept = overrides.get(feature.name);
    const flag =
      kept === undefined
        ? evaluateFeature(feature, 'DEFAULT', identityKey)
        : evaluateFeature(
            kept.feature,
            `TARGETING_MATCH; segment=${kept.segmentName}`,
            identityKey,
          );
    flags.push([feature.name, flag]);
  }
  // fromEntries defines own properties, so even a feature named `__proto__` is kept.
  return { flags: Object.fromEntries(flags), segments };
}

interface KeptOverride {
  readonly feature: FeatureContext;
  readonly segmentName: string;
  readonly priority: number;
}

/** The identity's hashing key: its own, or `<environment key>_<identifier>`. */
function identityKeyOf(context: EvaluationContext, identity: IdentityContext): string {
  return identity.key || `${context.environment.key}_${identity.identifier}`;
}

/** The context as JSONPath properties see it: with the identity key filled in. */
function enrich(
  context: EvaluationContext,
  identity: IdentityContext | null,
  identityKey: string | null,
): unknown {
  if (identity === null || identityKey === null) return context;
  return { ...context, identity: { ...identity, key: identityKey } };
}

/** A segment matches when it has rules and every top-level rule matches (§2). */
function segmentMatches(segment: SegmentContext, scope: ConditionScope): boolean {
  const rules = segment.rules ?? [];
  return rules.length > 0 && rules.every((rule) => ruleMatches(rule, scope));
}

/** The rule's quantifier over its conditions and, separately, over its sub-rules. */
function ruleMatches(rule: SegmentRule, scope: ConditionScope): boolean {
  const conditions = rule.conditions ?? [];
  if (
    conditions.length > 0 &&
    !quantify(rule.type, conditions, (condition) => conditionMatches(condition, scope))
  ) {
    return false;
  }
  const rules = rule.rules ?? [];
  return rules.length === 0 || quantify(rule.type, rules, (sub) => ruleMatches(sub, scope));
}

function quantify<T>(type: RuleType, items: readonly T[], test: (item: T) => boolean): boolean {
  switch (type) {
    case 'ALL':
      return items.every(test);
    case 'ANY':
      return items.some(test);
    case 'NONE':
      return !items.some(test);
    default:
      return false;
  }
}

/**
 * A feature's flag (§3, §5). With variants and an identity, the identity is bucketed by
 * `hash([feature key, identity key])` into the variants (ordered by priority, weights
 * stacked from 0); outside every variant it gets the control value and variant "control".
 */
function evaluateFeature(
  feature: FeatureContext,
  reason: string,
  identityKey: string | null,
): FlagResult {
  const variants = feature.variants ?? [];
  if (variants.length === 0 || identityKey === null) {
    return flag(feature, feature.value, reason, null);
  }
  const percentage = hashedPercentage([feature.key, identityKey]);
  const ordered = variants
    .map((variant, index) => ({ variant, index }))
    .sort(
      (a, b) =>
        (a.variant.priority ?? Infinity) - (b.variant.priority ?? Infinity) || a.index - b.index,
    );
  let start = 0;
  for (const { variant } of ordered) {
    const limit = start + variant.weight;
    if (start <= percentage && percentage < limit) {
      return flag(feature, variant.value, `SPLIT; weight=${variant.weight}`, variant.key ?? null);
    }
    start = limit;
  }
  return flag(feature, feature.value, reason, 'control');
}

function flag(
  feature: FeatureContext,
  value: FlagValue,
  reason: string,
  variant: string | null,
): FlagResult {
  const { name, enabled, metadata } = feature;
  // Built as literals (not spread): this runs for every feature of every evaluation.
  return metadata === undefined || metadata === null
    ? { name, enabled, value, reason, variant }
    : { name, enabled, value, reason, variant, metadata };
}

function withMetadata<T extends object>(
  base: T,
  metadata: SegmentContext['metadata'] | null,
): T & { metadata?: SegmentContext['metadata'] } {
  return metadata === undefined || metadata === null ? base : { ...base, metadata };
}
