import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Environment } from '../environments/environment.entity';
import { FeatureSegment, FeatureState } from '../features/feature-state.entity';
import { Feature } from '../features/feature.entity';
import type { GraphQLContext } from '../graphql/context';
import { permissionOn, type ResourceType } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { Project } from '../projects/project.entity';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import { parseId } from '../shared/id-arg';
import {
  CreateSegmentInput,
  CreateSegmentOverrideInput,
  SegmentListArgs,
  SegmentOverrideListArgs,
  UpdateSegmentInput,
  UpdateSegmentOverrideInput,
} from './segment.inputs';
import { Segment, SegmentRuleNode } from './segment.entity';

const on = (type: ResourceType, arg: string) => ({ arg, type });

export const SegmentConnection = connectionType(Segment, 'Segment');
export const SegmentOverrideConnection = connectionType(FeatureSegment, 'FeatureSegment');

@DenyByDefault()
@Resolver(() => Segment)
export class SegmentResolver {
  @Query(() => SegmentConnection, { description: "A project's segments." })
  @Requires(permissionOn('VIEW_PROJECT', on('project', 'projectId')))
  async segments(
    @Args() args: SegmentListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<Segment>> {
    const project = await em.findOneOrFail(Project, parseId(args.projectId, 'projectId'));
    return toConnection(await services.segments.list(em, project, args));
  }

  @Query(() => Segment)
  @Requires(permissionOn('VIEW_PROJECT', on('segment', 'id')))
  segment(@Arg('id', () => ID) id: string, @Ctx() { em }: GraphQLContext): Promise<Segment> {
    return em.findOneOrFail(Segment, parseId(id, 'id'));
  }

  @Mutation(() => Segment, {
    description: 'Creates a segment; its rules are validated operator by operator first.',
  })
  @Requires(permissionOn('MANAGE_SEGMENTS', on('project', 'input.projectId')))
  async createSegment(
    @Arg('input') input: CreateSegmentInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Segment> {
    const project = await em.findOneOrFail(Project, parseId(input.projectId, 'input.projectId'));
    return services.segments.create(em, permissions, project, input);
  }

  @Mutation(() => Segment, { description: 'Renames a segment or replaces its rules.' })
  @Requires(permissionOn('MANAGE_SEGMENTS', on('segment', 'id')))
  async updateSegment(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateSegmentInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Segment> {
    const segment = await em.findOneOrFail(Segment, parseId(id, 'id'));
    return services.segments.update(em, permissions, segment, input);
  }

  @Mutation(() => ID, {
    description: 'Deletes a segment and every override using it; returns its id.',
  })
  @Requires(permissionOn('MANAGE_SEGMENTS', on('segment', 'id')))
  async deleteSegment(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const segment = await em.findOneOrFail(Segment, parseId(id, 'id'));
    await services.segments.delete(em, permissions, segment);
    return id;
  }

  @FieldResolver(() => [SegmentRuleNode], {
    description: 'Top-level rules (all must match), each with its conditions and sub-rules.',
  })
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  rules(
    @Root() segment: Segment,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<SegmentRuleNode[]> {
    return services.segments.rulesOf(em, segment);
  }

  @FieldResolver(() => Feature, {
    nullable: true,
    description: 'Set for a feature-specific segment, usable only for overrides of that feature.',
  })
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  feature(@Root() segment: Segment, @Ctx() { em }: GraphQLContext): Promise<Feature | null> {
    return segment.feature ? em.findOneOrFail(Feature, segment.feature.id) : Promise.resolve(null);
  }

  @FieldResolver(() => Project)
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  project(@Root() segment: Segment, @Ctx() { em }: GraphQLContext): Promise<Project> {
    return em.findOneOrFail(Project, segment.project.id);
  }
}

@DenyByDefault()
@Resolver(() => FeatureSegment)
export class SegmentOverrideResolver {
  @Query(() => SegmentOverrideConnection, {
    description: "A feature's segment overrides in an environment, strongest (priority 0) first.",
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', on('environment', 'environmentId')))
  async segmentOverrides(
    @Args() args: SegmentOverrideListArgs,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<ConnectionValue<FeatureSegment>> {
    const env = await em.findOneOrFail(Environment, parseId(args.environmentId, 'environmentId'));
    const feature = await services.segmentOverrides.featureOf(
      em,
      permissions,
      env,
      args.featureId,
      'featureId',
      'query',
    );
    return toConnection(await services.segmentOverrides.list(em, env, feature, args));
  }

  @Mutation(() => FeatureSegment, {
    description:
      'Overrides a feature for a segment in an environment, at a priority (last by default).',
  })
  @Requires(permissionOn('MANAGE_SEGMENT_OVERRIDES', on('environment', 'input.environmentId')))
  async createSegmentOverride(
    @Arg('input') input: CreateSegmentOverrideInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<FeatureSegment> {
    const env = await em.findOneOrFail(
      Environment,
      parseId(input.environmentId, 'input.environmentId'),
    );
    return services.segmentOverrides.create(em, permissions, env, input);
  }

  @Mutation(() => FeatureSegment, {
    description: "Changes an override's state: enabled, value, multivariate shares.",
  })
  @Requires(permissionOn('MANAGE_SEGMENT_OVERRIDES', on('segmentOverride', 'id')))
  async updateSegmentOverride(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateSegmentOverrideInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<FeatureSegment> {
    const override = await em.findOneOrFail(FeatureSegment, parseId(id, 'id'));
    return services.segmentOverrides.update(em, permissions, override, input);
  }

  @Mutation(() => ID, {
    description: 'Deletes an override; those after it move up. Returns its id.',
  })
  @Requires(permissionOn('MANAGE_SEGMENT_OVERRIDES', on('segmentOverride', 'id')))
  async deleteSegmentOverride(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const override = await em.findOneOrFail(FeatureSegment, parseId(id, 'id'));
    await services.segmentOverrides.delete(em, permissions, override);
    return id;
  }

  @Mutation(() => [FeatureSegment], {
    description:
      "Reorders a feature's overrides in an environment: `ids` lists all of them, strongest first.",
  })
  @Requires(permissionOn('MANAGE_SEGMENT_OVERRIDES', on('environment', 'environmentId')))
  async reorderSegmentOverrides(
    @Arg('environmentId', () => ID) environmentId: string,
    @Arg('featureId', () => ID) featureId: string,
    @Arg('ids', () => [ID]) ids: string[],
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<FeatureSegment[]> {
    const env = await em.findOneOrFail(Environment, parseId(environmentId, 'environmentId'));
    const feature = await services.segmentOverrides.featureOf(
      em,
      permissions,
      env,
      featureId,
      'featureId',
      'mutation',
    );
    return services.segmentOverrides.reorder(em, permissions, env, feature, ids);
  }

  @FieldResolver(() => Segment, {
    nullable: true,
    description: 'Null when the caller may not view the project.',
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  async segment(
    @Root() override: FeatureSegment,
    @Ctx() { em, permissions }: GraphQLContext,
  ): Promise<Segment | null> {
    const segment = await em.findOneOrFail(Segment, override.segment.id);
    return (await permissions.can('VIEW_PROJECT', segment)) ? segment : null;
  }

  @FieldResolver(() => Feature, {
    nullable: true,
    description: 'Null when the caller may not view the project.',
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  async feature(
    @Root() override: FeatureSegment,
    @Ctx() { em, permissions }: GraphQLContext,
  ): Promise<Feature | null> {
    const feature = await em.findOneOrFail(Feature, override.feature.id);
    return (await permissions.can('VIEW_PROJECT', feature)) ? feature : null;
  }

  @FieldResolver(() => Environment)
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  environment(
    @Root() override: FeatureSegment,
    @Ctx() { em }: GraphQLContext,
  ): Promise<Environment> {
    return em.findOneOrFail(Environment, override.environment.id);
  }

  @FieldResolver(() => FeatureState, { description: "The override's enabled, value and shares." })
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  state(
    @Root() override: FeatureSegment,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<FeatureState> {
    return services.segmentOverrides.stateOf(em, override);
  }
}
