import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
} from 'type-graphql';
import type { Environment } from '../environments/environment.entity';
import { EnvironmentConnection } from '../environments/environment.resolver';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import { NamedListArgs } from '../shared/named-list';
import type { GraphQLContext } from '../graphql/context';
import { Organisation } from '../organisations/organisation.entity';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { parseId } from '../shared/id-arg';
import { CreateProjectInput, UpdateProjectInput } from './project.inputs';
import { Project } from './project.entity';

const projectArg = (arg: string) => ({ arg, type: 'project' as const });

export const ProjectConnection = connectionType(Project, 'Project');

@ArgsType()
class ProjectListArgs extends NamedListArgs {
  @Field(() => ID, { nullable: true, description: 'Only projects of this organisation.' })
  organisationId?: string | null;
}

@DenyByDefault()
@Resolver(() => Project)
export class ProjectResolver {
  @Query(() => ProjectConnection, {
    description: 'Projects the caller may view, optionally of one organisation.',
  })
  @Requires(Authenticated)
  async projects(
    @Args() args: ProjectListArgs,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<ConnectionValue<Project>> {
    const orgId =
      args.organisationId == null ? undefined : parseId(args.organisationId, 'organisationId');
    return toConnection(await services.projects.list(em, permissions, args, orgId));
  }

  @Query(() => Project)
  @Requires(permissionOn('VIEW_PROJECT', projectArg('id')))
  project(@Arg('id', () => ID) id: string, @Ctx() { em }: GraphQLContext): Promise<Project> {
    return em.findOneOrFail(Project, parseId(id, 'id'));
  }

  @Mutation(() => Project, { description: 'Creates a project; the creator becomes its admin.' })
  @Requires(permissionOn('CREATE_PROJECT', { arg: 'input.organisationId', type: 'organisation' }))
  async createProject(
    @Arg('input') input: CreateProjectInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Project> {
    const org = await em.findOneOrFail(
      Organisation,
      parseId(input.organisationId, 'input.organisationId'),
    );
    return services.projects.create(em, permissions, org, input);
  }

  @Mutation(() => Project)
  @Requires(permissionOn('PROJECT_ADMIN', projectArg('id')))
  async updateProject(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateProjectInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Project> {
    const project = await em.findOneOrFail(Project, parseId(id, 'id'));
    return services.projects.update(em, permissions, project, input);
  }

  @Mutation(() => ID, { description: 'Deletes a project and everything in it; returns its id.' })
  @Requires(permissionOn('PROJECT_ADMIN', projectArg('id')))
  async deleteProject(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const project = await em.findOneOrFail(Project, parseId(id, 'id'));
    await services.projects.delete(em, permissions, project);
    return id;
  }

  @FieldResolver(() => Organisation)
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  organisation(
    @Root() project: Project,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<Organisation> {
    return loaders.one(Organisation, project.organisation.id);
  }

  @FieldResolver(() => EnvironmentConnection, {
    description: 'Environments of this project the caller may view.',
  })
  @Requires(permissionOn('VIEW_PROJECT', 'root'))
  async environments(
    @Root() project: Project,
    @Args() args: NamedListArgs,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<ConnectionValue<Environment>> {
    return toConnection(await services.environments.list(em, permissions, project.id, args));
  }
}
