import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import { OrganisationListArgs } from '../organisations/organisation.inputs';
import { UserListArgs } from '../users/user-list';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated, permissionOn } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { parseId } from '../shared/id-arg';
import { User } from '../users/user.entity';
import { CreateGroupInput, UpdateGroupInput } from './group.inputs';
import { UserGroup, UserGroupMembership } from './user-group.entity';

const orgArg = (arg: string) => ({ arg, type: 'organisation' as const });

export const UserGroupConnection = connectionType(UserGroup, 'UserGroup');
export const UserGroupMemberConnection = connectionType(UserGroupMembership, 'UserGroupMember');

/**
 * Organisation groups. Members of the organisation see its groups; its admins manage them;
 * membership is also managed by MANAGE_USER_GROUPS holders and the group's admins. Who may
 * do what is decided in GroupService, from the stored group; a group the caller cannot see
 * reads as NOT_FOUND, exactly like an unknown id.
 */
@DenyByDefault()
@Resolver(() => UserGroup)
export class GroupResolver {
  @Query(() => UserGroupConnection, {
    description: "An organisation's groups (its members may see them).",
  })
  @Requires(permissionOn('ORGANISATION_MEMBER', orgArg('organisationId')))
  async groups(
    @Args() args: OrganisationListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<UserGroup>> {
    const organisationId = parseId(args.organisationId, 'organisationId');
    return toConnection(await services.groups.list(em, organisationId, args));
  }

  @Query(() => UserGroup)
  @Requires(Authenticated)
  group(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<UserGroup> {
    return services.groups.find(em, permissions, id, 'id');
  }

  @Mutation(() => UserGroup, { description: 'Creates a group (organisation admins).' })
  @Requires(Authenticated)
  createGroup(
    @Arg('input') input: CreateGroupInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<UserGroup> {
    return services.groups.create(em, permissions, input);
  }

  @Mutation(() => UserGroup, { description: 'Changes a group (organisation admins).' })
  @Requires(Authenticated)
  async updateGroup(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateGroupInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<UserGroup> {
    const group = await services.groups.find(em, permissions, id, 'id');
    return services.groups.update(em, permissions, group, input);
  }

  @Mutation(() => ID, {
    description:
      'Deletes a group with its memberships, grants and role assignments (organisation admins); returns its id.',
  })
  @Requires(Authenticated)
  async deleteGroup(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<string> {
    const group = await services.groups.find(em, permissions, id, 'id');
    return services.groups.delete(em, permissions, group);
  }

  @Mutation(() => UserGroup, {
    description:
      "Adds organisation members to a group (organisation admins, MANAGE_USER_GROUPS holders, the group's admins; short of organisation ADMIN, only to a group whose grants you hold yourself). `groupAdmin` given: sets it for these users, existing members too.",
  })
  @Requires(Authenticated)
  async addGroupMembers(
    @Arg('groupId', () => ID) groupId: string,
    @Arg('userIds', () => [ID]) userIds: string[],
    @Arg('groupAdmin', () => Boolean, { nullable: true }) groupAdmin: boolean | null | undefined,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<UserGroup> {
    const group = await services.groups.find(em, permissions, groupId, 'groupId');
    return services.groups.addMembers(em, permissions, group, userIds, groupAdmin);
  }

  @Mutation(() => UserGroup, {
    description:
      "Removes users from a group (organisation admins, MANAGE_USER_GROUPS holders, the group's admins).",
  })
  @Requires(Authenticated)
  async removeGroupMembers(
    @Arg('groupId', () => ID) groupId: string,
    @Arg('userIds', () => [ID]) userIds: string[],
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<UserGroup> {
    const group = await services.groups.find(em, permissions, groupId, 'groupId');
    return services.groups.removeMembers(em, permissions, group, userIds);
  }

  @FieldResolver(() => ID)
  @Requires(Authenticated)
  organisationId(@Root() group: UserGroup): number {
    return group.organisation!.id;
  }

  @FieldResolver(() => UserGroupMemberConnection, {
    description: "The group's members (the filter and order apply to their user).",
  })
  @Requires(Authenticated)
  async members(
    @Root() group: UserGroup,
    @Args() args: UserListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<UserGroupMembership>> {
    return toConnection(await services.groups.members(em, group, args));
  }
}

/** A membership row, reached only through `UserGroup.members`. */
@DenyByDefault()
@Resolver(() => UserGroupMembership)
export class GroupMemberResolver {
  @FieldResolver(() => User)
  @Requires(Authenticated)
  user(@Root() membership: UserGroupMembership, @Ctx() { loaders }: GraphQLContext): Promise<User> {
    return loaders.one(User, membership.user.id);
  }
}
