import { IsOptional, MaxLength } from 'class-validator';
import {
  Arg,
  Ctx,
  Field,
  ID,
  InputType,
  Mutation,
  ObjectType,
  Query,
  Resolver,
} from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { parseId } from '../shared/id-arg';
import { ValidationError } from '../shared/errors';
import type { ModelPermissionHolder } from './model-permission.service';
import { Authenticated } from './requirement';
import { DenyByDefault, Requires, TypeRequires } from './requires.decorator';

@ObjectType({ description: 'A kind of instance-wide record and what you may do with it.' })
@TypeRequires(Authenticated)
export class ModelAccessInfo {
  @Field({ description: 'The model: user, organisation, project, environment, auditlog, …' })
  model!: string;

  @Field(() => [String], { description: 'Some of view, add, change, delete.' })
  actions!: string[];
}

@InputType()
export class ModelPermissionInput {
  @Field(() => ID, { nullable: true, description: 'The user to grant to (or groupId).' })
  @IsOptional()
  userId?: string | null;

  @Field(() => ID, { nullable: true, description: 'An instance-wide group (or userId).' })
  @IsOptional()
  groupId?: string | null;

  @Field({ description: 'A codename such as view_user or change_organisation.' })
  @MaxLength(100)
  codename!: string;
}

function holderOf(input: ModelPermissionInput): ModelPermissionHolder {
  const user = input.userId != null;
  const group = input.groupId != null;
  if (user === group) throw new ValidationError('input', 'name exactly one of userId and groupId');
  return user
    ? { kind: 'user', id: parseId(input.userId!, 'input.userId') }
    : { kind: 'group', id: parseId(input.groupId!, 'input.groupId') };
}

/** Model permissions: what the admin site shows you, and who holds which codename. */
@DenyByDefault()
@Resolver()
export class ModelPermissionResolver {
  @Query(() => [ModelAccessInfo], {
    description:
      'The kinds of instance-wide record you may see or manage, with the actions (the admin modules to show).',
  })
  @Requires(Authenticated)
  adminModels(@Ctx() { permissions, services }: GraphQLContext): Promise<ModelAccessInfo[]> {
    return services.modelPermissions
      .visibleModels(permissions)
      .then((rows) => rows.map((r) => ({ model: r.model, actions: [...r.actions] })));
  }

  @Query(() => [String], {
    description: 'The model permissions a user holds (directly or through instance groups).',
  })
  @Requires({ kind: 'model', codename: 'view_user' })
  modelPermissionsOf(
    @Arg('userId', () => ID) userId: string,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<string[]> {
    return services.modelPermissions.codenamesOf(em, parseId(userId, 'userId'));
  }

  @Mutation(() => Boolean, {
    description:
      'Grants a model permission to a user (needs change_user) or an instance group (change_usergroup); only one you hold yourself.',
  })
  @Requires(Authenticated)
  async grantModelPermission(
    @Arg('input') input: ModelPermissionInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<boolean> {
    await services.modelPermissions.grant(em, permissions, holderOf(input), input.codename);
    return true;
  }

  @Mutation(() => Boolean, {
    description: 'Takes a model permission back; the same rules as granting.',
  })
  @Requires(Authenticated)
  async revokeModelPermission(
    @Arg('input') input: ModelPermissionInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<boolean> {
    await services.modelPermissions.revoke(em, permissions, holderOf(input), input.codename);
    return true;
  }
}
