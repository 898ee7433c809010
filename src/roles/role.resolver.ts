import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { OrganisationListArgs } from '../organisations/organisation.inputs';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';

import type { GraphQLContext } from '../graphql/context';
import { UserGroup } from '../groups/user-group.entity';
import { OrganisationApiKey } from '../organisations/organisation-api-key.entity';
import { PermissionGrantView } from '../permissions/grant.inputs';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { parseId } from '../shared/id-arg';
import { User } from '../users/user.entity';
import { CreateRoleInput, RoleHolderInput, roleHolderOf, UpdateRoleInput } from './role.inputs';
import { Role, RoleAssignment } from './role.entity';

const orgArg = (arg: string) => ({ arg, type: 'organisation' as const });

export const RoleConnection = connectionType(Role, 'Role');

/**
 * Roles, managed by organisation admins. A role of another organisation (or an unknown id)
 * reads as NOT_FOUND; members who are not admins are told what they need (FORBIDDEN).
 */
@DenyByDefault()
@Resolver(() => Role)
export class RoleResolver {
  @Query(() => RoleConnection, { description: "An organisation's roles (organisation admins)." })
  @Requires(permissionOn('ORGANISATION_ADMIN', orgArg('organisationId')))
  async roles(
    @Args() args: OrganisationListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<Role>> {
    const organisationId = parseId(args.organisationId, 'organisationId');
    return toConnection(await services.roles.list(em, organisationId, args));
  }

  @Query(() => Role, {
    description: 'A role with its grants and assignments (organisation admins).',
  })
  @Requires(Authenticated)
  role(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Role> {
    return services.roles.findManaged(em, permissions, id, 'id');
  }

  @Mutation(() => Role, { description: 'Creates a role (organisation admins).' })
  @Requires(Authenticated)
  createRole(
    @Arg('input') input: CreateRoleInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Role> {
    return services.roles.create(em, permissions, input);
  }

  @Mutation(() => Role, { description: 'Renames or re-describes a role (organisation admins).' })
  @Requires(Authenticated)
  async updateRole(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateRoleInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Role> {
    const role = await services.roles.findManaged(em, permissions, id, 'id');
    return services.roles.update(em, permissions, role, input);
  }

  @Mutation(() => ID, {
    description:
      'Deletes a role with its grants and assignments (organisation admins); returns its id.',
  })
  @Requires(Authenticated)
  async deleteRole(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const role = await services.roles.findManaged(em, permissions, id, 'id');
    return services.roles.delete(em, permissions, role);
  }

  @Mutation(() => Role, {
    description:
      'Gives a role to a member, a group or a non-admin API key of its organisation (organisation admins).',
  })
  @Requires(Authenticated)
  async assignRole(
    @Arg('roleId', () => ID) roleId: string,
    @Arg('holder', () => RoleHolderInput) holder: RoleHolderInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Role> {
    const role = await services.roles.findManaged(em, permissions, roleId, 'roleId');
    return services.roles.assign(em, permissions, role, roleHolderOf(holder, 'holder'), 'holder');
  }

  @Mutation(() => Role, { description: 'Takes a role back (organisation admins).' })
  @Requires(Authenticated)
  async unassignRole(
    @Arg('roleId', () => ID) roleId: string,
    @Arg('holder', () => RoleHolderInput) holder: RoleHolderInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<Role> {
    const role = await services.roles.findManaged(em, permissions, roleId, 'roleId');
    return services.roles.unassign(em, permissions, role, roleHolderOf(holder, 'holder'));
  }

  @FieldResolver(() => ID)
  @Requires(Authenticated)
  organisationId(@Root() role: Role): number {
    return role.organisation.id;
  }

  @FieldResolver(() => [PermissionGrantView], {
    nullable: true,
    description: "The role's grants (organisation admins; null for others).",
  })
  @Requires(Authenticated)
  async grants(
    @Root() role: Role,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<PermissionGrantView[] | null> {
    if (!(await permissions.can('ORGANISATION_ADMIN', role))) return null;
    return services.roles.grants(em, role);
  }

  @FieldResolver(() => [RoleAssignment], {
    nullable: true,
    description: 'Who holds the role (organisation admins; null for others).',
  })
  @Requires(Authenticated)
  async assignments(
    @Root() role: Role,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<RoleAssignment[] | null> {
    if (!(await permissions.can('ORGANISATION_ADMIN', role))) return null;
    return services.roles.assignments(em, role);
  }
}

/** Assignment rows, reached only through `Role.assignments` (organisation admins). */
@DenyByDefault()
@Resolver(() => RoleAssignment)
export class RoleAssignmentResolver {
  @FieldResolver(() => User, { nullable: true })
  @Requires(Authenticated)
  user(@Root() a: RoleAssignment, @Ctx() { loaders }: GraphQLContext): Promise<User> | null {
    return a.user ? loaders.one(User, a.user.id) : null;
  }

  @FieldResolver(() => UserGroup, { nullable: true })
  @Requires(Authenticated)
  group(@Root() a: RoleAssignment, @Ctx() { loaders }: GraphQLContext): Promise<UserGroup> | null {
    return a.group ? loaders.one(UserGroup, a.group.id) : null;
  }

  @FieldResolver(() => OrganisationApiKey, { nullable: true })
  @Requires(Authenticated)
  apiKey(
    @Root() a: RoleAssignment,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<OrganisationApiKey> | null {
    return a.apiKey ? loaders.one(OrganisationApiKey, a.apiKey.id) : null;
  }
}
