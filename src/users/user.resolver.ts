import { MaxLength } from 'class-validator';
import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Field,
  ID,
  InputType,
  Mutation,
  Query,
  Resolver,
} from 'type-graphql';
import { IsOptional } from 'class-validator';
import { parseId } from '../shared/id-arg';
import type { GraphQLContext } from '../graphql/context';
import { DenyByDefault, Requires, WritableBy } from '../permissions/requires.decorator';
import { PageArgs } from '../shared/pagination';
import { User } from './user.entity';

@ArgsType()
export class UserSearchArgs extends PageArgs {
  @Field(() => String, {
    nullable: true,
    description: 'Case-insensitive substring of the email or name.',
  })
  @MaxLength(254)
  search?: string | null;
}

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
  @Query(() => [User], {
    description: 'Every user of this Flagward instance. Needs the view_user model permission.',
  })
  @Requires({ kind: 'model', codename: 'view_user' })
  users(@Args() args: UserSearchArgs, @Ctx() { em, services }: GraphQLContext): Promise<User[]> {
    return services.users.search(em, args);
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
