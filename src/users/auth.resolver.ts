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
import { TooManyRequestsError, UnauthenticatedError } from '../shared/errors';
import { sha256Hex } from '../shared/ids';
import { authenticateLocal } from './passport';
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

@ObjectType()
@TypeRequires(Public)
export class LoginPayload {
  @Field(() => User)
  user!: User;

  @Field(() => String, {
    nullable: true,
    description: 'The bearer token (TOKEN mode only); shown once.',
  })
  token!: string | null;
}

@DenyByDefault()
@Resolver()
export class AuthResolver {
  @Query(() => User, { description: 'The signed-in user.' })
  @Requires(Authenticated)
  me(@Ctx() { principal }: GraphQLContext): User {
    if (principal.kind !== 'user') throw new UnauthenticatedError();
    return principal.user;
  }

  @Mutation(() => LoginPayload, { description: 'Signs in with email and password.' })
  @Requires(Public)
  async login(@Arg('input') input: LoginInput, @Ctx() ctx: GraphQLContext): Promise<LoginPayload> {
    const { req, res, services, em } = ctx;
    const throttle = services.loginThrottle;
    const retryAfter = await throttle.blockedFor(em, input.email, req.ip);
    if (retryAfter > 0) {
      // Cost what a password check costs, so a block tells no more than a failure does.
      await services.passwords.verifyDecoy(input.password);
      throw new TooManyRequestsError(
        `Too many failed sign-in attempts; try again in ${retryAfter} seconds`,
        retryAfter,
      );
    }
    const user = await authenticateLocal(services.passport, req, res, input.email, input.password);
    if (!user) {
      // Unknown emails count like known ones: the answer never says whether an account exists.
      await throttle.recordFailure(em, input.email, req.ip);
      throw new UnauthenticatedError('Unable to sign in with the provided credentials');
    }
    await throttle.recordSuccess(em, input.email);
    user.lastLogin = new Date();
    await em.nativeUpdate(User, { id: user.id }, { lastLogin: user.lastLogin });
    let token: string | null = null;
    let idHash: string;
    if (input.mode === LoginMode.TOKEN) {
      token = await services.tokens.issue(em, user, {
        userAgent: req.get('user-agent'),
        ip: req.ip,
      });
      idHash = sha256Hex(token);
    } else {
      // passport regenerates the session id on login (no session fixation).
      await new Promise<void>((resolve, reject) =>
        req.login(user, (err) => (err ? reject(err as Error) : resolve())),
      );
      idHash = sha256Hex(req.sessionID);
    }
    const kind = token ? SessionKind.TOKEN : SessionKind.COOKIE;
    ctx.principal = { kind: 'user', user, session: { idHash, kind } };
    ctx.permissions = new PermissionService(em, ctx.principal);
    return { user, token };
  }

  @Mutation(() => Boolean, {
    description: 'Ends the current session or revokes the current token.',
  })
  @Requires(Authenticated)
  async logout(@Ctx() { principal, req, em, services }: GraphQLContext): Promise<boolean> {
    if (principal.kind !== 'user') throw new UnauthenticatedError();
    if (principal.session.kind === SessionKind.TOKEN) {
      await services.tokens.revoke(em, principal.session.idHash);
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
