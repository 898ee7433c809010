import { createHash } from 'node:crypto';
import {
  CONDITION_OPERATORS,
  RULE_TYPES,
  type ConditionOperator,
  type EvaluationContext,
  type EvaluationResult,
  type FeatureContext,
  type FeatureValue,
  type FlagValue,
  type IdentityContext,
  type RuleType,
  type SegmentCondition,
  type SegmentContext,
  type SegmentRule,
  type TraitValue,
} from './context';

/**
 * The legacy environment document (`GET /api/v1/environment-document/`,
 * shared/spec/environment-document.md), typed loosely: only what evaluation reads, and
 * optional wherever stored or older documents omit a key. The server's full document type
 * is assignable to it.
 */
export interface LegacyEnvironmentDocument {
  readonly api_key: string;
  readonly name?: string | null;
  readonly project: {
    readonly hide_disabled_flags?: boolean | null;
    readonly segments?: readonly LegacySegment[] | null;
    readonly server_key_only_feature_ids?: readonly number[] | null;
  };
  readonly feature_states: readonly LegacyFeatureState[];
  readonly identity_overrides?: readonly LegacyIdentityOverride[] | null;
  readonly hide_disabled_flags?: boolean | null;
}

export interface LegacyFeatureState {
  readonly feature: { readonly id: number; readonly name: string; readonly type?: string };
  readonly enabled: boolean;
  /** The multivariate hashing seed. */
  readonly django_id?: number | string | null;
  readonly featurestate_uuid?: string | null;
  readonly feature_segment?: { readonly priority?: number | null } | null;
  readonly feature_state_value?: FlagValue;
  readonly multivariate_feature_state_values?: readonly LegacyMultivariateValue[] | null;
}

export interface LegacyMultivariateValue {
  readonly id?: number | null;
  readonly multivariate_feature_option: {
    readonly value: FlagValue;
    readonly key?: string | null;
  };
  readonly percentage_allocation: number;
  readonly mv_fs_value_uuid?: string | null;
}

export interface LegacySegment {
  readonly id: number;
  readonly name: string;
  readonly rules?: readonly LegacyRule[] | null;
  readonly feature_states?: readonly LegacyFeatureState[] | null;
}

export interface LegacyRule {
  readonly type: string;
  readonly rules?: readonly LegacyRule[] | null;
  readonly conditions?: readonly LegacyCondition[] | null;
}

export interface LegacyCondition {
  readonly operator: string;
  readonly value?: string | null;
  readonly property_?: string | null;
}

export interface LegacyIdentityOverride {
  readonly identifier: string;
  readonly identity_features?: readonly LegacyFeatureState[] | null;
}

/** Traits as a map, or as the SDK/document list `[{trait_key, trait_value}]`. */
export type TraitsInput =
  | { readonly [name: string]: TraitValue }
  | readonly { readonly trait_key: string; readonly trait_value: TraitValue }[];

export interface IdentityInput {
  readonly identifier: string;
  /** Hashing key; leave unset for the composite `<api_key>_<identifier>` (local evaluation). */
  readonly key?: string;
  readonly traits?: TraitsInput | null;
}

export interface MapDocumentOptions {
  readonly identity?: IdentityInput | null;
}

/** Name and metadata of the synthetic segments that carry identity overrides. */
export const IDENTITY_OVERRIDES_SEGMENT_NAME = 'identity_overrides';

/** Thrown for a document that cannot be evaluated (e.g. an unknown operator). */
export class InvalidDocumentError extends Error {}

/**
 * Maps a legacy environment document, and optionally an identity, to an evaluation
 * context (environment-document.md §10):
 * - every feature state becomes a feature (key = its hashing seed, `django_id`, else its
 *   UUID; metadata `{id: feature id}`; multivariate values become variants ordered by their
 *   id, or by UUID when they have none);
 * - every project segment becomes a segment keyed by its position (key = its id, metadata
 *   `{source: "api", id}`) with its overrides;
 * - identities with identical identity overrides are grouped into one synthetic segment
 *   `identity_overrides` (an IN condition on `$.identity.identifier`) whose overrides have
 *   priority -Infinity, so they beat every segment override.
 *
 * Segments are mapped whether or not there is an identity; environment-level flag requests
 * must not apply them (drop `segments` from the result before evaluating).
 */
export function mapEnvironmentDocumentToContext(
  document: LegacyEnvironmentDocument,
  options: MapDocumentOptions = {},
): EvaluationContext {
  const segments: [string, SegmentContext][] = (document.project.segments ?? []).map(
    (segment, position) => [String(position), mapSegment(segment)],
  );
  segments.push(...mapIdentityOverrides(document.identity_overrides ?? []));
  const features = document.feature_states.map((state): [string, FeatureContext] => [
    state.feature.name,
    mapFeatureState(state),
  ]);
  return {
    environment: { key: document.api_key, name: document.name ?? '' },
    identity: options.identity ? mapIdentity(options.identity) : null,
    segments: Object.fromEntries(segments),
    features: Object.fromEntries(features),
  };
}

function mapIdentity(identity: IdentityInput): IdentityContext {
  const traits = identity.traits ?? {};
  const traitMap: [string, TraitValue][] = isTraitList(traits)
    ? traits.map((trait) => [trait.trait_key, trait.trait_value])
    : Object.entries(traits);
  return {
    identifier: identity.identifier,
    ...(identity.key !== undefined && { key: identity.key }),
    traits: Object.fromEntries(traitMap),
  };
}

function isTraitList(
  traits: TraitsInput,
): traits is readonly { readonly trait_key: string; readonly trait_value: TraitValue }[] {
  return Array.isArray(traits);
}

function mapSegment(segment: LegacySegment): SegmentContext {
  return {
    key: String(segment.id),
    name: segment.name,
    rules: (segment.rules ?? []).map((rule) => mapRule(rule, segment)),
    overrides: (segment.feature_states ?? []).map(mapFeatureState),
    metadata: { source: 'api', id: segment.id },
  };
}

function mapRule(rule: LegacyRule, segment: LegacySegment): SegmentRule {
  return {
    type: ruleType(rule.type, segment),
    conditions: (rule.conditions ?? []).map((condition): SegmentCondition => ({
      property: condition.property_ ?? '',
      operator: operator(condition.operator, segment),
      value: condition.value ?? '',
    })),
    rules: (rule.rules ?? []).map((sub) => mapRule(sub, segment)),
  };
}

function ruleType(type: string, segment: LegacySegment): RuleType {
  const known = RULE_TYPES.find((candidate) => candidate === type);
  if (known === undefined) {
    throw new InvalidDocumentError(`Segment ${segment.id}: unknown rule type ${type}`);
  }
  return known;
}

function operator(name: string, segment: LegacySegment): ConditionOperator {
  const known = CONDITION_OPERATORS.find((candidate) => candidate === name);
  if (known === undefined) {
    throw new InvalidDocumentError(`Segment ${segment.id}: unknown condition operator ${name}`);
  }
  return known;
}

function mapFeatureState(state: LegacyFeatureState): FeatureContext {
  const priority = state.feature_segment?.priority;
  const seed = state.django_id;
  return {
    key:
      seed !== null && seed !== undefined && seed !== ''
        ? String(seed)
        : (state.featurestate_uuid ?? ''),
    name: state.feature.name,
    enabled: state.enabled,
    value: state.feature_state_value ?? null,
    ...(priority !== null && priority !== undefined && { priority }),
    ...(state.multivariate_feature_state_values && {
      variants: mapVariants(state.multivariate_feature_state_values),
    }),
    metadata: { id: state.feature.id },
  };
}

/**
 * Variant priority = the multivariate value's id; values without an id are ranked by their
 * UUID (0, 1, 2…), which orders them as Flagsmith does.
 */
function mapVariants(values: readonly LegacyMultivariateValue[]): FeatureValue[] {
  const withoutId = values
    .filter((value) => value.id === null || value.id === undefined)
    .map((value) => value.mv_fs_value_uuid ?? '')
    .sort();
  return values.map((value) => {
    const key = value.multivariate_feature_option.key;
    return {
      value: value.multivariate_feature_option.value,
      weight: value.percentage_allocation,
      priority: value.id ?? withoutId.indexOf(value.mv_fs_value_uuid ?? ''),
      ...(key !== null && key !== undefined && { key }),
    };
  });
}

/**
 * One synthetic segment per distinct set of identity overrides. Identity overrides carry
 * a fixed value (no multivariate split), so their feature key is empty, as is the segment
 * key (they use no percentage split).
 */
function mapIdentityOverrides(
  identities: readonly LegacyIdentityOverride[],
): [string, SegmentContext][] {
  const groups = new Map<string, { identifiers: string[]; overrides: FeatureContext[] }>();
  for (const identity of identities) {
    const states = [...(identity.identity_features ?? [])].sort((a, b) =>
      a.feature.name < b.feature.name ? -1 : a.feature.name > b.feature.name ? 1 : 0,
    );
    if (states.length === 0) continue;
    const overrides = states.map((state): FeatureContext => ({
      key: '',
      name: state.feature.name,
      enabled: state.enabled,
      value: state.feature_state_value ?? null,
      priority: -Infinity,
      metadata: { id: state.feature.id },
    }));
    const signature = createHash('sha256')
      .update(JSON.stringify(overrides.map((o) => [o.metadata?.id, o.name, o.enabled, o.value])))
      .digest('hex');
    const group = groups.get(signature);
    if (group) group.identifiers.push(identity.identifier);
    else groups.set(signature, { identifiers: [identity.identifier], overrides });
  }
  return [...groups].map(([signature, { identifiers, overrides }]) => [
    signature,
    {
      key: '',
      name: IDENTITY_OVERRIDES_SEGMENT_NAME,
      rules: [
        {
          type: 'ALL',
          conditions: [{ property: '$.identity.identifier', operator: 'IN', value: identifiers }],
        },
      ],
      overrides,
      metadata: { source: 'identity_override' },
    },
  ]);
}

/** A flag in the SDK API's flag-list shape (shared/spec/sdk-rest-api.md §4), as far as a
 * document can fill it: the REST layer adds ids, dates and descriptions. */
export interface LegacyFlag {
  readonly feature: {
    readonly id: number;
    readonly name: string;
    readonly type: 'STANDARD' | 'MULTIVARIATE';
  };
  readonly feature_state_value: FlagValue;
  readonly enabled: boolean;
  /** Identity responses only: the option key, "control", or null. */
  readonly variant?: string | null;
}

export interface LegacyFlagOptions {
  /** Include `variant` (identity responses). */
  readonly withVariant?: boolean;
  /** Leave out server-key-only features (requests made with a client key). */
  readonly clientKey?: boolean;
}

/**
 * Maps a result back to the flag list, in the document's feature order. Disabled flags are
 * left out when hide-disabled applies (the environment's setting if set, else the
 * project's), and server-key-only features for client keys.
 */
export function mapResultToLegacyFlags(
  result: EvaluationResult,
  document: LegacyEnvironmentDocument,
  options: LegacyFlagOptions = {},
): LegacyFlag[] {
  const hideDisabled =
    document.hide_disabled_flags ?? document.project.hide_disabled_flags ?? false;
  const serverOnly = new Set(
    options.clientKey ? (document.project.server_key_only_feature_ids ?? []) : [],
  );
  const flags: LegacyFlag[] = [];
  for (const state of document.feature_states) {
    const { feature } = state;
    const evaluated = Object.hasOwn(result.flags, feature.name)
      ? result.flags[feature.name]
      : undefined;
    if (evaluated === undefined || serverOnly.has(feature.id)) continue;
    if (hideDisabled && !evaluated.enabled) continue;
    const type = feature.type === 'MULTIVARIATE' ? 'MULTIVARIATE' : 'STANDARD';
    flags.push({
      feature: { id: feature.id, name: feature.name, type },
      feature_state_value: evaluated.value,
      enabled: evaluated.enabled,
      ...(options.withVariant && { variant: type === 'MULTIVARIATE' ? evaluated.variant : null }),
    });
  }
  return flags;
}
