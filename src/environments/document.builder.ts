import type { EntityManager } from '@mikro-orm/core';
import {
  FeatureSegment,
  FeatureState,
  MultivariateStateValue,
} from '../features/feature-state.entity';
import { valueOf } from '../features/feature-value';
import { Feature } from '../features/feature.entity';
import { MultivariateOption } from '../features/multivariate-option.entity';
import { Identity } from '../identities/identity.entity';
import { Organisation } from '../organisations/organisation.entity';
import { Project } from '../projects/project.entity';
import { Segment, type SegmentRuleNode } from '../segments/segment.entity';
import { loadRuleTrees } from '../segments/segment.service';
import { groupBy, pushTo } from '../shared/collections';
import { newUuid } from '../shared/ids';
import type {
  DocumentFeatureState,
  DocumentIdentityOverride,
  DocumentRule,
  DocumentSegment,
  EnvironmentDocument,
} from './document.types';
import { Environment } from './environment.entity';

/** Python's `datetime.isoformat()` for a UTC instant, as Flagsmith writes `updated_at`. */
export function pythonIsoFormat(date: Date): string {
  const base = date.toISOString().slice(0, 19);
  const ms = date.getUTCMilliseconds();
  return `${base}${ms ? `.${String(ms * 1000).padStart(6, '0')}` : ''}+00:00`;
}

/**
 * Builds an environment's document from the database, in the exact shape Flagsmith's SDKs
 * consume for local evaluation. A fixed number of queries, whatever the number of features
 * and segments.
 */
export async function buildEnvironmentDocument(
  em: EntityManager,
  environmentId: number,
): Promise<EnvironmentDocument> {
  const env = await em.findOneOrFail(Environment, environmentId);
  const project = await em.findOneOrFail(Project, env.project.id);
  const organisation = await em.findOneOrFail(Organisation, project.organisation.id);

  const [features, states, options] = await Promise.all([
    em.find(Feature, { project }, { orderBy: { id: 'asc' } }),
    em.find(FeatureState, { environment: env }, { orderBy: { id: 'asc' } }),
    em.find(MultivariateOption, { feature: { project } }, { orderBy: { id: 'asc' } }),
  ]);
  const featureById = new Map(features.map((f) => [f.id, f]));
  const optionById = new Map(options.map((o) => [o.id, o]));
  const shares = states.length
    ? await em.find(
        MultivariateStateValue,
        { featureState: { $in: states.map((s) => s.id) } },
        { orderBy: { id: 'asc' } },
      )
    : [];
  const sharesByState = groupBy(shares, (s) => s.featureState.id);

  const featureSegments = await em.find(
    FeatureSegment,
    { environment: env },
    { orderBy: { priority: 'asc', id: 'asc' } },
  );
  const featureSegmentById = new Map(featureSegments.map((fs) => [fs.id, fs]));

  const toState = (state: FeatureState): DocumentFeatureState => {
    const feature = featureById.get(state.feature.id)!;
    const fs = state.featureSegment ? featureSegmentById.get(state.featureSegment.id) : undefined;
    return {
      feature: { id: feature.id, name: feature.name, type: feature.type },
      enabled: state.enabled,
      django_id: hashingSeed(state),
      feature_segment: fs ? { priority: fs.priority } : null,
      featurestate_uuid: state.uuid,
      feature_state_value: valueOf(state),
      multivariate_feature_state_values: (sharesByState.get(state.id) ?? []).map((share) => {
        const option = optionById.get(share.option.id)!;
        return {
          multivariate_feature_option: {
            value: valueOf({ ...option, valueType: option.type }),
            id: option.id,
            key: option.key,
          },
          percentage_allocation: Number(share.percentageAllocation),
          id: share.id,
          mv_fs_value_uuid: share.uuid,
        };
      }),
    };
  };

  const defaults: FeatureState[] = [];
  const bySegment = new Map<number, FeatureState[]>();
  const byIdentity = new Map<number, FeatureState[]>();
  for (const state of states) {
    if (state.identity) pushTo(byIdentity, state.identity.id, state);
    else if (state.featureSegment) {
      const fs = featureSegmentById.get(state.featureSegment.id);
      if (fs) pushTo(bySegment, fs.segment.id, state);
    } else defaults.push(state);
  }
  // Segment overrides in priority order, as Flagsmith lists them.
  const rank = new Map(featureSegments.map((fs, i) => [fs.id, i]));
  for (const list of bySegment.values())
    list.sort((a, b) => rank.get(a.featureSegment!.id)! - rank.get(b.featureSegment!.id)!);

  const segments = await loadSegments(em, project, bySegment);
  const identityOverrides = env.useIdentityOverridesInLocalEval
    ? await loadIdentityOverrides(em, env, byIdentity, toState)
    : [];

  return {
    id: env.id,
    api_key: env.apiKey,
    project: {
      id: project.id,
      name: project.name,
      organisation: {
        id: organisation.id,
        name: organisation.name,
        feature_analytics: organisation.featureAnalytics,
        stop_serving_flags: organisation.stopServingFlags,
        persist_trait_data: organisation.persistTraitData,
      },
      hide_disabled_flags: project.hideDisabledFlags,
      segments: segments.map((s): DocumentSegment => ({
        id: s.segment.importedId ?? s.segment.id,
        name: s.segment.name,
        rules: s.rules,
        feature_states: (bySegment.get(s.segment.id) ?? []).map(toState),
      })),
      enable_realtime_updates: project.enableRealtimeUpdates,
      server_key_only_feature_ids: features.filter((f) => f.isServerKeyOnly).map((f) => f.id),
    },
    feature_states: defaults.map(toState),
    identity_overrides: identityOverrides,
    name: env.name,
    allow_client_traits: env.allowClientTraits,
    updated_at: pythonIsoFormat(env.updatedAt),
    hide_sensitive_data: env.hideSensitiveData,
    hide_disabled_flags: env.hideDisabledFlags ?? null,
    use_identity_composite_key_for_hashing: env.useIdentityCompositeKeyForHashing,
    use_identity_overrides_in_local_eval: env.useIdentityOverridesInLocalEval,
  };
}

/** The seed multivariate bucketing hashes with: a kept salt (imports), else the state id. */
function hashingSeed(state: FeatureState): number | string {
  const salt = state.mvHashingSalt;
  if (salt == null) return state.id;
  return /^\d{1,15}$/.test(salt) ? Number(salt) : salt;
}

/**
 * The project's segments with their rule trees: project-wide segments always, and
 * feature-specific ones only when this environment overrides with them.
 */
async function loadSegments(
  em: EntityManager,
  project: Project,
  overridden: ReadonlyMap<number, unknown>,
): Promise<{ segment: Segment; rules: DocumentRule[] }[]> {
  const all = await em.find(Segment, { project }, { orderBy: { id: 'asc' } });
  const segments = all.filter((s) => !s.feature || overridden.has(s.id));
  if (segments.length === 0) return [];
  const trees = await loadRuleTrees(
    em,
    segments.map((s) => s.id),
  );
  const toRule = (rule: SegmentRuleNode): DocumentRule => ({
    type: rule.type,
    rules: rule.rules.map(toRule),
    conditions: rule.conditions.map((c) => ({
      operator: c.operator,
      value: c.value ?? null,
      property_: c.property ?? null,
    })),
  });
  return segments.map((segment) => ({
    segment,
    rules: (trees.get(segment.id) ?? []).map(toRule),
  }));
}

async function loadIdentityOverrides(
  em: EntityManager,
  env: Environment,
  byIdentity: ReadonlyMap<number, FeatureState[]>,
  toState: (s: FeatureState) => DocumentFeatureState,
): Promise<DocumentIdentityOverride[]> {
  if (byIdentity.size === 0) return [];
  const identities = await em.find(
    Identity,
    { id: { $in: [...byIdentity.keys()] } },
    { orderBy: { id: 'asc' } },
  );
  return identities.map((identity) => ({
    identifier: identity.identifier,
    environment_api_key: env.apiKey,
    created_date: pythonIsoFormat(identity.createdAt),
    identity_features: byIdentity.get(identity.id)!.map(toState),
    identity_traits: [],
    identity_uuid: newUuid(),
    django_id: identity.id,
    dashboard_alias: null,
    composite_key: `${env.apiKey}_${identity.identifier}`,
  }));
}
