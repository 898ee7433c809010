import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { CreateTagInput, TagListArgs, UpdateTagInput } from '../features/feature.inputs';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';

import type { GraphQLContext } from '../graphql/context';
import { permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { parseId } from '../shared/id-arg';
import { Project } from './project.entity';
import { Tag } from './tag.entity';

export const TagConnection = connectionType(Tag, 'Tag');

@DenyByDefault()
@Resolver(() => Tag)
export class TagResolver {
  @Query(() => TagConnection, {
    description: "A project's tags, by label unless ordered otherwise.",
  })
  @Requires(permissionOn('VIEW_PROJECT', { arg: 'projectId', type: 'project' }))
  async tags(
    @Args() args: TagListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<Tag>> {
    const project = await em.findOneOrFail(Project, parseId(args.projectId, 'projectId'));
    return toConnection(await services.tags.list(em, project, args));
  }

  @Mutation(() => Tag)
  @Requires(permissionOn('MANAGE_TAGS', { arg: 'input.projectId', type: 'project' }))
  async createTag(
    @Arg('input') input: CreateTagInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Tag> {
    const project = await em.findOneOrFail(Project, parseId(input.projectId, 'input.projectId'));
    return services.tags.create(em, permissions, project, input);
  }

  @Mutation(() => Tag)
  @Requires(permissionOn('MANAGE_TAGS', { arg: 'id', type: 'tag' }))
  async updateTag(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateTagInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Tag> {
    const tag = await em.findOneOrFail(Tag, parseId(id, 'id'));
    return services.tags.update(em, permissions, tag, input);
  }

  @Mutation(() => ID, { description: 'Deletes a tag (features lose it); returns its id.' })
  @Requires(permissionOn('MANAGE_TAGS', { arg: 'id', type: 'tag' }))
  async deleteTag(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const tag = await em.findOneOrFail(Tag, parseId(id, 'id'));
    await services.tags.delete(em, permissions, tag);
    return id;
  }
}
