import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { Environment } from '../environments/environment.entity';
import { touchEnvironments } from '../environments/touch';
import { FeatureState } from '../features/feature-state.entity';
import type { FeatureStateService } from '../features/feature-state.service';
import { typedValue, valueOf } from '../features/feature-value';
import { Feature } from '../features/feature.entity';
import type { FeatureStateInput } from '../features/feature.inputs';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { ConflictError, ValidationError } from '../shared/errors';
import { parseId } from '../shared/id-arg';
import { byId, byProperty, orderedPage, type Page } from '../shared/cursor';
import { containsText } from '../shared/search';
import { Identity, Trait } from './identity.entity';
import {
  type CreateIdentityInput,
  type IdentityListArgs,
  MAX_TRAITS_PER_WRITE,
  type TraitInput,
} from './identity.inputs';
import {
  TRAIT_STRING_LIMIT,
  traitColumns,
  traitValueOf,
  type TypedTraitValue,
} from './trait-value';

/** What an audit record keeps of traits: key → value. */
function traitSnapshot(traits: readonly Trait[]): Record<string, string | number | boolean> {
  return Object.fromEntries(
    [...traits]
      .sort((a, b) => a.key.localeCompare(b.key))
      .map((t) => [t.key, traitValueOf(t).value]),
  );
}

/**
 * Checks what class-validator cannot see: the same key twice, and the length of string
 * values (the scalar only knows the type). `field` is the list's path, e.g. `input.traits`.
 */
function checkTraits(traits: readonly TraitInput[], field: string): void {
  if (traits.length > MAX_TRAITS_PER_WRITE)
    throw new ValidationError(field, `at most ${MAX_TRAITS_PER_WRITE} traits at a time`);
  const seen = new Set<string>();
  for (const [i, t] of traits.entries()) {
    if (seen.has(t.key))
      throw new ValidationError(`${field}.${i}.key`, `trait "${t.key}" is listed twice`);
    seen.add(t.key);
    const v = t.value;
    if (v && typeof v.value === 'string' && v.value.length > TRAIT_STRING_LIMIT)
      throw new ValidationError(
        `${field}.${i}.value`,
        `must be at most ${TRAIT_STRING_LIMIT} characters`,
      );
  }
}

/**
 * Identities of an environment, their traits, and their overrides of features. Identity and
 * trait changes leave the environment document alone (identities are evaluated per
 * request); identity overrides are part of it (`identity_overrides`), so they bump it.
 */
export class IdentityService {
  constructor(
    private readonly audit: AuditService,
    private readonly featureStates: FeatureStateService,
  ) {}

  /** A page of an environment's identities. */
  list(
    em: EntityManager,
    environment: Environment,
    args: IdentityListArgs,
  ): Promise<Page<Identity>> {
    const where: FilterQuery<Identity>[] = [{ environment }];
    const term = args.filter?.search?.trim();
    if (term) where.push({ identifier: containsText(term) });
    return orderedPage(em, Identity, where, args, args.orderBy, {
      ID: byId,
      IDENTIFIER: byProperty<Identity>('identifier'),
    });
  }

  traitsOf(em: EntityManager, identity: Identity): Promise<Trait[]> {
    return em.find(Trait, { identity }, { orderBy: { key: 'asc' } });
  }

  /** The identity's overrides, by feature id. */
  overridesOf(em: EntityManager, identity: Identity): Promise<FeatureState[]> {
    return em.find(FeatureState, { identity }, { orderBy: { feature: { id: 'asc' } } });
  }

  async create(
    em: EntityManager,
    p: PermissionService,
    environment: Environment,
    input: CreateIdentityInput,
  ): Promise<Identity> {
    checkTraits(input.traits, 'input.traits');
    return em.transactional(async (tx) => {
      const clash = await tx.count(Identity, { environment, identifier: input.identifier });
      if (clash > 0)
        throw new ConflictError(
          'an identity with this identifier already exists in this environment',
          'input.identifier',
        );
      const identity = tx.create(Identity, { environment, identifier: input.identifier });
      const traits = input.traits
        .filter((t): t is TraitInput & { value: TypedTraitValue } => t.value != null)
        .map((t) => tx.create(Trait, { identity, key: t.key, ...traitColumns(t.value) }));
      await tx.flush();
      await this.record(tx, p, identity, ChangeType.CREATE, 'New identity created', null, {
        identifier: identity.identifier,
        traits: traitSnapshot(traits),
      });
      return identity;
    });
  }

  /** Upserts each trait given; a null value deletes that trait. Others are kept. */
  async updateTraits(
    em: EntityManager,
    p: PermissionService,
    identity: Identity,
    traits: readonly TraitInput[],
  ): Promise<Identity> {
    checkTraits(traits, 'traits');
    return em.transactional(async (tx) => {
      const existing = await tx.find(Trait, { identity });
      const before = traitSnapshot(existing);
      const byKey = new Map(existing.map((t) => [t.key, t]));
      for (const t of traits) {
        const row = byKey.get(t.key);
        if (t.value == null) {
          if (row) tx.remove(row);
          byKey.delete(t.key);
        } else if (row) {
          Object.assign(row, traitColumns(t.value));
        } else {
          byKey.set(t.key, tx.create(Trait, { identity, key: t.key, ...traitColumns(t.value) }));
        }
      }
      await tx.flush();
      await this.record(
        tx,
        p,
        identity,
        ChangeType.UPDATE,
        'Identity traits updated',
        { traits: before },
        { traits: traitSnapshot([...byKey.values()]) },
      );
      return identity;
    });
  }

  /** Deletes an identity with its traits and overrides. */
  async delete(em: EntityManager, p: PermissionService, identity: Identity): Promise<void> {
    await em.transactional(async (tx) => {
      const traits = await tx.find(Trait, { identity });
      const overrides = await tx.count(FeatureState, { identity });
      await this.record(
        tx,
        p,
        identity,
        ChangeType.DELETE,
        'Identity deleted',
        { identifier: identity.identifier, traits: traitSnapshot(traits), overrides },
        null,
      );
      await tx.nativeDelete(Identity, { id: identity.id });
      // Its overrides were part of the environment document.
      if (overrides > 0) touchEnvironments(tx, { environmentId: identity.environment.id });
    });
  }

  /**
   * Creates or changes the identity's override of a feature. A new override starts from the
   * environment default's enabled and value; `input` is applied on top.
   */
  async setOverride(
    em: EntityManager,
    p: PermissionService,
    identity: Identity,
    rawFeatureId: string,
    input: FeatureStateInput,
  ): Promise<FeatureState> {
    const featureId = parseId(rawFeatureId, 'featureId');
    return em.transactional(async (tx) => {
      const environment = await tx.findOneOrFail(Environment, identity.environment.id);
      const feature = await tx.findOne(Feature, {
        id: featureId,
        project: environment.project.id,
      });
      if (!feature)
        throw new ValidationError(
          'featureId',
          `no feature with id ${featureId} in the identity's project`,
        );
      let state = await tx.findOne(FeatureState, { feature, environment, identity });
      const before = state ? await this.featureStates.capture(tx, state) : null;
      if (!state) {
        const base = await tx.findOne(FeatureState, {
          feature,
          environment,
          identity: null,
          featureSegment: null,
        });
        state = tx.create(FeatureState, {
          feature,
          environment,
          identity,
          enabled: base?.enabled ?? false,
          ...typedValue(base ? valueOf(base) : null),
        });
      }
      await this.featureStates.apply(tx, state, input, 'input');
      await tx.flush();
      await this.featureStates.recordChange(
        tx,
        p,
        state,
        `Identity override ${before ? 'updated' : 'created'} for '${identity.identifier}'`,
        before,
        before ? ChangeType.UPDATE : ChangeType.CREATE,
      );
      return state;
    });
  }

  /** Deletes the identity's override of a feature; returns the deleted state's id. */
  async deleteOverride(
    em: EntityManager,
    p: PermissionService,
    identity: Identity,
    rawFeatureId: string,
  ): Promise<string> {
    const featureId = parseId(rawFeatureId, 'featureId');
    return em.transactional(async (tx) => {
      const state = await tx.findOne(FeatureState, { feature: featureId, identity });
      if (!state)
        throw new ValidationError(
          'featureId',
          `this identity has no override of a feature with id ${featureId}`,
        );
      await this.featureStates.recordChange(
        tx,
        p,
        state,
        `Identity override deleted for '${identity.identifier}'`,
        await this.featureStates.capture(tx, state),
        ChangeType.DELETE,
      );
      await tx.nativeDelete(FeatureState, { id: state.id });
      return String(state.id);
    });
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    identity: Identity,
    change: ChangeType,
    log: string,
    before: Record<string, unknown> | null,
    after: Record<string, unknown> | null,
  ): Promise<void> {
    const environment = await tx.findOneOrFail(Environment, identity.environment.id);
    const project = await tx.findOneOrFail(Project, environment.project.id);
    await this.audit.record(tx, p, {
      ...auditScope(project, environment),
      type: AuditObjectType.IDENTITY,
      objectId: identity.id,
      objectUuid: identity.uuid,
      change,
      log: `${log}: ${identity.identifier}`,
      before,
      after,
    });
  }
}
