import type { EntityManager } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { Environment } from '../environments/environment.entity';
import { touchEnvironments } from '../environments/touch';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { ValidationError } from '../shared/errors';
import { parseId } from '../shared/id-arg';
import { FeatureState, MultivariateStateValue } from './feature-state.entity';
import { type FlagValue, typedValue, valueOf } from './feature-value';
import { Feature } from './feature.entity';
import type { FeatureStateInput } from './feature.inputs';
import { hundredths } from './feature.service';
import { MultivariateOption } from './multivariate-option.entity';

export type StateKind = 'ENVIRONMENT_DEFAULT' | 'SEGMENT_OVERRIDE' | 'IDENTITY_OVERRIDE';

export function kindOf(state: FeatureState): StateKind {
  if (state.identity) return 'IDENTITY_OVERRIDE';
  if (state.featureSegment) return 'SEGMENT_OVERRIDE';
  return 'ENVIRONMENT_DEFAULT';
}

/** What an audit record keeps of a state. */
export function stateSnapshot(state: FeatureState): Record<string, unknown> {
  return { enabled: state.enabled, value: valueOf(state) };
}

/**
 * Reads and writes feature states: the environment defaults here, and the shared
 * `apply` used for segment and identity overrides.
 */
export class FeatureStateService {
  constructor(private readonly audit: AuditService) {}

  /** Environment defaults of an environment, optionally of some features, by feature id. */
  listDefaults(em: EntityManager, environment: Environment, featureIds?: number[]) {
    return em.find(
      FeatureState,
      {
        environment,
        identity: null,
        featureSegment: null,
        ...(featureIds ? { feature: { $in: featureIds } } : {}),
      },
      { orderBy: { feature: { id: 'asc' } } },
    );
  }

  async allocations(em: EntityManager, state: FeatureState): Promise<MultivariateStateValue[]> {
    return em.find(
      MultivariateStateValue,
      { featureState: state },
      { populate: ['option'], orderBy: { option: { id: 'asc' } } },
    );
  }

  async updateDefault(
    em: EntityManager,
    p: PermissionService,
    state: FeatureState,
    input: FeatureStateInput,
  ): Promise<FeatureState> {
    if (kindOf(state) !== 'ENVIRONMENT_DEFAULT') {
      throw new ValidationError(
        'id',
        'this is an override; change it with updateSegmentOverride or setIdentityOverride',
      );
    }
    return em.transactional(async (tx) => {
      const before = stateSnapshot(state);
      await this.apply(tx, state, input, 'input');
      await tx.flush();
      await this.recordChange(tx, p, state, 'Flag state / Remote Config value updated', before);
      return state;
    });
  }

  /**
   * Applies `enabled`, `value` and multivariate shares to a state (in the caller's
   * transaction), validating that shares name options of the state's feature and that the
   * state's shares add up to at most 100.
   */
  async apply(
    tx: EntityManager,
    state: FeatureState,
    input: {
      readonly enabled?: boolean | null;
      readonly value?: FlagValue;
      readonly multivariateAllocations?: FeatureStateInput['multivariateAllocations'];
    },
    field: string,
  ): Promise<void> {
    if (input.enabled === null) throw new ValidationError(`${field}.enabled`, 'must not be null');
    if (input.enabled !== undefined) state.enabled = input.enabled;
    if (input.value !== undefined) Object.assign(state, typedValue(input.value));
    const wanted = input.multivariateAllocations;
    if (!wanted) return;
    const feature = state.feature;
    const optionIds = wanted.map((a, i) =>
      parseId(a.optionId, `${field}.multivariateAllocations.${i}.optionId`),
    );
    const options = await tx.find(MultivariateOption, { id: { $in: optionIds }, feature });
    const byId = new Map(options.map((o) => [o.id, o]));
    const seen = new Set<number>();
    for (const [i, id] of optionIds.entries()) {
      const path = `${field}.multivariateAllocations.${i}.optionId`;
      if (!byId.has(id)) throw new ValidationError(path, `no option of this feature with id ${id}`);
      if (seen.has(id)) throw new ValidationError(path, `option ${id} is listed twice`);
      seen.add(id);
    }
    const existing = state.id ? await tx.find(MultivariateStateValue, { featureState: state }) : [];
    const shares = new Map(existing.map((e) => [e.option.id, e.percentageAllocation]));
    for (const [i, a] of wanted.entries())
      shares.set(optionIds[i]!, String(a.percentageAllocation));
    if (hundredths([...shares.values()]) > 10_000) {
      throw new ValidationError(
        `${field}.multivariateAllocations`,
        'percentage allocations must add up to at most 100',
      );
    }
    for (const [i, a] of wanted.entries()) {
      const option = byId.get(optionIds[i]!)!;
      const row = existing.find((e) => e.option.id === option.id);
      if (row) row.percentageAllocation = String(a.percentageAllocation);
      else
        tx.create(MultivariateStateValue, {
          featureState: state,
          option,
          percentageAllocation: String(a.percentageAllocation),
        });
    }
  }

  /** Audit record plus document bump for a change to one state. */
  async recordChange(
    tx: EntityManager,
    p: PermissionService,
    state: FeatureState,
    log: string,
    before: Record<string, unknown> | null,
    change: ChangeType = ChangeType.UPDATE,
  ): Promise<void> {
    const environment = await tx.findOneOrFail(Environment, state.environment.id);
    const project = await tx.findOneOrFail(Project, environment.project.id);
    const feature = await tx.findOneOrFail(Feature, state.feature.id);
    this.audit.record(tx, p, {
      ...auditScope(project, environment),
      type: AuditObjectType.FEATURE_STATE,
      objectId: state.id,
      objectUuid: state.uuid,
      change,
      log: `${log}: ${feature.name}`,
      before,
      after: change === ChangeType.DELETE ? null : stateSnapshot(state),
    });
    await touchEnvironments(tx, { environmentId: environment.id });
  }
}
