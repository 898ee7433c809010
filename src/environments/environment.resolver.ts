import { GraphQLJSONObject } from 'graphql-scalars';
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
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import { NamedListArgs } from '../shared/named-list';
import type { GraphQLContext } from '../graphql/context';
import { permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { Project } from '../projects/project.entity';
import { parseId } from '../shared/id-arg';
import { Organisation } from '../organisations/organisation.entity';
import { ValidationError } from '../shared/errors';
import {
  CreateEnvironmentInput,
  CreatedServerSideKey,
  CreateServerSideKeyInput,
  UpdateEnvironmentInput,
  UpdateServerSideKeyInput,
} from './environment.inputs';
import { buildEnvironmentDocument } from './document.builder';
import { DocumentProblem, parseImportedDocument } from './import/document.schema';
import { ImportEnvironmentInput, ImportEnvironmentPayload } from './import/import.graphql';
import type { EnvironmentDocument } from './document.types';
import { Environment } from './environment.entity';
import { ServerSideKey } from './server-side-key.entity';

const envArg = (arg: string) => ({ arg, type: 'environment' as const });
const keyArg = (arg: string) => ({ arg, type: 'serverSideKey' as const });

export const EnvironmentConnection = connectionType(Environment, 'Environment');

@ArgsType()
class EnvironmentListArgs extends NamedListArgs {
  @Field(() => ID)
  projectId!: string;
}

@DenyByDefault()
@Resolver(() => Environment)
export class EnvironmentResolver {
  @Query(() => EnvironmentConnection, {
    description: 'Environments of a project the caller may view.',
  })
  @Requires(permissionOn('VIEW_PROJECT', { arg: 'projectId', type: 'project' }))
  async environments(
    @Args() args: EnvironmentListArgs,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<ConnectionValue<Environment>> {
    const projectId = parseId(args.projectId, 'projectId');
    return toConnection(await services.environments.list(em, permissions, projectId, args));
  }

  @Query(() => Environment)
  @Requires(permissionOn('VIEW_ENVIRONMENT', envArg('id')))
  environment(
    @Arg('id', () => ID) id: string,
    @Ctx() { em }: GraphQLContext,
  ): Promise<Environment> {
    return em.findOneOrFail(Environment, parseId(id, 'id'));
  }

  @Mutation(() => Environment, {
    description:
      'Creates an environment with a default state for every feature; the creator becomes its admin.',
  })
  @Requires(permissionOn('CREATE_ENVIRONMENT', { arg: 'input.projectId', type: 'project' }))
  async createEnvironment(
    @Arg('input') input: CreateEnvironmentInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Environment> {
    const project = await em.findOneOrFail(Project, parseId(input.projectId, 'input.projectId'));
    return services.environments.create(em, permissions, project, input);
  }

  @Mutation(() => Environment)
  @Requires(permissionOn('ENVIRONMENT_ADMIN', envArg('id')))
  async updateEnvironment(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateEnvironmentInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Environment> {
    const env = await em.findOneOrFail(Environment, parseId(id, 'id'));
    return services.environments.update(em, permissions, env, input);
  }

  @Mutation(() => ID, {
    description: 'Deletes an environment and everything in it; returns its id.',
  })
  @Requires(permissionOn('ENVIRONMENT_ADMIN', envArg('id')))
  async deleteEnvironment(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const env = await em.findOneOrFail(Environment, parseId(id, 'id'));
    await services.environments.delete(em, permissions, env);
    return id;
  }

  @FieldResolver(() => Project, {
    nullable: true,
    description: 'Null when the caller may not view the project.',
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  async project(
    @Root() env: Environment,
    @Ctx() { em, permissions }: GraphQLContext,
  ): Promise<Project | null> {
    const project = await em.findOneOrFail(Project, env.project.id);
    return (await permissions.can('VIEW_PROJECT', project)) ? project : null;
  }

  @Mutation(() => ImportEnvironmentPayload, {
    description:
      'Imports a Flagsmith environment document, keeping its client key; repeating it changes nothing.',
  })
  @Requires(
    permissionOn('ORGANISATION_ADMIN', { arg: 'input.organisationId', type: 'organisation' }),
  )
  async importEnvironment(
    @Arg('input') input: ImportEnvironmentInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<ImportEnvironmentPayload> {
    let document;
    try {
      document = parseImportedDocument(input.document);
    } catch (err) {
      if (!(err instanceof DocumentProblem)) throw err;
      const first = err.problems[0]!;
      throw new ValidationError(
        ['input.document', first.path].filter(Boolean).join('.'),
        err.problems.map((p) => `${p.path}: ${p.message}`).join('; '),
      );
    }
    const organisation = await em.findOneOrFail(
      Organisation,
      parseId(input.organisationId, 'input.organisationId'),
    );
    const result = await services.imports.importEnvironment(em, permissions, document, {
      organisation,
      projectName: input.projectName ?? undefined,
    });
    return {
      project: result.project,
      environment: result.environment,
      changed: result.changed,
      environmentCreated: result.environmentCreated,
      serverSideKey: result.serverSideKey,
    };
  }

  @FieldResolver(() => GraphQLJSONObject, {
    description:
      'The environment document the SDKs evaluate locally (as /api/v1/environment-document/ serves it).',
  })
  @Requires(permissionOn('VIEW_ENVIRONMENT', 'root'))
  document(@Root() env: Environment, @Ctx() { em }: GraphQLContext): Promise<EnvironmentDocument> {
    return buildEnvironmentDocument(em, env.id);
  }

  @FieldResolver(() => [ServerSideKey], {
    description: 'Server-side SDK keys (environment admins only).',
  })
  @Requires(permissionOn('ENVIRONMENT_ADMIN', 'root'))
  serverSideKeys(
    @Root() env: Environment,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ServerSideKey[]> {
    return services.environments.listServerSideKeys(em, env);
  }

  @Mutation(() => CreatedServerSideKey)
  @Requires(permissionOn('ENVIRONMENT_ADMIN', envArg('input.environmentId')))
  async createServerSideKey(
    @Arg('input') input: CreateServerSideKeyInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<CreatedServerSideKey> {
    const env = await em.findOneOrFail(
      Environment,
      parseId(input.environmentId, 'input.environmentId'),
    );
    return services.environments.createServerSideKey(em, permissions, env, input);
  }

  @Mutation(() => ServerSideKey)
  @Requires(permissionOn('ENVIRONMENT_ADMIN', keyArg('id')))
  async updateServerSideKey(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateServerSideKeyInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<ServerSideKey> {
    const row = await em.findOneOrFail(ServerSideKey, parseId(id, 'id'));
    return services.environments.updateServerSideKey(em, permissions, row, input);
  }

  @Mutation(() => ID, { description: 'Revokes a server-side key for good; returns its id.' })
  @Requires(permissionOn('ENVIRONMENT_ADMIN', keyArg('id')))
  async deleteServerSideKey(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const row = await em.findOneOrFail(ServerSideKey, parseId(id, 'id'));
    await services.environments.deleteServerSideKey(em, permissions, row);
    return id;
  }
}
