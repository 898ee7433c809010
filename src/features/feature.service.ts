import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import { AuditObjectType, type AuditService, ChangeType, auditScope } from '../audit/audit.service';
import { Environment } from '../environments/environment.entity';
import { touchEnvironments } from '../environments/touch';
import { UserGroup } from '../groups/user-group.entity';
import { OrganisationMembership } from '../organisations/membership.entity';
import type { PermissionService } from '../permissions/permission.service';
import { Project } from '../projects/project.entity';
import { assertMayChangeFeature } from './feature-owners';
import { Tag } from '../projects/tag.entity';
import { pick } from '../shared/apply-settings';
import { ConflictError, LimitExceededError, ValidationError } from '../shared/errors';
import { parseId } from '../shared/id-arg';
import { byId, byProperty, orderedPage, type Page } from '../shared/cursor';
import { containsText, equalsText } from '../shared/search';
import { User } from '../users/user.entity';
import { FeatureState, MultivariateStateValue } from './feature-state.entity';
import type { FeatureStateService } from './feature-state.service';
import { optionColumns, typeInitialValue } from './feature-value';
import { Feature, FeatureType } from './feature.entity';
import type {
  CreateFeatureInput,
  FeatureListArgs,
  MultivariateOptionInput,
  UpdateFeatureInput,
  UpdateMultivariateOptionInput,
} from './feature.inputs';
import { MultivariateOption } from './multivariate-option.entity';

const AUDITED = [
  'name',
  'type',
  'initialValue',
  'defaultEnabled',
  'description',
  'isArchived',
  'isServerKeyOnly',
] as const;

/** Sum of shares, in hundredths, so that 33.33 + 33.33 + 33.34 is exactly 100. */
export function hundredths(values: readonly (number | string)[]): number {
  return values.reduce<number>((sum, v) => sum + Math.round(Number(v) * 100), 0);
}

const FEATURE_KEYS = { ID: byId, NAME: byProperty<Feature>('name') };

export class FeatureService {
  constructor(
    private readonly audit: AuditService,
    private readonly featureStates: FeatureStateService,
  ) {}

  /** A page of a project's features (the caller may view the project: they see them all). */
  list(em: EntityManager, project: Project, args: FeatureListArgs): Promise<Page<Feature>> {
    const where: FilterQuery<Feature>[] = [{ project }];
    const filter = args.filter;
    if (!filter?.includeArchived) where.push({ isArchived: false });
    const term = filter?.search?.trim();
    if (term) where.push({ name: containsText(term) });
    for (const [i, raw] of (filter?.tagIds ?? []).entries()) {
      where.push({ tags: { $some: { id: parseId(raw, `filter.tagIds.${i}`) } } });
    }
    return orderedPage(em, Feature, where, args, args.orderBy, FEATURE_KEYS);
  }

  async create(
    em: EntityManager,
    p: PermissionService,
    project: Project,
    input: CreateFeatureInput,
  ): Promise<Feature> {
    const name = input.name.trim();
    return em.transactional(async (tx) => {
      await this.assertNameFree(tx, project, name, 'input.name');
      const count = await tx.count(Feature, { project });
      if (count >= project.maxFeaturesAllowed)
        throw new LimitExceededError(
          `this project may have at most ${project.maxFeaturesAllowed} features`,
        );
      const feature = tx.create(Feature, {
        project,
        name,
        initialValue: input.initialValue ?? null,
        defaultEnabled: input.defaultEnabled,
        description: input.description ?? null,
        isServerKeyOnly: input.isServerKeyOnly,
      });
      await this.setRelations(tx, project, feature, input, 'input');
      if (input.ownerIds === undefined && p.userId !== undefined) {
        feature.owners.add(tx.getReference(User, p.userId));
      }
      // Every environment of the project gets the feature's default state.
      const environments = await tx.find(Environment, { project });
      for (const environment of environments) {
        tx.create(FeatureState, {
          feature,
          environment,
          enabled: project.preventFlagDefaults ? false : feature.defaultEnabled,
          ...typeInitialValue(project.preventFlagDefaults ? null : feature.initialValue),
        });
      }
      await tx.flush();
      const options = input.multivariateOptions ?? [];
      this.assertDefaultShares(
        options.map((o) => o.defaultPercentageAllocation),
        'input.multivariateOptions',
      );
      for (const [i, option] of options.entries()) {
        await this.addOption(tx, feature, option, `input.multivariateOptions.${i}`);
      }
      await tx.flush();
      await this.record(
        tx,
        p,
        project,
        feature,
        ChangeType.CREATE,
        `New Flag / Remote Config created: ${name}`,
        null,
      );
      await this.featureStates.announceDefaults(tx, p, feature, project, 'created');
      touchEnvironments(tx, { projectId: project.id });
      return feature;
    });
  }

  async update(
    em: EntityManager,
    p: PermissionService,
    feature: Feature,
    input: UpdateFeatureInput,
  ): Promise<Feature> {
    await assertMayChangeFeature(em, p, feature);
    return em.transactional(async (tx) => {
      const project = await tx.findOneOrFail(Project, feature.project.id);
      const before = pick(feature, AUDITED);
      if (input.name !== undefined) {
        const name = input.name.trim();
        if (name.toLowerCase() !== feature.name.toLowerCase())
          await this.assertNameFree(tx, project, name, 'input.name');
        feature.name = name;
      }
      for (const key of ['defaultEnabled', 'isArchived', 'isServerKeyOnly'] as const) {
        const value = input[key];
        if (value === null) throw new ValidationError(`input.${key}`, 'must not be null');
        if (value !== undefined) feature[key] = value;
      }
      if (input.initialValue !== undefined) feature.initialValue = input.initialValue;
      if (input.description !== undefined) feature.description = input.description;
      await this.setRelations(tx, project, feature, input, 'input');
      await tx.flush();
      await this.record(
        tx,
        p,
        project,
        feature,
        ChangeType.UPDATE,
        `Flag / Remote Config updated: ${feature.name}`,
        before,
      );
      touchEnvironments(tx, { projectId: project.id });
      return feature;
    });
  }

  async delete(em: EntityManager, p: PermissionService, feature: Feature): Promise<void> {
    await assertMayChangeFeature(em, p, feature);
    await em.transactional(async (tx) => {
      const project = await tx.findOneOrFail(Project, feature.project.id);
      await this.audit.record(tx, p, {
        ...auditScope(project),
        type: AuditObjectType.FEATURE,
        objectId: feature.id,
        objectUuid: feature.uuid,
        change: ChangeType.DELETE,
        log: `Flag / Remote Config deleted: ${feature.name}`,
        before: pick(feature, AUDITED),
      });
      await this.featureStates.announceDefaults(tx, p, feature, project, 'deleted');
      touchEnvironments(tx, { projectId: project.id });
      await tx.nativeDelete(Feature, { id: feature.id });
    });
  }

  async createOption(
    em: EntityManager,
    p: PermissionService,
    feature: Feature,
    input: MultivariateOptionInput,
  ): Promise<MultivariateOption> {
    return em.transactional(async (tx) => {
      const existing = await tx.find(MultivariateOption, { feature });
      this.assertDefaultShares(
        [...existing.map((o) => o.defaultPercentageAllocation), input.defaultPercentageAllocation],
        'input.defaultPercentageAllocation',
      );
      const option = await this.addOption(tx, feature, input, 'input');
      await tx.flush();
      await this.recordOptionChange(tx, p, feature, `Multivariate option added to ${feature.name}`);
      return option;
    });
  }

  async updateOption(
    em: EntityManager,
    p: PermissionService,
    option: MultivariateOption,
    input: UpdateMultivariateOptionInput,
  ): Promise<MultivariateOption> {
    return em.transactional(async (tx) => {
      const feature = await tx.findOneOrFail(Feature, option.feature.id);
      if (input.key != null && input.key !== option.key) {
        await this.assertKeyFree(tx, feature, input.key, 'input.key');
        option.key = input.key;
      }
      if (input.value !== undefined) Object.assign(option, optionColumns(input.value));
      if (input.defaultPercentageAllocation != null) {
        const others = await tx.find(MultivariateOption, { feature, id: { $ne: option.id } });
        this.assertDefaultShares(
          [...others.map((o) => o.defaultPercentageAllocation), input.defaultPercentageAllocation],
          'input.defaultPercentageAllocation',
        );
        option.defaultPercentageAllocation = String(input.defaultPercentageAllocation);
      }
      await tx.flush();
      await this.recordOptionChange(
        tx,
        p,
        feature,
        `Multivariate option updated on ${feature.name}`,
      );
      return option;
    });
  }

  async deleteOption(
    em: EntityManager,
    p: PermissionService,
    option: MultivariateOption,
  ): Promise<void> {
    await em.transactional(async (tx) => {
      const feature = await tx.findOneOrFail(Feature, option.feature.id);
      await tx.nativeDelete(MultivariateOption, { id: option.id });
      if ((await tx.count(MultivariateOption, { feature })) === 0) {
        feature.type = FeatureType.STANDARD;
      }
      await tx.flush();
      await this.recordOptionChange(
        tx,
        p,
        feature,
        `Multivariate option removed from ${feature.name}`,
      );
    });
  }

  /** Adds an option, and a share of it to every environment default of the feature. */
  private async addOption(
    tx: EntityManager,
    feature: Feature,
    input: MultivariateOptionInput,
    field: string,
  ): Promise<MultivariateOption> {
    const key = input.key ?? (await this.freeKey(tx, feature));
    await this.assertKeyFree(tx, feature, key, `${field}.key`);
    const option = tx.create(MultivariateOption, {
      feature,
      key,
      defaultPercentageAllocation: String(input.defaultPercentageAllocation),
      ...optionColumns(input.value),
    });
    feature.type = FeatureType.MULTIVARIATE;
    const defaults = await tx.find(FeatureState, { feature, identity: null, featureSegment: null });
    const shares = await tx.find(MultivariateStateValue, { featureState: { $in: defaults } });
    for (const state of defaults) {
      const used = hundredths(
        shares.filter((s) => s.featureState.id === state.id).map((s) => s.percentageAllocation),
      );
      // Never push a state past 100%: it gets what is left, at most the default share.
      const share = Math.min(Math.round(input.defaultPercentageAllocation * 100), 10_000 - used);
      tx.create(MultivariateStateValue, {
        featureState: state,
        option,
        percentageAllocation: String(Math.max(share, 0) / 100),
      });
    }
    await tx.flush();
    return option;
  }

  private async freeKey(tx: EntityManager, feature: Feature): Promise<string> {
    const taken = new Set(
      (await tx.find(MultivariateOption, { feature }, { fields: ['key'] })).map((o) => o.key),
    );
    for (let n = taken.size + 1; ; n++) if (!taken.has(`variant-${n}`)) return `variant-${n}`;
  }

  private async assertKeyFree(tx: EntityManager, feature: Feature, key: string, field: string) {
    if (feature.id !== undefined && (await tx.count(MultivariateOption, { feature, key })) > 0)
      throw new ConflictError(`this feature already has an option with key "${key}"`, field);
  }

  private assertDefaultShares(values: readonly (number | string)[], field: string): void {
    if (hundredths(values) > 10_000)
      throw new ValidationError(field, 'default percentage allocations must add up to at most 100');
  }

  private async assertNameFree(tx: EntityManager, project: Project, name: string, field: string) {
    const clash = await tx.count(Feature, { project, name: equalsText(name) });
    if (clash > 0) throw new ConflictError('a feature with this name already exists', field);
  }

  /** Tags, owners and group owners, each replaced when given; all must belong here. */
  private async setRelations(
    tx: EntityManager,
    project: Project,
    feature: Feature,
    input: { tagIds?: string[]; ownerIds?: string[]; groupOwnerIds?: string[] },
    prefix: string,
  ): Promise<void> {
    if (input.tagIds) {
      const ids = input.tagIds.map((id, i) => parseId(id, `${prefix}.tagIds.${i}`));
      const tags = await tx.find(Tag, { id: { $in: ids }, project });
      assertAllFound(ids, tags, `${prefix}.tagIds`, 'tag in this project');
      feature.tags.set(tags);
    }
    if (input.ownerIds) {
      const ids = input.ownerIds.map((id, i) => parseId(id, `${prefix}.ownerIds.${i}`));
      const members = await tx.find(OrganisationMembership, {
        user: { $in: ids },
        organisation: project.organisation,
      });
      assertAllFound(
        ids,
        members.map((m) => ({ id: m.user.id })),
        `${prefix}.ownerIds`,
        'member of this organisation',
      );
      feature.owners.set(ids.map((id) => tx.getReference(User, id)));
    }
    if (input.groupOwnerIds) {
      const ids = input.groupOwnerIds.map((id, i) => parseId(id, `${prefix}.groupOwnerIds.${i}`));
      const groups = await tx.find(UserGroup, {
        id: { $in: ids },
        organisation: project.organisation,
      });
      assertAllFound(ids, groups, `${prefix}.groupOwnerIds`, 'group of this organisation');
      feature.groupOwners.set(groups);
    }
  }

  private async recordOptionChange(
    tx: EntityManager,
    p: PermissionService,
    feature: Feature,
    log: string,
  ): Promise<void> {
    const project = await tx.findOneOrFail(Project, feature.project.id);
    await this.record(tx, p, project, feature, ChangeType.UPDATE, log, null);
    touchEnvironments(tx, { projectId: project.id });
  }

  private async record(
    tx: EntityManager,
    p: PermissionService,
    project: Project,
    feature: Feature,
    change: ChangeType,
    log: string,
    before: Record<string, unknown> | null,
  ): Promise<void> {
    await this.audit.record(tx, p, {
      ...auditScope(project),
      type: AuditObjectType.FEATURE,
      objectId: feature.id,
      objectUuid: feature.uuid,
      change,
      log,
      before,
      after: pick(feature, AUDITED),
    });
  }
}

function assertAllFound(
  ids: readonly number[],
  found: readonly { id: number }[],
  field: string,
  what: string,
): void {
  const have = new Set(found.map((f) => f.id));
  const missing = ids.findIndex((id) => !have.has(id));
  if (missing >= 0)
    throw new ValidationError(`${field}.${missing}`, `no ${what} with id ${ids[missing]}`);
}
