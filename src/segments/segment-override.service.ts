import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { Environment } from '../environments/environment.entity';
import { touchEnvironments } from '../environments/touch';
import { FeatureSegment, FeatureState } from '../features/feature-state.entity';
import type { FeatureStateService } from '../features/feature-state.service';
import { Feature } from '../features/feature.entity';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import {
  ConflictError,
  LimitExceededError,
  NotFoundError,
  ValidationError,
} from '../shared/errors';
import { byId, byProperty, orderedPage, type Page } from '../shared/cursor';
import { parseId } from '../shared/id-arg';
import type {
  CreateSegmentOverrideInput,
  SegmentOverrideListArgs,
  UpdateSegmentOverrideInput,
} from './segment.inputs';
import { Segment } from './segment.entity';

/**
 * A feature or segment of the environment's project, named by an argument. Segment
 * overrides are managed with environment permissions (MANAGE_SEGMENT_OVERRIDES), so the
 * caller, who may see the environment, may name its project's features and segments without
 * VIEW_PROJECT; anything else reads as not there.
 */
async function ofProject<T extends Feature | Segment>(
  em: EntityManager,
  entity: new (...args: never[]) => T,
  environment: Environment,
  rawId: unknown,
  field: string,
  operation: 'query' | 'mutation',
  label: string,
): Promise<T> {
  const id = parseId(rawId, field);
  const found = await em.findOne(entity as typeof Feature, {
    id,
    project: environment.project.id,
  });
  if (!found) {
    throw operation === 'query'
      ? new NotFoundError(label, field)
      : new ValidationError(field, `no ${label} with id ${id} in this environment's project`);
  }
  return found as T;
}

/** A feature's overrides in an environment, strongest first. */
function overridesOf(tx: EntityManager, featureId: number, environmentId: number) {
  return tx.find(
    FeatureSegment,
    { feature: featureId, environment: environmentId },
    { orderBy: { priority: 'asc', id: 'asc' } },
  );
}

/** Gives a feature's overrides in an environment the priorities 0..n-1, keeping their order. */
export async function renumberOverrides(
  tx: EntityManager,
  featureId: number,
  environmentId: number,
): Promise<FeatureSegment[]> {
  const list = await overridesOf(tx, featureId, environmentId);
  for (const [i, o] of list.entries()) if (o.priority !== i) o.priority = i;
  await tx.flush();
  return list;
}

/**
 * Segment overrides: a FeatureSegment (segment, environment, priority) and the FeatureState
 * it anchors. Per feature and environment, priorities are always 0..n-1 (0 wins).
 */
export class SegmentOverrideService {
  constructor(
    private readonly audit: AuditService,
    private readonly featureStates: FeatureStateService,
  ) {}

  /**
   * The feature an id names, if the caller can see it and it is in the environment's
   * project; otherwise it fails as if the id were unknown (NOT_FOUND in a query).
   */
  async featureOf(
    em: EntityManager,
    p: PermissionService,
    environment: Environment,
    rawId: string,
    field: string,
    operation: 'query' | 'mutation',
  ): Promise<Feature> {
    return ofProject(em, Feature, environment, rawId, field, operation, 'feature');
  }

  /** A page of a feature's overrides in an environment. */
  list(
    em: EntityManager,
    environment: Environment,
    feature: Feature,
    args: SegmentOverrideListArgs,
  ): Promise<Page<FeatureSegment>> {
    const where: FilterQuery<FeatureSegment>[] = [
      { feature: feature.id, environment: environment.id },
    ];
    return orderedPage(em, FeatureSegment, where, args, args.orderBy, {
      PRIORITY: byProperty<FeatureSegment>('priority'),
      ID: byId,
    });
  }

  stateOf(em: EntityManager, override: FeatureSegment): Promise<FeatureState> {
    return em.findOneOrFail(FeatureState, { featureSegment: override.id });
  }

  async create(
    em: EntityManager,
    p: PermissionService,
    environment: Environment,
    input: CreateSegmentOverrideInput,
  ): Promise<FeatureSegment> {
    // Visibility is checked outside the transaction: the permission service reads through
    // the request's EntityManager, and the embedded database has a single connection.
    const feature = await this.featureOf(
      em,
      p,
      environment,
      input.featureId,
      'input.featureId',
      'mutation',
    );
    const segment = await ofProject(
      em,
      Segment,
      environment,
      input.segmentId,
      'input.segmentId',
      'mutation',
      'segment',
    );
    if (segment.feature && segment.feature.id !== feature.id)
      throw new ValidationError(
        'input.segmentId',
        'this segment is specific to another feature and can only override that one',
      );
    return em.transactional(async (tx) => {
      const siblings = await overridesOf(tx, feature.id, environment.id);
      if (siblings.some((o) => o.segment.id === segment.id))
        throw new ConflictError(
          'this feature already has an override for this segment in this environment',
          'input.segmentId',
        );
      const project = await tx.findOneOrFail(Project, environment.project.id);
      if ((await tx.count(FeatureSegment, { environment })) >= project.maxSegmentOverridesAllowed)
        throw new LimitExceededError(
          `an environment of this project may have at most ${project.maxSegmentOverridesAllowed} segment overrides`,
        );
      const at = input.priority ?? siblings.length;
      if (at > siblings.length)
        throw new ValidationError('input.priority', `must be between 0 and ${siblings.length}`);

      const override = tx.create(FeatureSegment, { feature, segment, environment, priority: at });
      // Inserting at a priority moves the overrides from there on down by one.
      siblings.splice(at, 0, override);
      for (const [i, o] of siblings.entries()) o.priority = i;
      const state = tx.create(FeatureState, { feature, environment, featureSegment: override });
      await this.featureStates.apply(tx, state, input, 'input');
      await tx.flush();
      await this.featureStates.recordChange(
        tx,
        p,
        state,
        `Segment override created for segment '${segment.name}'`,
        null,
        ChangeType.CREATE,
      );
      return override;
    });
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    override: FeatureSegment,
    input: UpdateSegmentOverrideInput,
  ): Promise<FeatureSegment> {
    return em.transactional(async (tx) => {
      const state = await this.stateOf(tx, override);
      const segment = await tx.findOneOrFail(Segment, override.segment.id);
      const before = await this.featureStates.capture(tx, state);
      await this.featureStates.apply(tx, state, input, 'input');
      await tx.flush();
      await this.featureStates.recordChange(
        tx,
        p,
        state,
        `Segment override updated for segment '${segment.name}'`,
        before,
      );
      return override;
    });
  }

  /** Deletes an override and its state; the ones after it move up. */
  async delete(em: EntityManager, p: PermissionService, override: FeatureSegment): Promise<void> {
    await em.transactional(async (tx) => {
      const state = await this.stateOf(tx, override);
      const segment = await tx.findOneOrFail(Segment, override.segment.id);
      await this.featureStates.recordChange(
        tx,
        p,
        state,
        `Segment override deleted for segment '${segment.name}'`,
        await this.featureStates.capture(tx, state),
        ChangeType.DELETE,
      );
      await tx.nativeDelete(FeatureSegment, { id: override.id });
      await renumberOverrides(tx, override.feature.id, override.environment.id);
    });
  }

  /**
   * Puts a feature's overrides in an environment in the order given: `ids` must list exactly
   * the current overrides; their priorities become 0..n-1.
   */
  async reorder(
    em: EntityManager,
    p: PermissionService,
    environment: Environment,
    feature: Feature,
    rawIds: readonly string[],
  ): Promise<FeatureSegment[]> {
    const ids = rawIds.map((id, i) => parseId(id, `ids.${i}`));
    const seen = new Set<number>();
    for (const [i, id] of ids.entries()) {
      if (seen.has(id)) throw new ValidationError(`ids.${i}`, `override ${id} is listed twice`);
      seen.add(id);
    }
    return em.transactional(async (tx) => {
      const current = await overridesOf(tx, feature.id, environment.id);
      const byId = new Map(current.map((o) => [o.id, o]));
      const stray = ids.findIndex((id) => !byId.has(id));
      if (stray >= 0)
        throw new ValidationError(
          `ids.${stray}`,
          `no override of this feature in this environment with id ${ids[stray]}`,
        );
      if (ids.length !== current.length)
        throw new ValidationError(
          'ids',
          `must list all ${current.length} overrides of this feature in this environment`,
        );
      const before = current.map((o) => o.id);
      const ordered = ids.map((id) => byId.get(id)!);
      for (const [i, o] of ordered.entries()) o.priority = i;
      await tx.flush();
      const project = await tx.findOneOrFail(Project, environment.project.id);
      await this.audit.record(tx, p, {
        ...auditScope(project, environment),
        type: AuditObjectType.FEATURE,
        objectId: feature.id,
        objectUuid: feature.uuid,
        change: ChangeType.UPDATE,
        log: `Segment override priorities changed for feature: ${feature.name}`,
        before: { segmentOverrideIds: before },
        after: { segmentOverrideIds: ids },
      });
      touchEnvironments(tx, { environmentId: environment.id });
      return ordered;
    });
  }
}
