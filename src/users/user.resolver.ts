import { MaxLength } from 'class-validator';
import { Args, ArgsType, Ctx, Field, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
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
}
