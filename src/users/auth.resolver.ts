import { IsEmail, MaxLength } from 'class-validator';
import {
  Arg,
  Ctx,
  Field,
  InputType,
  Mutation,
  ObjectType,
  Query,
  registerEnumType,
  Resolver,
} from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated, Public } from '../permissions/requirement';
import { DenyByDefault, Requires, TypeRequires } from '../permissions/requires.decorator';
import { PermissionService } from '../permissions/permission.service';
import { UnauthenticatedError } from '../shared/errors';
import { LoginMethod } from './login-method';
import { signedInUser } from './principal';
import { SessionKind } from './user-session.entity';
import { User } from './user.entity';

export enum LoginMode {
  /** Set an HttpOnly session cookie (browsers). */
  COOKIE = 'COOKIE',
  /** Return a bearer token (API clients): send it as `Authorization: Bearer <token>`. */
  TOKEN = 'TOKEN',
}
registerEnumType(LoginMode, { name: 'LoginMode' });

@InputType()
export class LoginInput {
  @Field()
  @IsEmail({}, { message: '$property must be an email address' })
  @MaxLength(254)
  email!: string;

  @Field()
  @MaxLength(1024)
  password!: string;

  @Field(() => LoginMode, { defaultValue: LoginMode.COOKIE })
  mode!: LoginMode;
}

@InputType()
export class TwoFactorLoginInput {
  @Field({ description: 'The `twoFactorChallenge` the first step answered with.' })
  @MaxLength(2048)
  challenge!: string;

  @Field({ description: 'The current six-digit code of the authenticator app, or a backup code.' })
  @MaxLength(64)
  code!: string;

  @Field(() => LoginMode, { defaultValue: LoginMode.COOKIE })
  mode!: LoginMode;
}

@ObjectType()
@TypeRequires(Public)
export class LoginPayload {
  @Field(() => User, {
    nullable: true,
    description: 'The signed-in user; null while a second factor is awaited.',
  })
  user!: User | null;

  @Field(() => String, {
    nullable: true,
    description: 'The bearer token (TOKEN mode only); shown once.',
  })
  token!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Set when the account has two-factor sign-in on: pass it with a code to completeTwoFactorLogin (valid for a few minutes).',
  })
  twoFactorChallenge!: string | null;
}

@DenyByDefault()
@Resolver()
export class AuthResolver {
  @Query(() => User, { description: 'The signed-in user.' })
  @Requires(Authenticated)
  me(@Ctx() { principal }: GraphQLContext): User {
    return signedInUser(principal).user;
  }

  @Mutation(() => LoginPayload, {
    description:
      'Signs in with email and password. With two-factor sign-in on, answers with a challenge for completeTwoFactorLogin instead.',
  })
  @Requires(Public)
  async login(@Arg('input') input: LoginInput, @Ctx() ctx: GraphQLContext): Promise<LoginPayload> {
    const { req, res, services, em } = ctx;
    const user = await services.logins.checkPassword(em, req, res, input.email, input.password);
    // The answer never says whether an account exists.
    if (!user) throw new UnauthenticatedError('Unable to sign in with the provided credentials');
    const admission = await services.logins.admit(em, user, LoginMethod.PASSWORD);
    if (admission.kind === 'twoFactor') {
      return { user: null, token: null, twoFactorChallenge: admission.challenge };
    }
    return signIn(ctx, user, admission.method, input.mode);
  }

  @Mutation(() => LoginPayload, {
    description: 'The second step of a sign-in with two-factor sign-in on.',
  })
  @Requires(Public)
  async completeTwoFactorLogin(
    @Arg('input') input: TwoFactorLoginInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<LoginPayload> {
    const { user, method } = await ctx.services.logins.completeChallenge(
      ctx.em,
      input.challenge,
      input.code,
      ctx.req.ip,
    );
    return signIn(ctx, user, method, input.mode);
  }

  @Mutation(() => Boolean, {
    description: 'Ends the current session or revokes the current token.',
  })
  @Requires(Authenticated)
  async logout(@Ctx() { principal, req, em, services }: GraphQLContext): Promise<boolean> {
    const me = signedInUser(principal);
    if (me.session.kind === SessionKind.TOKEN) {
      await services.tokens.revoke(em, me.session.idHash);
      return true;
    }
    await new Promise<void>((resolve, reject) =>
      req.logout((err) =>
        err
          ? reject(err as Error)
          : req.session.destroy((e) => (e ? reject(e as Error) : resolve())),
      ),
    );
    return true;
  }
}

/** Opens the session and makes the rest of this request run as the signed-in user. */
async function signIn(
  ctx: GraphQLContext,
  user: User,
  method: LoginMethod,
  mode: LoginMode,
): Promise<LoginPayload> {
  const kind = mode === LoginMode.TOKEN ? SessionKind.TOKEN : SessionKind.COOKIE;
  const opened = await ctx.services.logins.openSession(ctx.em, ctx.req, user, method, kind);
  ctx.principal = { kind: 'user', user, session: { idHash: opened.idHash, kind, method } };
  ctx.permissions = new PermissionService(ctx.em, ctx.principal);
  return { user, token: opened.token, twoFactorChallenge: null };
}
