import { MaxLength } from 'class-validator';
import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Field,
  ID,
  Int,
  Mutation,
  ObjectType,
  Query,
  Resolver,
} from 'type-graphql';
import { ChangeType } from '../audit/audit.service';
import type { GraphQLContext } from '../graphql/context';
import { Authenticated } from '../permissions/requirement';
import { DenyByDefault, Requires, TypeRequires } from '../permissions/requires.decorator';
import { NotFoundError, ValidationError } from '../shared/errors';
import { WrongTwoFactorCode } from './two-factor.service';
import { signedInUser } from './principal';
import { userChange } from './user-audit';
import { User } from './user.entity';

@ObjectType({ description: 'A new TOTP seed, to be confirmed with a first code.' })
@TypeRequires(Authenticated)
export class TwoFactorSetupPayload {
  @Field({ description: 'The seed in base32, for apps that cannot scan the URI.' })
  manualEntryKey!: string;

  @Field({ description: 'An `otpauth://totp/…` URI, usually shown as a QR code.' })
  otpauthUri!: string;
}

@ObjectType({ description: 'Single-use backup codes; shown once.' })
@TypeRequires(Authenticated)
export class BackupCodesPayload {
  @Field(() => [String])
  backupCodes!: string[];
}

@ObjectType({ description: 'Your two-factor sign-in.' })
@TypeRequires(Authenticated)
export class TwoFactorStatus {
  @Field()
  enabled!: boolean;

  @Field(() => Int)
  unusedBackupCodes!: number;
}

@ArgsType()
class TwoFactorCodeArgs {
  @Field({ description: 'A current code of your authenticator app, or a backup code.' })
  @MaxLength(64)
  code!: string;
}

/** Your own two-factor sign-in (TOTP with backup codes), and its reset by administrators. */
@DenyByDefault()
@Resolver()
export class TwoFactorResolver {
  @Query(() => TwoFactorStatus, { description: 'Whether your two-factor sign-in is on.' })
  @Requires(Authenticated)
  async twoFactorStatus(
    @Ctx() { em, principal, services }: GraphQLContext,
  ): Promise<TwoFactorStatus> {
    const me = signedInUser(principal);
    const user = await em.findOneOrFail(User, me.user.id);
    return {
      enabled: user.twoFactorEnabled,
      unusedBackupCodes: await services.twoFactor.unusedBackupCodes(em, user.id),
    };
  }

  @Mutation(() => TwoFactorSetupPayload, {
    description:
      'Starts setting up two-factor sign-in: a new seed for your authenticator app. Nothing changes until confirmTwoFactor.',
  })
  @Requires(Authenticated)
  async beginTwoFactorSetup(
    @Ctx() { em, principal, services }: GraphQLContext,
  ): Promise<TwoFactorSetupPayload> {
    const me = signedInUser(principal);
    const user = await em.findOneOrFail(User, me.user.id);
    return services.twoFactor.begin(em, user);
  }

  @Mutation(() => BackupCodesPayload, {
    description:
      'Turns two-factor sign-in on with a first code from the app. Your other sessions end; the backup codes are shown once.',
  })
  @Requires(Authenticated)
  async confirmTwoFactor(
    @Args() { code }: TwoFactorCodeArgs,
    @Ctx() { em, principal, permissions, services, req }: GraphQLContext,
  ): Promise<BackupCodesPayload> {
    const me = signedInUser(principal);
    // Wrong codes count as failed sign-ins of the account and the address, as everywhere
    // else a code is checked (and are refused while those are blocked).
    const throttle = services.loginThrottle;
    const retryAfter = await throttle.blockedFor(em, me.user.email, req.ip);
    if (retryAfter > 0) throw throttle.blockedError(retryAfter);
    const backupCodes = await em
      .transactional(async (tx) => {
        const user = await tx.findOneOrFail(User, me.user.id);
        const codes = await services.twoFactor.confirm(tx, user, code);
        await services.sessions.revokeAll(tx, user.id, me.session.idHash);
        await services.audit.record(
          tx,
          permissions,
          userChange(user, ChangeType.UPDATE, 'Two-factor sign-in turned on', {
            twoFactor: 'on',
            sessions: 'others ended',
          }),
        );
        return codes;
      })
      .catch(async (err: unknown) => {
        if (err instanceof WrongTwoFactorCode)
          await throttle.recordFailure(em, me.user.email, req.ip);
        throw err;
      });
    return { backupCodes };
  }

  @Mutation(() => BackupCodesPayload, {
    description: 'Replaces your backup codes; the old ones stop working. Needs a current code.',
  })
  @Requires(Authenticated)
  async regenerateBackupCodes(
    @Args() { code }: TwoFactorCodeArgs,
    @Ctx() { em, principal, permissions, services, req }: GraphQLContext,
  ): Promise<BackupCodesPayload> {
    const me = signedInUser(principal);
    await requireCode(em, services, me.user.id, code, req.ip);
    const backupCodes = await em.transactional(async (tx) => {
      const user = await tx.findOneOrFail(User, me.user.id);
      const codes = await services.twoFactor.replaceBackupCodes(tx, user);
      await services.audit.record(
        tx,
        permissions,
        userChange(user, ChangeType.UPDATE, 'Two-factor backup codes replaced', {
          backupCodes: 'replaced',
        }),
      );
      return codes;
    });
    return { backupCodes };
  }

  @Mutation(() => Boolean, {
    description: 'Turns your two-factor sign-in off. Needs a current code or a backup code.',
  })
  @Requires(Authenticated)
  async disableTwoFactor(
    @Args() { code }: TwoFactorCodeArgs,
    @Ctx() { em, principal, permissions, services, req }: GraphQLContext,
  ): Promise<boolean> {
    const me = signedInUser(principal);
    await requireCode(em, services, me.user.id, code, req.ip);
    await em.transactional(async (tx) => {
      const user = await tx.findOneOrFail(User, me.user.id);
      await services.twoFactor.disable(tx, user);
      await services.audit.record(
        tx,
        permissions,
        userChange(user, ChangeType.UPDATE, 'Two-factor sign-in turned off', { twoFactor: 'off' }),
      );
    });
    return true;
  }

  @Mutation(() => Boolean, {
    description:
      "Turns another user's two-factor sign-in off (a lost phone and lost backup codes). Needs the change_user model permission; their sessions end.",
  })
  @Requires({ kind: 'model', codename: 'change_user' })
  async resetUserTwoFactor(
    @Arg('userId', () => ID) userId: string,
    @Ctx() { em, permissions, services }: GraphQLContext,
  ): Promise<boolean> {
    const id = Number(userId);
    await em.transactional(async (tx) => {
      const user = Number.isSafeInteger(id) ? await tx.findOne(User, id) : null;
      if (!user) throw new NotFoundError('User', 'userId');
      await services.twoFactor.disable(tx, user);
      await services.sessions.revokeAll(tx, user.id);
      await services.audit.record(
        tx,
        permissions,
        userChange(user, ChangeType.UPDATE, 'Two-factor sign-in reset by an administrator', {
          twoFactor: 'off',
          sessions: 'ended',
        }),
      );
    });
    return true;
  }
}

/**
 * Uses up a current code or a backup code of the user, or refuses; wrong codes count as
 * failed sign-ins of the account and the address (and are refused while those are blocked).
 */
async function requireCode(
  em: GraphQLContext['em'],
  services: GraphQLContext['services'],
  userId: number,
  code: string,
  ip: string | undefined,
): Promise<void> {
  const user = await em.findOneOrFail(User, userId);
  if (!user.twoFactorEnabled) throw new ValidationError('code', 'two-factor sign-in is off');
  if (!(await services.logins.useCode(em, user, code, ip))) {
    throw new ValidationError('code', 'is not a current code or an unused backup code');
  }
}
