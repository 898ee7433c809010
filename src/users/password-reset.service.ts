import type { EntityManager } from '@mikro-orm/core';
import type { AuditService } from '../audit/audit.service';
import type { Mailer } from '../mail/mailer';
import { PermissionService } from '../permissions/permission.service';
import type { LoginThrottleConfig } from '../config/config';
import { attempts } from '../shared/attempt-counter';
import { TooManyRequestsError, ValidationError } from '../shared/errors';
import { randomSecret, sha256Hex } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { PasswordResetToken } from './password-reset-token.entity';
import { ANONYMOUS } from './principal';
import type { SessionService } from './session.service';
import { replacePassword } from './user-audit';
import { User } from './user.entity';
import { checkPassword, type UserService } from './user.service';

/** A reset token that names no unused, unexpired link of an active user. */
class InvalidResetToken extends ValidationError {
  constructor() {
    super('token', 'this reset link is not valid: it may have been used already or have expired');
  }
}

/**
 * Password reset by e-mail: a single-use token that expires, mailed as a link to
 * `<PUBLIC_URL>/password-reset?token=…`; only its SHA-256 is stored.
 */
export class PasswordResetService {
  constructor(
    readonly users: UserService,
    readonly sessions: SessionService,
    readonly audit: AuditService,
    private readonly mailer: Mailer,
    private readonly options: {
      readonly publicUrl: string;
      readonly ttlMs: number;
      readonly limits: LoginThrottleConfig;
    },
    private readonly logger: Logger,
  ) {}

  /**
   * Mails a reset link when an active user has this e-mail. The caller learns nothing
   * either way: the answer is the same, and the mail is sent in the background so the
   * time taken does not depend on it.
   *
   * Requests are limited per e-mail address (no inbox gets flooded) and per client address
   * (nobody walks a list of addresses), counted whether or not an account exists; past a
   * limit, TOO_MANY_REQUESTS until the block ends.
   */
  async request(em: EntityManager, email: string, address: string | undefined): Promise<void> {
    const subjects = [
      `reset-email:${email.trim().toLowerCase()}`,
      `reset-address:${address || 'unknown'}`,
    ] as const;
    const retryAfter = await attempts.blockedFor(em, subjects);
    if (retryAfter > 0) {
      throw new TooManyRequestsError(
        `Too many password reset requests; try again in ${retryAfter} seconds`,
        retryAfter,
      );
    }
    const { resetPerEmail, resetPerAddress, windowMs, blockMs } = this.options.limits;
    await attempts.count(em, subjects[0], { limit: resetPerEmail, windowMs, blockMs });
    await attempts.count(em, subjects[1], { limit: resetPerAddress, windowMs, blockMs });
    const user = await this.users.findByEmail(em, email);
    if (!user || !user.isActive) return;
    const url = await this.issue(em, user);
    const minutes = Math.round(this.options.ttlMs / 60_000);
    void this.mailer
      .send({
        to: user.email,
        subject: 'Reset your Flagward password',
        text: [
          'Someone (we hope you) asked to reset the password of your Flagward account.',
          '',
          `Choose a new password here (the link works once, for ${minutes} minutes):`,
          url,
          '',
          'If it was not you, ignore this mail: your password stays as it is.',
        ].join('\n'),
      })
      .catch((err: unknown) => this.logger.error({ err }, 'password reset mail failed'));
  }

  /** A new reset link for the user (also what the first-run page hands out). */
  async issue(em: EntityManager, user: User): Promise<string> {
    const token = randomSecret(32);
    em.create(PasswordResetToken, {
      tokenHash: sha256Hex(token),
      user,
      expiresAt: new Date(Date.now() + this.options.ttlMs),
    });
    await em.flush();
    return `${this.options.publicUrl}/password-reset?token=${encodeURIComponent(token)}`;
  }

  /**
   * Sets a new password with a reset token: the token is used up, every other reset link of
   * the user stops working, and every session of the user ends.
   *
   * Tokens cannot be guessed (256 bits), but wrong ones are still limited per client address
   * (`PASSWORD_RESET_MAX_PER_ADDRESS` in the sign-in window): past it, TOO_MANY_REQUESTS.
   */
  async reset(
    em: EntityManager,
    token: string,
    newPassword: string,
    address: string | undefined,
  ): Promise<User> {
    const subject = `reset-token-address:${address || 'unknown'}`;
    const retryAfter = await attempts.blockedFor(em, [subject]);
    if (retryAfter > 0) {
      throw new TooManyRequestsError(
        `Too many invalid password reset links; try again in ${retryAfter} seconds`,
        retryAfter,
      );
    }
    checkPassword(newPassword, 'newPassword');
    try {
      return await this.consume(em, token, newPassword);
    } catch (err) {
      if (err instanceof InvalidResetToken) {
        // Counted outside the refused transaction, which rolled back.
        const { resetPerAddress, windowMs, blockMs } = this.options.limits;
        await attempts.count(em, subject, { limit: resetPerAddress, windowMs, blockMs });
      }
      throw err;
    }
  }

  private consume(em: EntityManager, token: string, newPassword: string): Promise<User> {
    return em.transactional(async (tx) => {
      const row = await tx.findOne(PasswordResetToken, {
        tokenHash: sha256Hex(token),
        usedAt: null,
        expiresAt: { $gt: new Date() },
      });
      const user = row && (await tx.findOne(User, { id: row.user.id, isActive: true }));
      if (!row || !user) throw new InvalidResetToken();
      // Claimed with a condition, so two uses of one link cannot both succeed.
      const claimed = await tx.nativeUpdate(
        PasswordResetToken,
        { tokenHash: row.tokenHash, usedAt: null },
        { usedAt: new Date() },
      );
      if (claimed !== 1) throw new InvalidResetToken();
      await tx.nativeUpdate(
        PasswordResetToken,
        { user: user.id, usedAt: null },
        { usedAt: new Date() },
      );
      await replacePassword(tx, this, new PermissionService(tx, ANONYMOUS), user, newPassword, {
        what: 'Password reset by e-mail link',
        // The account's owner, who proved it by holding the mailed link.
        authorId: user.id,
      });
      return user;
    });
  }
}
