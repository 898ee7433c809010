import {
  Arg,
  Args,
  Ctx,
  Field,
  Float,
  FieldResolver,
  ID,
  Mutation,
  ObjectType,
  Query,
  Resolver,
  Root,
  registerEnumType,
} from 'type-graphql';
import { Environment } from '../environments/environment.entity';
import type { GraphQLContext } from '../graphql/context';
import {
  Authenticated,
  permissionOn,
  permissionOnEach,
  type ResourceType,
} from '../permissions/requirement';
import { allOrNothing, loadAll } from '../shared/bulk';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import { DenyByDefault, Requires, TypeRequires } from '../permissions/requires.decorator';
import { Project } from '../projects/project.entity';
import { Tag } from '../projects/tag.entity';
import { NotFoundError, ValidationError } from '../shared/errors';
import { parseId } from '../shared/id-arg';
import { User } from '../users/user.entity';
import { FeatureSegment, FeatureState, MultivariateStateValue } from './feature-state.entity';
import { kindOf, type StateKind } from './feature-state.service';
import { type FlagValue, valueOf } from './feature-value';
import { Feature } from './feature.entity';
import {
  CreateFeatureInput,
  FeatureListArgs,
  FeatureStateListArgs,
  FeatureStateChangeInput,
  FeatureStateInput,
  MultivariateOptionInput,
  UpdateFeatureInput,
  UpdateMultivariateOptionInput,
} from './feature.inputs';
import { FlagValueScalar } from './flag-value.scalar';
import { MultivariateOption } from './multivariate-option.entity';

const on = (type: ResourceType, arg: string) => ({ arg, type });

export const FeatureConnection = connectionType(Feature, 'Feature');
export const FeatureStateConnection = connectionType(FeatureState, 'FeatureState');

/** The pivot tables of Feature.tags and Feature.owners (feature.entity.ts). */
const FEATURE_TAGS = { table: 'feature_tags', owner: 'feature_id', target: 'tag_id' } as const;
const FEATURE_OWNERS = { table: 'feature_owners', owner: 'feature_id', target: 'user_id' } as const;

@DenyByDefault()
@Resolver(() => Feature)
export class FeatureResolver {
  @Query(() => FeatureConnection, {
    description: "A project's features (archived ones only when the filter asks).",
  })
  @Requires(permissionOn('VIEW_PROJECT', on('project', 'projectId')))
  async features(
    @Args() args: FeatureListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<Feature>> {
    const project = await em.findOneOrFail(Project, parseId(args.projectId, 'projectId'));
    return toConnection(await services.features.list(em, project, args));
  }

  @Query(() => Feature)
  @Requires(permissionOn('VIEW_PROJECT', on('feature', 'id')))
  feature(@Arg('id', () => ID) id: string, @Ctx() { em }: GraphQLContext): Promise<Feature> {
    return em.findOneOrFail(Feature, parseId(id, 'id'));
  }

  @Mutation(() => Feature, {
    description: 'Creates a feature with a default state in every environment of its project.',
  })
  @Requires(permissionOn('CREATE_FEATURE', on('project', 'input.projectId')))
  async createFeature(
    @Arg('input') input: CreateFeatureInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Feature> {
    const project = await em.findOneOrFail(Project, parseId(input.projectId, 'input.projectId'));
    return services.features.create(em, permissions, project, input);
  }

  @Mutation(() => Feature, { description: 'Changes, archives or restores a feature.' })
  @Requires(permissionOn('CREATE_FEATURE', on('feature', 'id')))
  async updateFeature(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateFeatureInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Feature> {
    const feature = await em.findOneOrFail(Feature, parseId(id, 'id'));
    return services.features.update(em, permissions, feature, input);
  }

  @Mutation(() => ID, { description: 'Deletes a feature and all its states; returns its id.' })
  @Requires(permissionOn('DELETE_FEATURE', on('feature', 'id')))
  async deleteFeature(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const feature = await em.findOneOrFail(Feature, parseId(id, 'id'));
    await services.features.delete(em, permissions, feature);
    return id;
  }

  @Mutation(() => MultivariateOption, {
    description: 'Adds a multivariate option; every environment default gets its default share.',
  })
  @Requires(permissionOn('CREATE_FEATURE', on('feature', 'featureId')))
  async createMultivariateOption(
    @Arg('featureId', () => ID) featureId: string,
    @Arg('input') input: MultivariateOptionInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<MultivariateOption> {
    const feature = await em.findOneOrFail(Feature, parseId(featureId, 'featureId'));
    return services.features.createOption(em, permissions, feature, input);
  }

  @Mutation(() => MultivariateOption)
  @Requires(permissionOn('CREATE_FEATURE', on('multivariateOption', 'id')))
  async updateMultivariateOption(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateMultivariateOptionInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<MultivariateOption> {
    const option = await em.findOneOrFail(MultivariateOption, parseId(id, 'id'));
    return services.features.updateOption(em, permissions, option, input);
  }

  @Mutation(() => ID, { description: 'Removes a multivariate option; returns its id.' })
  @Requires(permissionOn('CREATE_FEATURE', on('multivariateOption', 'id')))
  async deleteMultivariateOption(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const option = await em.findOneOrFail(MultivariateOption, parseId(id, 'id'));
    await services.features.deleteOption(em, permissions, option);
    return id;
  }

  @Mutation(() => [Feature], {
    description:
      'Archives (or, with archived: false, restores) features: all or none. Needs CREATE_FEATURE on each.',
  })
  @Requires(permissionOnEach('CREATE_FEATURE', { arg: 'ids.*', type: 'feature' }))
  async archiveFeatures(
    @Arg('ids', () => [ID]) ids: string[],
    @Arg('archived', { defaultValue: true }) archived: boolean,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Feature[]> {
    const features = await loadAll(em, Feature, ids, 'ids');
    return allOrNothing(em, features, 'ids', (tx, feature) =>
      services.features.update(tx, permissions, feature, { isArchived: archived }),
    );
  }

  @Mutation(() => [ID], {
    description:
      'Deletes features with all their states: all or none. Needs DELETE_FEATURE on each.',
  })
  @Requires(permissionOnEach('DELETE_FEATURE', { arg: 'ids.*', type: 'feature' }))
  async deleteFeatures(
    @Arg('ids', () => [ID]) ids: string[],
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string[]> {
    const features = await loadAll(em, Feature, ids, 'ids');
    await allOrNothing(em, features, 'ids', (tx, feature) =>
      services.features.delete(tx, permissions, feature),
    );
    return features.map((f) => String(f.id));
  }

  @FieldResolver(() => Project)
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  project(@Root() feature: Feature, @Ctx() { loaders }: GraphQLContext): Promise<Project> {
    return loaders.one(Project, feature.project.id);
  }

  @FieldResolver(() => [Tag])
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  tags(@Root() feature: Feature, @Ctx() { loaders }: GraphQLContext): Promise<Tag[]> {
    return loaders.related(Tag, FEATURE_TAGS, feature.id, (a, b) => a.label.localeCompare(b.label));
  }

  @FieldResolver(() => [User])
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  owners(@Root() feature: Feature, @Ctx() { loaders }: GraphQLContext): Promise<User[]> {
    return loaders.related(User, FEATURE_OWNERS, feature.id, (a, b) => a.id - b.id);
  }

  @FieldResolver(() => [MultivariateOption])
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  multivariateOptions(
    @Root() feature: Feature,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<MultivariateOption[]> {
    return loaders.children(MultivariateOption, 'feature', feature.id, { orderBy: { id: 'asc' } });
  }

  @FieldResolver(() => [FeatureState], {
    description:
      "The feature's default state in each of these environments (identity and segment overrides aside), in the order given.",
  })
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  async states(
    @Root() feature: Feature,
    @Arg('environmentIds', () => [ID]) environmentIds: string[],
    @Ctx() { loaders, permissions }: GraphQLContext,
  ): Promise<FeatureState[]> {
    if (environmentIds.length > 20) {
      throw new ValidationError('environmentIds', 'name at most 20 environments');
    }
    const ids = environmentIds.map((id, i) => parseId(id, `environmentIds.${i}`));
    const environments = await Promise.all(
      ids.map((id) => loaders.one(Environment, id).catch(() => null)),
    );
    for (const environment of environments) {
      // Unknown and invisible environments are answered alike.
      if (!environment || !(await permissions.can('VIEW_ENVIRONMENT', environment))) {
        throw new NotFoundError('Environment', 'environmentIds');
      }
    }
    const key = [...new Set(ids)].sort((a, b) => a - b);
    const states = await loaders.children(FeatureState, 'feature', feature.id, {
      where: { environment: { $in: key }, identity: null, featureSegment: null },
      variant: key.join(','),
      orderBy: { id: 'asc' },
    });
    const byEnvironment = new Map(states.map((s) => [s.environment.id, s]));
    return ids.flatMap((id) => byEnvironment.get(id) ?? []);
  }
}

@DenyByDefault()
@Resolver(() => MultivariateOption)
export class MultivariateOptionResolver {
  @FieldResolver(() => FlagValueScalar, { nullable: true })
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  value(@Root() option: MultivariateOption): FlagValue {
    return valueOf({ ...option, valueType: option.type });
  }

  @FieldResolver(() => Float, {
    description: 'Share (0–100) this option gets in new environment defaults.',
  })
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  defaultPercentageAllocation(@Root() option: MultivariateOption): number {
    return Number(option.defaultPercentageAllocation);
  }
}

export enum FeatureStateKind {
  ENVIRONMENT_DEFAULT = 'ENVIRONMENT_DEFAULT',
  SEGMENT_OVERRIDE = 'SEGMENT_OVERRIDE',
  IDENTITY_OVERRIDE = 'IDENTITY_OVERRIDE',
}
registerEnumType(FeatureStateKind, { name: 'FeatureStateKind' });

@ObjectType({ description: "A multivariate option's share of a feature state." })
@TypeRequires(Authenticated)
export class MultivariateAllocation {
  @Field(() => MultivariateOption)
  option!: MultivariateOption;

  @Field(() => Float, { description: 'Percentage, 0–100.' })
  percentageAllocation!: number;
}

@DenyByDefault()
@Resolver(() => FeatureState)
export class FeatureStateResolver {
  @Query(() => FeatureStateConnection, {
    description: "An environment's default state of each feature (or of the features named).",
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', on('environment', 'environmentId')))
  async featureStates(
    @Args() args: FeatureStateListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<FeatureState>> {
    const env = await em.findOneOrFail(Environment, parseId(args.environmentId, 'environmentId'));
    return toConnection(await services.featureStates.listDefaults(em, env, args));
  }

  @Mutation(() => FeatureState, {
    description: 'Changes an environment default: enabled, value, multivariate shares.',
  })
  @Requires(permissionOn('UPDATE_FEATURE_STATE', on('featureState', 'id')))
  async updateFeatureState(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: FeatureStateInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<FeatureState> {
    const state = await em.findOneOrFail(FeatureState, parseId(id, 'id'));
    return services.featureStates.updateDefault(em, permissions, state, input);
  }

  @Mutation(() => [FeatureState], {
    description:
      'Changes environment defaults of features across environments: all or none. Needs UPDATE_FEATURE_STATE in each environment named.',
  })
  @Requires(
    permissionOnEach('UPDATE_FEATURE_STATE', { arg: 'items.*.environmentId', type: 'environment' }),
  )
  async updateFeatureStates(
    @Arg('items', () => [FeatureStateChangeInput]) items: FeatureStateChangeInput[],
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<FeatureState[]> {
    const states: FeatureState[] = [];
    for (const [i, item] of items.entries()) {
      const state = await em.findOne(FeatureState, {
        feature: parseId(item.featureId, `items.${i}.featureId`),
        environment: parseId(item.environmentId, `items.${i}.environmentId`),
        identity: null,
        featureSegment: null,
      });
      if (!state) {
        throw new ValidationError(`items.${i}.featureId`, 'no such feature in this environment');
      }
      states.push(state);
    }
    return allOrNothing(em, items, 'items', (tx, item, i) =>
      services.featureStates.updateDefault(tx, permissions, states[i]!, item),
    );
  }

  @FieldResolver(() => FeatureStateKind)
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  kind(@Root() state: FeatureState): StateKind {
    return kindOf(state);
  }

  @FieldResolver(() => FlagValueScalar, { nullable: true })
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  value(@Root() state: FeatureState): FlagValue {
    return valueOf(state);
  }

  @FieldResolver(() => Feature, {
    nullable: true,
    description: 'Null when the caller may not view the project.',
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  async feature(
    @Root() state: FeatureState,
    @Ctx() { loaders, permissions }: GraphQLContext,
  ): Promise<Feature | null> {
    const feature = await loaders.one(Feature, state.feature.id);
    return (await permissions.can('VIEW_PROJECT', feature)) ? feature : null;
  }

  @FieldResolver(() => Environment)
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  environment(
    @Root() state: FeatureState,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<Environment> {
    return loaders.one(Environment, state.environment.id);
  }

  @FieldResolver(() => FeatureSegment, {
    nullable: true,
    description: 'The segment override this state belongs to, if it is one.',
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  async segmentOverride(
    @Root() state: FeatureState,
    @Ctx() { em }: GraphQLContext,
  ): Promise<FeatureSegment | null> {
    return state.featureSegment ? em.findOneOrFail(FeatureSegment, state.featureSegment.id) : null;
  }

  @FieldResolver(() => [MultivariateAllocation])
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  async multivariateAllocations(
    @Root() state: FeatureState,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<MultivariateAllocation[]> {
    const rows = await loaders.children(MultivariateStateValue, 'featureState', state.id, {
      populate: ['option'],
      orderBy: { option: { id: 'asc' } },
    });
    return rows.map((r) => ({
      option: r.option,
      percentageAllocation: Number(r.percentageAllocation),
    }));
  }
}
