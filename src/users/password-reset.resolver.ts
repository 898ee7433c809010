import { IsEmail, MaxLength } from 'class-validator';
import { Args, ArgsType, Ctx, Field, Mutation, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { Public } from '../permissions/requirement';
import { DenyByDefault, Requires } from '../permissions/requires.decorator';

@ArgsType()
class RequestPasswordResetArgs {
  @Field()
  @IsEmail({}, { message: '$property must be an email address' })
  @MaxLength(254)
  email!: string;
}

@ArgsType()
class ResetPasswordArgs {
  @Field({ description: 'The token from the reset link.' })
  @MaxLength(200)
  token!: string;

  @Field()
  @MaxLength(1024)
  newPassword!: string;
}

/** Password reset by e-mail. */
@DenyByDefault()
@Resolver()
export class PasswordResetResolver {
  @Mutation(() => Boolean, {
    description:
      'Mails a single-use reset link if an account has this e-mail. Answers true either way.',
  })
  @Requires(Public)
  async requestPasswordReset(
    @Args() { email }: RequestPasswordResetArgs,
    @Ctx() { em, services, req }: GraphQLContext,
  ): Promise<boolean> {
    await services.passwordReset.request(em, email, req.ip);
    return true;
  }

  @Mutation(() => Boolean, {
    description: 'Sets a new password with a reset token; every session of the account ends.',
  })
  @Requires(Public)
  async resetPassword(
    @Args() { token, newPassword }: ResetPasswordArgs,
    @Ctx() { em, services, req }: GraphQLContext,
  ): Promise<boolean> {
    await services.passwordReset.reset(em, token, newPassword, req.ip);
    return true;
  }
}
