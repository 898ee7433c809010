import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/core';
import { ChangeType, type AuditService } from '../audit/audit.service';
import { PermissionService } from '../permissions/permission.service';
import { AppError, ForbiddenError } from '../shared/errors';
import { LoginMethod, type OAuthProvider } from './login-method';
import { type OAuthProfile, type OAuthStrategies, parseProfile } from './oauth.strategies';
import { ANONYMOUS } from './principal';
import { SocialAccount } from './social-account.entity';
import { userChange } from './user-audit';
import type { User } from './user.entity';
import { normaliseEmail, type UserService } from './user.service';

export const PROVIDER_LABEL: Record<OAuthProvider, string> = {
  [LoginMethod.GOOGLE]: 'Google',
  [LoginMethod.GITHUB]: 'GitHub',
};

/** The variables that turn each provider on. */
const SETTINGS: Record<OAuthProvider, string> = {
  [LoginMethod.GOOGLE]: 'OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET',
  [LoginMethod.GITHUB]: 'GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET',
};

/**
 * The provider did not give a profile for an access token: `refused` when it answered (an
 * invalid or expired token), otherwise it could not be reached or answered nonsense.
 */
export class OAuthProviderError extends Error {
  constructor(
    message: string,
    readonly refused: boolean,
  ) {
    super(message);
    this.name = 'OAuthProviderError';
  }
}

const NAME_LENGTH = 150;

/**
 * Signing in through Google or GitHub: finds the account an OAuth profile belongs to by the
 * provider's subject id, links an existing account by a verified e-mail address, or (when
 * sign-up is open) creates one. What happens next (restrictions, second factor, session)
 * is the LoginService's, as for passwords.
 */
export class OAuthService {
  constructor(
    private readonly deps: {
      readonly users: UserService;
      readonly audit: AuditService;
      readonly strategies: OAuthStrategies;
      /** Whether a first sign-in with an unknown verified address creates an account. */
      readonly signup: boolean;
    },
  ) {}

  isConfigured(provider: OAuthProvider): boolean {
    return this.deps.strategies[provider] !== undefined;
  }

  /** Which providers this server offers. */
  providers(): Record<OAuthProvider, boolean> {
    return {
      [LoginMethod.GOOGLE]: this.isConfigured(LoginMethod.GOOGLE),
      [LoginMethod.GITHUB]: this.isConfigured(LoginMethod.GITHUB),
    };
  }

  /** Answer for a provider that is not configured (HTTP 404). */
  notConfiguredMessage(provider: OAuthProvider): string {
    return `${PROVIDER_LABEL[provider]} sign-in is not configured: set ${SETTINGS[provider]}`;
  }

  /**
   * Reads the profile of the account an access token belongs to, with the strategy's own
   * `userProfile` (so the configured URLs apply).
   */
  fetchProfile(provider: OAuthProvider, accessToken: string): Promise<OAuthProfile> {
    const strategy = this.deps.strategies[provider];
    if (!strategy) return Promise.reject(new Error(this.notConfiguredMessage(provider)));
    const label = PROVIDER_LABEL[provider];
    // A token is visible ASCII (RFC 6750's b64token); anything else cannot even be sent.
    if (!/^[\x21-\x7e]+$/.test(accessToken)) {
      return Promise.reject(
        new OAuthProviderError(`${label} did not accept the access token`, true),
      );
    }
    return new Promise((resolve, reject) => {
      strategy.userProfile(accessToken, (err, profile) => {
        if (err) {
          reject(
            answered(err)
              ? new OAuthProviderError(`${label} did not accept the access token`, true)
              : new OAuthProviderError(`${label} could not be reached; try again shortly`, false),
          );
          return;
        }
        try {
          resolve(parseProfile(provider, profile));
        } catch {
          reject(new OAuthProviderError(`${label} gave an unusable profile`, false));
        }
      });
    });
  }

  /**
   * The user a provider's profile signs in as. A known provider account signs in its user;
   * otherwise a verified address links the account with that address (case-insensitive),
   * or creates one when sign-up is open. Links and new accounts are audited.
   */
  async signIn(em: EntityManager, provider: OAuthProvider, profile: OAuthProfile): Promise<User> {
    // Two first sign-ins at once may both try to link: the loser finds the winner's link.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.trySignIn(em, provider, profile);
      } catch (err) {
        if (attempt > 0 || !(err instanceof UniqueConstraintViolationException)) throw err;
        em.clear();
      }
    }
  }

  private async trySignIn(
    em: EntityManager,
    provider: OAuthProvider,
    profile: OAuthProfile,
  ): Promise<User> {
    const label = PROVIDER_LABEL[provider];
    const subject = profile.subject;
    if (!subject || subject.length > 255) {
      throw new ForbiddenError(`${label} gave no usable account id`, {
        reason: 'OAUTH_PROFILE_INVALID',
      });
    }
    const email = verifiedEmail(label, profile);
    const known = await em.findOne(SocialAccount, { provider, subject }, { populate: ['user'] });
    if (known) {
      known.lastLoginAt = new Date();
      if (email) known.email = email;
      await em.flush();
      return known.user;
    }
    if (!email) {
      throw new ForbiddenError(
        profile.email
          ? `${label} has not verified ${profile.email}; verify the address with ${label}, then sign in again`
          : `${label} gave no e-mail address for this account`,
        { reason: 'EMAIL_NOT_VERIFIED' },
      );
    }
    return em.transactional(async (tx) => {
      const actor = new PermissionService(tx, ANONYMOUS);
      const existing = await this.deps.users.findByEmail(tx, email);
      if (existing) {
        await this.link(tx, existing, provider, subject, email);
        await this.deps.audit.record(
          tx,
          actor,
          userChange(
            existing,
            ChangeType.UPDATE,
            `Linked ${provider} account`,
            { linkedAccount: provider },
            existing.id,
          ),
        );
        return existing;
      }
      if (!this.deps.signup) {
        throw new ForbiddenError(
          `No Flagward account uses ${email}, and signing up with ${label} is turned off; ask an administrator to invite you`,
          { reason: 'SIGNUP_DISABLED' },
        );
      }
      const user = await this.deps.users.create(tx, {
        email,
        password: null,
        firstName: profile.firstName.slice(0, NAME_LENGTH),
        lastName: profile.lastName.slice(0, NAME_LENGTH),
      });
      await this.link(tx, user, provider, subject, email);
      await this.deps.audit.record(
        tx,
        actor,
        userChange(
          user,
          ChangeType.CREATE,
          `Signed up with ${provider}`,
          { signedUpWith: provider },
          user.id,
        ),
      );
      return user;
    });
  }

  private async link(
    tx: EntityManager,
    user: User,
    provider: OAuthProvider,
    subject: string,
    email: string,
  ): Promise<void> {
    tx.create(SocialAccount, { user, provider, subject, email });
    await tx.flush();
  }
}

/** The profile's address when the provider vouches for it and it is usable; else null. */
function verifiedEmail(label: string, profile: OAuthProfile): string | null {
  if (!profile.email || !profile.emailVerified) return null;
  try {
    return normaliseEmail(profile.email);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw new ForbiddenError(`${label} gave an e-mail address Flagward cannot use`, {
      reason: 'OAUTH_PROFILE_INVALID',
    });
  }
}

/** Whether a strategy's error is the provider's answer (HTTP status) rather than no answer. */
function answered(err: unknown): boolean {
  const e = err as { oauthError?: { statusCode?: unknown }; name?: unknown; code?: unknown };
  if (typeof e.oauthError?.statusCode === 'number') return true;
  // passport-google-oauth20's own errors carry the provider's JSON error.
  return e.name === 'GooglePlusAPIError' || e.name === 'UserInfoError';
}
