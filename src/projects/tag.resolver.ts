import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { CreateTagInput, UpdateTagInput } from '../features/feature.inputs';
import type { GraphQLContext } from '../graphql/context';
import { permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { parseId } from '../shared/id-arg';
import { Project } from './project.entity';
import { Tag } from './tag.entity';

@DenyByDefault()
@Resolver(() => Tag)
export class TagResolver {
  @Query(() => [Tag], { description: "A project's tags, by label." })
  @Requires(permissionOn('VIEW_PROJECT', { arg: 'projectId', type: 'project' }))
  async tags(
    @Arg('projectId', () => ID) projectId: string,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<Tag[]> {
    const project = await em.findOneOrFail(Project, parseId(projectId, 'projectId'));
    return services.tags.list(em, project);
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
