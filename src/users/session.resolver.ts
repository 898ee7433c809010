import { MaxLength } from 'class-validator';
import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Field,
  ID,
  InputType,
  Int,
  Mutation,
  ObjectType,
  Query,
  registerEnumType,
  Resolver,
} from 'type-graphql';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated } from '../permissions/requirement';
import { DenyByDefault, Requires, TypeRequires } from '../permissions/requires.decorator';
import {
  arrayPage,
  type ConnectionValue,
  connectionType,
  listArgs,
  OrderDirection,
  type SortKey,
  toConnection,
} from '../shared/cursor';
import { ValidationError } from '../shared/errors';
import { LoginMethod } from './login-method';
import { signedInUser } from './principal';
import { publicSessionId } from './session.service';
import { replacePassword } from './user-audit';
import { SessionKind } from './user-session.entity';
import { User } from './user.entity';
import { NotCached } from '../graphql/response-cache';

registerEnumType(SessionKind, {
  name: 'SessionKind',
  description: 'A browser session (cookie) or a bearer token.',
});

@ObjectType({ description: 'One of your signed-in sessions.' })
@TypeRequires(Authenticated)
export class SessionInfo {
  @Field(() => ID)
  id!: string;

  @Field(() => SessionKind)
  kind!: SessionKind;

  @Field()
  createdAt!: Date;

  @Field()
  lastSeenAt!: Date;

  @Field()
  expiresAt!: Date;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field(() => LoginMethod, { description: 'How the session was opened.' })
  loginMethod!: LoginMethod;

  @Field({ description: 'The session this request came with.' })
  current!: boolean;
}

export const SessionConnection = connectionType(SessionInfo, 'Session');

@InputType({ description: 'Narrows your list of sessions.' })
class SessionFilter {
  @Field(() => SessionKind, { nullable: true })
  kind?: SessionKind | null;
}

const SessionOrderField = { CREATED_AT: 'CREATED_AT', LAST_SEEN_AT: 'LAST_SEEN_AT' } as const;
type SessionOrderField = keyof typeof SessionOrderField;
const SESSION_KEYS: Record<SessionOrderField, SortKey<SessionInfo>> = {
  CREATED_AT: { path: ['createdAt'], value: (s) => s.createdAt.getTime() },
  LAST_SEEN_AT: { path: ['lastSeenAt'], value: (s) => s.lastSeenAt.getTime() },
};

@ArgsType()
class SessionListArgs extends listArgs(
  'Session',
  SessionOrderField,
  { field: 'CREATED_AT', direction: OrderDirection.DESC },
  { CREATED_AT: 'When it was opened.', LAST_SEEN_AT: 'When it was last used.' },
  { type: SessionFilter },
) {}

@InputType()
export class ChangePasswordInput {
  @Field()
  @MaxLength(1024)
  currentPassword!: string;

  @Field()
  @MaxLength(1024)
  newPassword!: string;
}

/** A user's own sessions and password. */
@DenyByDefault()
@Resolver()
export class SessionResolver {
  @Query(() => SessionConnection, { description: 'Your sessions and tokens, newest first.' })
  @NotCached()
  @Requires(Authenticated)
  async mySessions(
    @Args() args: SessionListArgs,
    @Ctx() { em, principal, services }: GraphQLContext,
  ): Promise<ConnectionValue<SessionInfo>> {
    const me = signedInUser(principal);
    const rows = await services.sessions.list(em, me.user.id);
    const kind = args.filter?.kind;
    const infos = rows
      .filter((s) => !kind || s.kind === kind)
      .map((s) => ({
        id: publicSessionId(s.idHash),
        kind: s.kind,
        createdAt: s.createdAt,
        lastSeenAt: s.lastSeenAt,
        expiresAt: s.expiresAt,
        userAgent: s.userAgent ?? null,
        ip: s.ip ?? null,
        loginMethod: s.loginMethod,
        current: s.idHash === me.session.idHash,
      }));
    return toConnection(arrayPage(infos, args, args.orderBy, SESSION_KEYS));
  }

  @Mutation(() => Boolean, { description: 'Ends one of your sessions (or revokes a token).' })
  @Requires(Authenticated)
  async revokeSession(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, principal, services }: GraphQLContext,
  ): Promise<boolean> {
    const me = signedInUser(principal);
    if (!(await services.sessions.revoke(em, me.user.id, id)))
      throw new ValidationError('id', 'you have no session with this id');
    return true;
  }

  @Mutation(() => Int, {
    description:
      'Ends all your sessions and tokens (but this one, with `keepCurrent`); returns how many.',
  })
  @Requires(Authenticated)
  logoutEverywhere(
    @Arg('keepCurrent', { defaultValue: false }) keepCurrent: boolean,
    @Ctx() { em, principal, services }: GraphQLContext,
  ): Promise<number> {
    const me = signedInUser(principal);
    return services.sessions.revokeAll(em, me.user.id, keepCurrent ? me.session.idHash : undefined);
  }

  @Mutation(() => Boolean, {
    description: 'Changes your password; every other session and token of yours ends.',
  })
  @Requires(Authenticated)
  async changePassword(
    @Arg('input') input: ChangePasswordInput,
    @Ctx() { em, principal, permissions, services }: GraphQLContext,
  ): Promise<boolean> {
    const me = signedInUser(principal);
    const user = await services.users.authenticate(em, me.user.email, input.currentPassword);
    if (!user || user.id !== me.user.id)
      throw new ValidationError('input.currentPassword', 'is not your current password');
    await em.transactional(async (tx) => {
      const row = await tx.findOneOrFail(User, me.user.id);
      await replacePassword(tx, services, permissions, row, input.newPassword, {
        what: 'Password changed',
        keepSession: me.session.idHash,
      });
    });
    return true;
  }
}
