import { MaxLength } from 'class-validator';
import { Arg, Args, Ctx, Field, ID, InputType, Mutation, Query, Resolver } from 'type-graphql';
import { IsOptional } from 'class-validator';
import { parseId } from '../shared/id-arg';
import type { GraphQLContext } from '../graphql/context';
import { DenyByDefault, Requires, WritableBy } from '../permissions/requires.decorator';
import { type ConnectionValue, connectionType, toConnection } from '../shared/cursor';
import { UserListArgs } from './user-list';
import { User } from './user.entity';

export const UserConnection = connectionType(User, 'User');

@InputType({ description: 'Changes to a user; fields left out stay as they are.' })
export class UpdateUserInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(150)
  firstName?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(150)
  lastName?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'False signs the user out everywhere.' })
  isActive?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Superusers only.' })
  @WritableBy({ kind: 'superuser' })
  isStaff?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'Superusers only.' })
  @WritableBy({ kind: 'superuser' })
  isSuperuser?: boolean | null;
}

/** Instance-wide user administration (the admin site's "Users"): model permissions. */
@DenyByDefault()
@Resolver(() => User)
export class UserResolver {
  @Query(() => UserConnection, {
    description: 'Every user of this Flagward instance. Needs the view_user model permission.',
  })
  @Requires({ kind: 'model', codename: 'view_user' })
  async users(
    @Args() args: UserListArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<ConnectionValue<User>> {
    return toConnection(await services.users.list(em, args));
  }

  @Mutation(() => User, {
    description:
      "Changes a user's names and flags. Needs the change_user model permission; isStaff and isSuperuser only superusers may set.",
  })
  @Requires({ kind: 'model', codename: 'change_user' })
  updateUser(
    @Arg('id', () => ID) id: string,
    @Arg('input') input: UpdateUserInput,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<User> {
    return services.userAdmin.update(em, permissions, parseId(id, 'id'), input);
  }
}
