import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { Environment } from '../environments/environment.entity';
import { touchEnvironments } from '../environments/touch';
import { assertMayChangeFeature } from './feature-owners';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { orderedPage, type Page, type SortKey } from '../shared/cursor';
import { ValidationError } from '../shared/errors';
import { containsText } from '../shared/search';
import { parseId } from '../shared/id-arg';
import { Identity } from '../identities/identity.entity';
import { type StateContext, type StateValues, WebhookEvent } from '../webhooks/events';
import type { FlagChange, WebhookOutbox } from '../webhooks/outbox';
import { FeatureSegment, FeatureState, MultivariateStateValue } from './feature-state.entity';
import { type FlagValue, typedValue, valueOf } from './feature-value';
import { Feature } from './feature.entity';
import type { FeatureStateInput, FeatureStateListArgs } from './feature.inputs';
import { hundredths } from './feature.service';
import { MultivariateOption } from './multivariate-option.entity';

export type StateKind = 'ENVIRONMENT_DEFAULT' | 'SEGMENT_OVERRIDE' | 'IDENTITY_OVERRIDE';

export function kindOf(state: FeatureState): StateKind {
  if (state.identity) return 'IDENTITY_OVERRIDE';
  if (state.featureSegment) return 'SEGMENT_OVERRIDE';
  return 'ENVIRONMENT_DEFAULT';
}

/** What an audit record keeps of a state. */
function auditValues(values: StateValues): Record<string, unknown> {
  return { enabled: values.enabled, value: values.value };
}

/** The webhook event for each kind of state and change. */
const WEBHOOK_EVENT: Readonly<
  Record<StateKind, Readonly<Record<ChangeType, FlagChange['event']>>>
> = {
  ENVIRONMENT_DEFAULT: {
    CREATE: WebhookEvent.FLAG_FEATURE_CREATED,
    UPDATE: WebhookEvent.FLAG_FEATURE_UPDATED,
    DELETE: WebhookEvent.FLAG_FEATURE_DELETED,
  },
  SEGMENT_OVERRIDE: {
    CREATE: WebhookEvent.FLAG_SEGMENT_CREATED,
    UPDATE: WebhookEvent.FLAG_SEGMENT_UPDATED,
    DELETE: WebhookEvent.FLAG_SEGMENT_DELETED,
  },
  IDENTITY_OVERRIDE: {
    CREATE: WebhookEvent.FLAG_IDENTITY_UPDATED,
    UPDATE: WebhookEvent.FLAG_IDENTITY_UPDATED,
    DELETE: WebhookEvent.FLAG_IDENTITY_UPDATED,
  },
};

/**
 * Reads and writes feature states: the environment defaults here, and the shared
 * `apply` used for segment and identity overrides.
 */
/** Default states sort on their feature: its id (creation order) or name. */
const STATE_KEYS: Record<'FEATURE_ID' | 'FEATURE_NAME', SortKey<FeatureState>> = {
  FEATURE_ID: { path: ['feature', 'id'], value: (s) => s.feature.id },
  FEATURE_NAME: { path: ['feature', 'name'], value: (s) => s.feature.name },
};

export class FeatureStateService {
  constructor(
    private readonly audit: AuditService,
    private readonly outbox: WebhookOutbox,
  ) {}

  /**
   * What a change can alter in a state: enabled, value and multivariate shares. Taken
   * before a change (its "previous state") and after it.
   */
  async capture(tx: EntityManager, state: FeatureState): Promise<StateValues> {
    const shares = state.id
      ? await tx.find(
          MultivariateStateValue,
          { featureState: state.id },
          { populate: ['option'], orderBy: { option: { id: 'asc' } } },
        )
      : [];
    return {
      enabled: state.enabled,
      value: valueOf(state),
      allocations: shares.map((s) => ({
        id: s.id,
        optionId: s.option.id,
        optionValue: valueOf({ ...s.option, valueType: s.option.type }),
        percentageAllocation: Number(s.percentageAllocation),
      })),
    };
  }

  /** Environment defaults of an environment, optionally of some features, by feature id. */
  /** A page of an environment's default states, one per feature. */
  listDefaults(
    em: EntityManager,
    environment: Environment,
    args: FeatureStateListArgs,
  ): Promise<Page<FeatureState>> {
    const where: FilterQuery<FeatureState>[] = [
      { environment, identity: null, featureSegment: null },
    ];
    const filter = args.filter;
    if (filter?.featureIds) {
      const ids = filter.featureIds.map((id, i) => parseId(id, `filter.featureIds.${i}`));
      where.push({ feature: { $in: ids } });
    }
    if (filter?.enabled != null) where.push({ enabled: filter.enabled });
    const term = filter?.search?.trim();
    if (term) where.push({ feature: { name: containsText(term) } });
    return orderedPage(em, FeatureState, where, args, args.orderBy, STATE_KEYS, {
      populate: ['feature'],
    });
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
    await assertMayChangeFeature(em, p, await em.findOneOrFail(Feature, state.feature.id));
    return em.transactional(async (tx) => {
      const before = await this.capture(tx, state);
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

  /**
   * The audit record, the webhook deliveries and the document bump for a change to one
   * state, in the change's transaction. `before` is the state as captured before the change
   * (null for a new state); for a deletion, call this before deleting.
   */
  async recordChange(
    tx: EntityManager,
    p: PermissionService,
    state: FeatureState,
    log: string,
    before: StateValues | null,
    change: ChangeType = ChangeType.UPDATE,
  ): Promise<void> {
    const environment = await tx.findOneOrFail(Environment, state.environment.id);
    const project = await tx.findOneOrFail(Project, environment.project.id);
    const feature = await tx.findOneOrFail(Feature, state.feature.id);
    const after = change === ChangeType.DELETE ? null : await this.capture(tx, state);
    await this.audit.record(tx, p, {
      ...auditScope(project, environment),
      type: AuditObjectType.FEATURE_STATE,
      objectId: state.id,
      objectUuid: state.uuid,
      change,
      log: `${log}: ${feature.name}`,
      before: before && auditValues(before),
      after: after && auditValues(after),
    });
    await this.outbox.flagChanged(tx, p, {
      organisationId: project.organisation.id,
      environmentId: environment.id,
      event: WEBHOOK_EVENT[kindOf(state)][change],
      context: () => stateContext(tx, state, { feature, project, environment }),
      before,
      after,
    });
    touchEnvironments(tx, { environmentId: environment.id });
  }
  /**
   * Webhook events for a feature's environment defaults as a whole: FLAG_FEATURE_CREATED
   * once a new feature's states exist, FLAG_FEATURE_DELETED before they are deleted.
   */
  async announceDefaults(
    tx: EntityManager,
    p: PermissionService,
    feature: Feature,
    project: Project,
    what: 'created' | 'deleted',
  ): Promise<void> {
    const organisationId = project.organisation.id;
    if ((await this.outbox.receivers(tx, organisationId)).length === 0) return;
    const defaults = await tx.find(FeatureState, { feature, identity: null, featureSegment: null });
    for (const state of defaults) {
      if (!(await this.outbox.watches(tx, organisationId, state.environment.id))) continue;
      const environment = await tx.findOneOrFail(Environment, state.environment.id);
      const values = await this.capture(tx, state);
      await this.outbox.flagChanged(tx, p, {
        organisationId,
        environmentId: environment.id,
        event: WEBHOOK_EVENT.ENVIRONMENT_DEFAULT[what === 'created' ? 'CREATE' : 'DELETE'],
        context: () => stateContext(tx, state, { feature, project, environment }),
        before: what === 'created' ? null : values,
        after: what === 'created' ? values : null,
      });
    }
  }
}

/** The unchanging parts of a state's webhook payload. */
export async function stateContext(
  tx: EntityManager,
  state: FeatureState,
  known: {
    readonly feature: Feature;
    readonly project: Project;
    readonly environment: Environment;
  },
): Promise<StateContext> {
  const identity = state.identity ? await tx.findOneOrFail(Identity, state.identity.id) : null;
  const override = state.featureSegment
    ? await tx.findOneOrFail(FeatureSegment, state.featureSegment.id, { populate: ['segment'] })
    : null;
  return {
    feature: known.feature,
    project: known.project,
    environment: known.environment,
    identity: identity && { id: identity.id, identifier: identity.identifier },
    segmentOverride: override && {
      segment: override.segment,
      priority: override.priority,
    },
  };
}
