import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import type { GraphQLContext } from '../graphql/context';
import { UserGroup } from '../groups/user-group.entity';
import { Role } from '../roles/role.entity';
import { User } from '../users/user.entity';
import {
  GrantHolderInput,
  GrantListArgs,
  GrantPermissionsInput,
  GrantScopeInput,
  PermissionGrantView,
} from './grant.inputs';
import { Authenticated } from './requirement';
import { DenyByDefault, Requires } from './requires.decorator';

/**
 * Object-level grants. The scope an operation names decides what it takes (GrantService):
 * organisation ADMIN for an organisation, project admin for a project, environment admin
 * for an environment; a scope the caller cannot see is NOT_FOUND.
 */
export const PermissionGrantConnection = connectionType(PermissionGrantView, 'PermissionGrant');

@DenyByDefault()
@Resolver(() => PermissionGrantView)
export class GrantResolver {
  @Query(() => PermissionGrantConnection, {
    description:
      'Who holds what on one organisation, project or environment (name exactly one; admins of it).',
  })
  @Requires(Authenticated)
  async permissionGrants(
    @Args() args: GrantListArgs,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<ConnectionValue<PermissionGrantView>> {
    return toConnection(await services.grants.list(em, permissions, args));
  }

  @Mutation(() => PermissionGrantView, {
    description:
      "Sets a user's, group's or role's keys and admin flag on one organisation, project or environment, replacing what it held there. Needs admin of that scope: nobody can grant more than they hold.",
  })
  @Requires(Authenticated)
  grantPermissions(
    @Arg('input') input: GrantPermissionsInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<PermissionGrantView> {
    return services.grants.grant(em, permissions, input);
  }

  @Mutation(() => Boolean, {
    description:
      'Removes what a holder holds on one scope (admins of it); false when it held nothing there.',
  })
  @Requires(Authenticated)
  revokePermissions(
    @Arg('holder', () => GrantHolderInput) holder: GrantHolderInput,
    @Arg('scope', () => GrantScopeInput) scope: GrantScopeInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<boolean> {
    return services.grants.revoke(em, permissions, holder, scope);
  }

  @FieldResolver(() => User, { nullable: true })
  @Requires(Authenticated)
  user(@Root() g: PermissionGrantView, @Ctx() { loaders }: GraphQLContext): Promise<User> | null {
    return g.userId === null ? null : loaders.one(User, g.userId);
  }

  @FieldResolver(() => UserGroup, { nullable: true })
  @Requires(Authenticated)
  group(
    @Root() g: PermissionGrantView,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<UserGroup> | null {
    return g.groupId === null ? null : loaders.one(UserGroup, g.groupId);
  }

  @FieldResolver(() => Role, { nullable: true })
  @Requires(Authenticated)
  role(@Root() g: PermissionGrantView, @Ctx() { loaders }: GraphQLContext): Promise<Role> | null {
    return g.roleId === null ? null : loaders.one(Role, g.roleId);
  }
}
