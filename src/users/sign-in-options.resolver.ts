import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { Public } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';
import { LoginMethod } from './login-method';

@DenyByDefault()
@Resolver()
export class SignInOptionsResolver {
  @Query(() => [LoginMethod], {
    description:
      'The ways of signing in this server offers (which buttons to show): PASSWORD (the login mutation), and GOOGLE or GITHUB when configured (open /auth/oauth/google/?next=<path> or /auth/oauth/github/?next=<path> in the browser).',
  })
  @Requires(Public)
  signInMethods(@Ctx() { services }: GraphQLContext): LoginMethod[] {
    const providers = services.oauth.providers();
    return [
      LoginMethod.PASSWORD,
      ...([LoginMethod.GOOGLE, LoginMethod.GITHUB] as const).filter((p) => providers[p]),
    ];
  }
}
