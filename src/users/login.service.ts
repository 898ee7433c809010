import type { EntityManager } from '@mikro-orm/postgresql';
import type { Request, Response } from 'express';
import { OrganisationMembership } from '../organisations/membership.entity';
import { AppError, ForbiddenError, UnauthenticatedError } from '../shared/errors';
import { sha256Hex } from '../shared/ids';
import type { SecretBox } from '../shared/secret-box';
import { LoginMethod } from './login-method';
import type { LoginThrottleService } from './login-throttle.service';
import { authenticateLocal, type PassportInstance } from './passport';
import type { PasswordHasher } from './password';
import type { SessionMeta, TokenService } from './session.service';
import type { TwoFactorService } from './two-factor.service';
import { SessionKind } from './user-session.entity';
import { User } from './user.entity';

declare module 'express-session' {
  interface SessionData {
    /** How this browser session was opened (checked on every request). */
    loginMethod?: LoginMethod;
  }
}

/** The result of a first factor: signed in, or waiting for the second factor. */
export type Admission =
  | { readonly kind: 'admitted'; readonly user: User; readonly method: LoginMethod }
  | { readonly kind: 'twoFactor'; readonly challenge: string };

/** An opened session: a token (TOKEN) or a cookie (COOKIE), and its stored hash. */
export interface OpenedSession {
  readonly token: string | null;
  readonly idHash: string;
}

const CHALLENGE_CONTEXT = 'login-challenge';

interface ChallengeBody {
  readonly u: number;
  readonly m: LoginMethod;
  /** Expiry, ms since the epoch. */
  readonly e: number;
}

/**
 * What every way of signing in shares once the first factor (password, OAuth) has named a
 * user: the account must be active, the method allowed by every organisation the user
 * belongs to, and a second factor given when the user has turned it on. Then a session.
 */
export class LoginService {
  constructor(
    private readonly deps: {
      readonly secrets: SecretBox;
      readonly twoFactor: TwoFactorService;
      readonly tokens: TokenService;
      readonly throttle: LoginThrottleService;
      readonly passwords: PasswordHasher;
      readonly passport: PassportInstance;
      readonly challengeTtlMs: number;
    },
  ) {}

  /**
   * The login methods the user's organisations leave open: null when none restricts them;
   * otherwise the methods every restricting organisation allows (possibly none).
   */
  async allowedMethods(
    em: EntityManager,
    userId: number,
  ): Promise<ReadonlySet<LoginMethod> | null> {
    const memberships = await em.find(
      OrganisationMembership,
      { user: userId },
      { populate: ['organisation'] },
    );
    const restricting = memberships.filter((m) => m.organisation.allowedLoginMethods.length > 0);
    if (restricting.length === 0) return null;
    let allowed = new Set(Object.values(LoginMethod));
    for (const m of restricting) {
      const own = new Set(m.organisation.allowedLoginMethods);
      allowed = new Set([...allowed].filter((method) => own.has(method)));
    }
    return allowed;
  }

  /** Throws FORBIDDEN (reason LOGIN_METHOD_NOT_ALLOWED) unless `method` is open to the user. */
  async assertMethodAllowed(em: EntityManager, userId: number, method: LoginMethod): Promise<void> {
    const allowed = await this.allowedMethods(em, userId);
    if (allowed === null || allowed.has(method)) return;
    throw methodNotAllowed(method, allowed);
  }

  /**
   * Why a session opened with `method` may no longer be used (UNAUTHENTICATED, reason
   * LOGIN_METHOD_NOT_ALLOWED), or null when the user's organisations still allow it.
   */
  async sessionRefusal(
    em: EntityManager,
    userId: number,
    method: LoginMethod,
  ): Promise<AppError | null> {
    const allowed = await this.allowedMethods(em, userId);
    if (allowed === null || allowed.has(method)) return null;
    const list = [...allowed];
    return new AppError(
      'UNAUTHENTICATED',
      `Your organisation no longer allows sessions opened with ${method}; sign in again${list.length ? ` with ${list.join(' or ')}` : ''}`,
      { reason: 'LOGIN_METHOD_NOT_ALLOWED', allowedMethods: list },
    );
  }

  /**
   * The first factor by e-mail and password, counted by the throttle: the user, or null for
   * wrong credentials (unknown e-mails count like known ones). While the account or address
   * is blocked it throws TOO_MANY_REQUESTS, after costing what a password check costs.
   */
  async checkPassword(
    em: EntityManager,
    req: Request,
    res: Response,
    email: string,
    password: string,
  ): Promise<User | null> {
    const throttle = this.deps.throttle;
    const retryAfter = await throttle.blockedFor(em, email, req.ip);
    if (retryAfter > 0) {
      // A block tells no more than a failure does.
      await this.deps.passwords.verifyDecoy(password);
      throw throttle.blockedError(retryAfter);
    }
    const user = await authenticateLocal(this.deps.passport, req, res, email, password);
    if (!user) {
      await throttle.recordFailure(em, email, req.ip);
      return null;
    }
    await throttle.recordSuccess(em, email);
    return user;
  }

  /**
   * Uses up a TOTP or backup code of the user, counted by the throttle: false (and a failed
   * sign-in recorded) for a wrong code; TOO_MANY_REQUESTS while the account or address is
   * blocked.
   */
  async useCode(
    em: EntityManager,
    user: User,
    code: string,
    ip: string | undefined,
  ): Promise<boolean> {
    const throttle = this.deps.throttle;
    const retryAfter = await throttle.blockedFor(em, user.email, ip);
    if (retryAfter > 0) throw throttle.blockedError(retryAfter);
    if (await this.deps.twoFactor.verifyAnyCode(em, user, code)) return true;
    await throttle.recordFailure(em, user.email, ip);
    return false;
  }

  /** After a first factor proved `user`: refuse, ask for the second factor, or admit. */
  async admit(em: EntityManager, user: User, method: LoginMethod): Promise<Admission> {
    if (!user.isActive) throw new UnauthenticatedError('This account is inactive');
    await this.assertMethodAllowed(em, user.id, method);
    if (!user.twoFactorEnabled) return { kind: 'admitted', user, method };
    const body: ChallengeBody = { u: user.id, m: method, e: Date.now() + this.deps.challengeTtlMs };
    return {
      kind: 'twoFactor',
      challenge: this.deps.secrets.seal(JSON.stringify(body), CHALLENGE_CONTEXT),
    };
  }

  /**
   * Completes a sign-in that waits for its second factor: a current TOTP code or an unused
   * backup code. Wrong codes count as failed sign-ins of the account and the address.
   */
  async completeChallenge(
    em: EntityManager,
    challenge: string,
    code: string,
    ip: string | undefined,
  ): Promise<{ readonly user: User; readonly method: LoginMethod }> {
    const body = this.openChallenge(challenge);
    const user = await em.findOne(User, { id: body.u });
    if (!user?.isActive || !user.twoFactorEnabled) {
      throw new UnauthenticatedError('This sign-in has expired; start again');
    }
    if (!(await this.useCode(em, user, code, ip))) {
      throw new UnauthenticatedError('The two-factor code is not valid');
    }
    await this.deps.throttle.recordSuccess(em, user.email);
    // The restriction may have changed while the code was being typed.
    await this.assertMethodAllowed(em, user.id, body.m);
    return { user, method: body.m };
  }

  /** Opens the session of an admitted user and records the sign-in time. */
  async openSession(
    em: EntityManager,
    req: Request,
    user: User,
    method: LoginMethod,
    kind: SessionKind,
  ): Promise<OpenedSession> {
    user.lastLogin = new Date();
    await em.nativeUpdate(User, { id: user.id }, { lastLogin: user.lastLogin });
    if (kind === SessionKind.TOKEN) {
      const meta: SessionMeta = { userAgent: req.get('user-agent'), ip: req.ip };
      const token = await this.deps.tokens.issue(em, user, meta, method);
      return { token, idHash: sha256Hex(token) };
    }
    // passport regenerates the session id on login (no session fixation).
    await new Promise<void>((resolve, reject) =>
      req.login(user, (err) => (err ? reject(err as Error) : resolve())),
    );
    req.session.loginMethod = method;
    return { token: null, idHash: sha256Hex(req.sessionID) };
  }

  private openChallenge(challenge: string): ChallengeBody {
    let body: ChallengeBody;
    try {
      body = JSON.parse(this.deps.secrets.open(challenge, CHALLENGE_CONTEXT)) as ChallengeBody;
    } catch {
      throw new UnauthenticatedError('This sign-in has expired; start again');
    }
    if (typeof body.u !== 'number' || typeof body.e !== 'number' || body.e < Date.now()) {
      throw new UnauthenticatedError('This sign-in has expired; start again');
    }
    return body;
  }
}

export function methodNotAllowed(
  method: LoginMethod,
  allowed: ReadonlySet<LoginMethod>,
): ForbiddenError {
  const list = [...allowed];
  return new ForbiddenError(
    list.length
      ? `Your organisation does not allow signing in with ${method}; use ${list.join(' or ')}`
      : `Your organisations' login restrictions leave no way to sign in; ask an administrator`,
    { reason: 'LOGIN_METHOD_NOT_ALLOWED', allowedMethods: list },
  );
}
