import {
  type EvaluationResult,
  type FlagValue,
  type LegacyFlag,
  mapResultToLegacyFlags,
} from '../engine';
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

type Source = Pick<
  CachedEnvironment,
  'document' | 'features' | 'states' | 'identityOverrides' | 'flagJson'
>;

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
  const flags = mapResultToLegacyFlags(result, source.document, {
    clientKey: options.clientKey,
    withVariant: options.identifier !== undefined,
  });
  return flags.map((flag) => flagObject(source, result, flag, options));
}

/**
 * `JSON.stringify(toFlagObjects(source, result, options))` for an identity response,
 * assembled from the environment's memo of serialised flags: a flag's JSON depends only on
 * the state that won and its variant (which fix its value), so each is serialised once per
 * document.
 */
export function identityFlagsJson(
  source: Source,
  result: EvaluationResult,
  options: FlagObjectOptions & { readonly identifier: string },
): string {
  const { document } = source;
  const hideDisabled =
    document.hide_disabled_flags ?? document.project.hide_disabled_flags ?? false;
  const serverOnly = options.clientKey ? document.project.server_key_only_feature_ids : undefined;
  const parts: string[] = [];
  for (const { feature } of document.feature_states) {
    const evaluated = Object.hasOwn(result.flags, feature.name)
      ? result.flags[feature.name]
      : undefined;
    if (evaluated === undefined || serverOnly?.includes(feature.id)) continue;
    if (hideDisabled && !evaluated.enabled) continue;
    const uuid = stateUuid(source, result, feature, options);
    const variant = feature.type === 'MULTIVARIATE' ? (evaluated.variant ?? null) : null;
    const memo = uuid === undefined ? undefined : memoOf(source.flagJson, uuid);
    let json = memo?.get(variant ?? '');
    if (json === undefined) {
      const type = feature.type === 'MULTIVARIATE' ? 'MULTIVARIATE' : 'STANDARD';
      const flag: LegacyFlag = {
        feature: { id: feature.id, name: feature.name, type },
        feature_state_value: evaluated.value,
        enabled: evaluated.enabled,
        variant,
      };
      json = JSON.stringify(flagObject(source, result, flag, options));
      memo?.set(variant ?? '', json);
    }
    parts.push(json);
  }
  return `[${parts.join(',')}]`;
}

function memoOf(memo: Map<string, Map<string, string>>, uuid: string): Map<string, string> {
  let byVariant = memo.get(uuid);
  if (!byVariant) memo.set(uuid, (byVariant = new Map()));
  return byVariant;
}

/** The UUID of the state that won: tagged by the engine, or the identity's override. */
function stateUuid(
  source: Source,
  result: EvaluationResult,
  feature: { readonly id: number; readonly name: string },
  options: FlagObjectOptions,
): string | undefined {
  const fs = result.flags[feature.name]?.metadata?.fs;
  if (typeof fs === 'string') return fs;
  return options.identifier !== undefined
    ? source.identityOverrides.get(options.identifier)?.states.get(feature.id)
    : undefined;
}

function flagObject(
  source: Source,
  result: EvaluationResult,
  flag: LegacyFlag,
  options: FlagObjectOptions,
): FlagObject {
  const { document } = source;
  const hide = document.hide_sensitive_data;
  const featureId = flag.feature.id;
  const info = source.features.get(featureId);
  const uuid = stateUuid(source, result, flag.feature, options);
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
    ...(options.identifier !== undefined && { variant: flag.variant ?? null }),
  };
}
