import { type EvaluationResult, type FlagValue, mapResultToLegacyFlags } from '../engine';
import type { CachedEnvironment } from './document-cache';

/** A flag as Flagsmith's SDK endpoints serialise it (sdk-rest-api.md §4); key order matters. */
export interface FlagObject {
  readonly id: number | null;
  readonly feature: {
    readonly id: number;
    readonly name: string;
    readonly created_date: string | null;
    readonly description: string | null;
    readonly initial_value: string | null;
    readonly default_enabled: boolean | null;
    readonly type: 'STANDARD' | 'MULTIVARIATE';
  };
  readonly feature_state_value: FlagValue;
  readonly environment: number | null;
  readonly identity: number | null;
  readonly feature_segment: number | null;
  readonly enabled: boolean;
  /** Identity responses only. */
  readonly variant?: string | null;
}

export interface FlagObjectOptions {
  /** Leave out server-key-only features. */
  readonly clientKey: boolean;
  /** Identity responses: add `variant`, and resolve identity overrides of this identifier. */
  readonly identifier?: string;
}

type Source = Pick<CachedEnvironment, 'document' | 'features' | 'states' | 'identityOverrides'>;

/**
 * The result as flag objects: the document's feature order, hide-disabled and
 * server-key-only filters applied (engine `mapResultToLegacyFlags`), each with the ids of
 * the state that won, and §7's nulling when the environment hides sensitive data.
 */
export function toFlagObjects(
  source: Source,
  result: EvaluationResult,
  options: FlagObjectOptions,
): FlagObject[] {
  const { document } = source;
  const hide = document.hide_sensitive_data;
  const withVariant = options.identifier !== undefined;
  const flags = mapResultToLegacyFlags(result, document, {
    clientKey: options.clientKey,
    withVariant,
  });
  return flags.map((flag): FlagObject => {
    const featureId = flag.feature.id;
    const info = source.features.get(featureId);
    const fs = result.flags[flag.feature.name]?.metadata?.fs;
    const uuid =
      typeof fs === 'string'
        ? fs
        : options.identifier !== undefined
          ? source.identityOverrides.get(options.identifier)?.states.get(featureId)
          : undefined;
    const state = uuid === undefined ? undefined : source.states.get(uuid);
    return {
      id: hide ? null : (state?.id ?? null),
      feature: {
        id: featureId,
        name: flag.feature.name,
        created_date: hide ? null : (info?.created_date ?? null),
        description: hide ? null : (info?.description ?? null),
        initial_value: hide ? null : (info?.initial_value ?? null),
        default_enabled: hide ? null : (info?.default_enabled ?? null),
        type: flag.feature.type,
      },
      feature_state_value: flag.feature_state_value,
      environment: hide ? null : document.id,
      identity: hide ? null : (state?.identityId ?? null),
      feature_segment: hide ? null : (state?.featureSegmentId ?? null),
      enabled: flag.enabled,
      ...(withVariant && { variant: flag.variant ?? null }),
    };
  });
}
