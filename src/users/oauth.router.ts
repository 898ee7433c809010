import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  Router,
} from 'express';
import type { Orm } from '../db/orm';
import type { Services } from '../services';
import { AppError, TooManyRequestsError } from '../shared/errors';
import { LoginMethod, type OAuthProvider } from './login-method';
import { OAuthProviderError, PROVIDER_LABEL } from './oauth.service';
import { CALLBACK_PATH, type OAuthProfile, STRATEGY_NAME } from './oauth.strategies';
import { errorsOf, escape, field, page, pageHeaders, text } from './pages';
import { SessionKind } from './user-session.entity';

declare module 'express-session' {
  interface SessionData {
    /** Where to go after an OAuth sign-in started in this browser (a local path). */
    oauthNext?: string;
    /** An OAuth sign-in waiting for its second factor on /auth/two-factor/. */
    twoFactorLogin?: { readonly challenge: string; readonly next: string };
  }
}

const TWO_FACTOR_PATH = '/auth/two-factor/';
const PENDING_SIGN_IN_MS = 15 * 60_000;

/**
 * Sends a browser whose first factor passed to the second-factor page (served here), keeping
 * the challenge and where to go afterwards in its session. A session that carries only a
 * pending sign-in lives minutes, not the session TTL.
 */
export function awaitSecondFactor(
  req: Request,
  res: Response,
  challenge: string,
  next: string,
): void {
  if (!req.user) req.session.cookie.maxAge = PENDING_SIGN_IN_MS;
  req.session.twoFactorLogin = { challenge, next };
  res.redirect(302, TWO_FACTOR_PATH);
}

/**
 * A path on this server to return to: one leading slash (not `//` or `/\`, which browsers
 * read as another host), no whitespace or control characters (browsers drop tabs and
 * newlines, which could make `//` again). Anything else goes to `/`.
 */
export function safeNext(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || value.length > 2048) return fallback;
  // eslint-disable-next-line no-control-regex
  return /^\/(?![/\\])[^\\\s\u0000-\u001f\u007f]*$/.test(value) ? value : fallback;
}

/** What the custom callback of passport.authenticate receives. */
type AuthenticateCallback = (
  err: unknown,
  profile: OAuthProfile | false | undefined,
  info: unknown,
  status?: number | number[],
) => void;

/**
 * Google and GitHub sign-in: the browser redirect flow (start, callback, the second-factor
 * page), and Flagsmith's token exchange for frontends that already hold the provider's
 * access token (`POST /api/v1/auth/oauth/{google,github}/`). `sessions` is the app's
 * express-session middleware, shared with /graphql.
 */
export function oauthRouter(orm: Orm, services: Services, sessions: RequestHandler): Router {
  const router = Router();
  const { oauth, logins, passport } = services;
  const browser: RequestHandler[] = [sessions, passport.initialize(), passport.session()];

  const configured =
    (provider: OAuthProvider): RequestHandler =>
    (_req, res, next) => {
      if (oauth.isConfigured(provider)) return next();
      res.status(404).json({ detail: oauth.notConfiguredMessage(provider) });
    };

  /** The HTML answer to a refused or failed sign-in (never a 500). */
  const refuse = (res: Response, status: number, message: string): void => {
    pageHeaders(res);
    res
      .status(status)
      .type('html')
      .send(
        page(
          'Sign-in failed',
          `${errorsOf([message])}<p><a href="/">Back to the start page</a></p>`,
        ),
      );
  };

  const start =
    (provider: OAuthProvider, fixedNext?: string): RequestHandler =>
    (req, res, next) => {
      // A session that only carries the sign-in's state lives minutes, not the session TTL
      // (signing in replaces it with a full one).
      req.session.cookie.maxAge = PENDING_SIGN_IN_MS;
      req.session.oauthNext = fixedNext ?? safeNext(req.query.next);
      (passport.authenticate(STRATEGY_NAME[provider], { session: false }) as RequestHandler)(
        req,
        res,
        next,
      );
    };

  /** Signs the browser in as the admitted user, or sends it on to the second-factor page. */
  const finish = async (
    req: Request,
    res: Response,
    provider: OAuthProvider,
    profile: OAuthProfile,
  ): Promise<void> => {
    const next = safeNext(req.session.oauthNext);
    delete req.session.oauthNext;
    const em = orm.em.fork();
    try {
      const user = await oauth.signIn(em, provider, profile);
      const admission = await logins.admit(em, user, provider);
      if (admission.kind === 'twoFactor') {
        awaitSecondFactor(req, res, admission.challenge, next);
        return;
      }
      await logins.openSession(em, req, user, admission.method, SessionKind.COOKIE);
      res.redirect(302, next);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      refuse(res, err.status, err.message);
    }
  };

  const callback =
    (provider: OAuthProvider): RequestHandler =>
    (req, res, next) => {
      const label = PROVIDER_LABEL[provider];
      // Without either, passport would start a new sign-in instead of finishing one.
      if (!req.query.code && !req.query.error) {
        refuse(res, 400, `This is where ${label} sends a sign-in back; start signing in first`);
        return;
      }
      const done: AuthenticateCallback = (err, profile, info) => {
        if (err) {
          // The provider answered with an error, or the code could not be exchanged.
          services.logger.warn({ err, provider, requestId: req.requestId }, 'OAuth sign-in failed');
          refuse(res, 401, `${label} sign-in did not succeed; try again`);
          return;
        }
        if (!profile) {
          if (req.query.error) {
            refuse(res, 401, `${label} sign-in was cancelled`);
            return;
          }
          // A forged or replayed callback, or one from another browser: the state differs.
          const message = (info as { message?: unknown } | undefined)?.message;
          const why = typeof message === 'string' ? ` (${message})` : '';
          refuse(res, 403, `${label} sign-in could not be verified${why}; start again`);
          return;
        }
        finish(req, res, provider, profile).catch(next);
      };
      (passport.authenticate(STRATEGY_NAME[provider], { session: false }, done) as RequestHandler)(
        req,
        res,
        next,
      );
    };

  for (const provider of [LoginMethod.GOOGLE, LoginMethod.GITHUB] as const) {
    router.get(CALLBACK_PATH[provider], configured(provider), ...browser, callback(provider));
  }
  router.get(
    '/auth/oauth/google/',
    configured(LoginMethod.GOOGLE),
    ...browser,
    start(LoginMethod.GOOGLE),
  );
  router.get(
    '/admin/admin_sso/assignment/start/',
    configured(LoginMethod.GOOGLE),
    ...browser,
    start(LoginMethod.GOOGLE, '/admin/'),
  );
  router.get(
    '/auth/oauth/github/',
    configured(LoginMethod.GITHUB),
    ...browser,
    start(LoginMethod.GITHUB),
  );

  // The second factor of a browser sign-in.
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });
  const codeForm = (errors: readonly string[] = []): string =>
    page(
      'Two-factor sign-in',
      `<p>Enter the code your authenticator app shows, or one of your backup codes.</p>
${errorsOf(errors)}<form method="post" action="${escape(TWO_FACTOR_PATH)}">
${field('code', 'Code', 'text', '', 'autocomplete="one-time-code" inputmode="text" required maxlength="64" autofocus')}
<button type="submit">Sign in</button></form>`,
    );
  const noPendingSignIn = (res: Response): void =>
    refuse(res, 401, 'No sign-in is waiting for a code here; start again');

  router.get(TWO_FACTOR_PATH, ...browser, (req: Request, res: Response) => {
    if (!req.session.twoFactorLogin) return noPendingSignIn(res);
    pageHeaders(res);
    res.type('html').send(codeForm());
  });

  router.post(TWO_FACTOR_PATH, ...browser, form, async (req: Request, res: Response) => {
    const pending = req.session.twoFactorLogin;
    if (!pending) return noPendingSignIn(res);
    const em = orm.em.fork();
    let signedIn;
    try {
      signedIn = await logins.completeChallenge(
        em,
        pending.challenge,
        text(req.body, 'code').slice(0, 64),
        req.ip,
      );
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === 'FORBIDDEN') {
        delete req.session.twoFactorLogin;
        refuse(res, err.status, err.message);
        return;
      }
      if (err instanceof TooManyRequestsError) {
        res.set('retry-after', String(err.extensions.retryAfterSeconds));
      }
      pageHeaders(res);
      res
        .status(err.status)
        .type('html')
        .send(codeForm([err.message]));
      return;
    }
    delete req.session.twoFactorLogin;
    await logins.openSession(em, req, signedIn.user, signedIn.method, SessionKind.COOKIE);
    res.redirect(302, safeNext(pending.next));
  });

  // Flagsmith's token exchange: JSON in, `{key}` or `{ephemeral_token}` out.
  const json = express.json({ limit: '16kb', type: 'application/json' });
  const exchange =
    (provider: OAuthProvider) =>
    async (req: Request, res: Response): Promise<void> => {
      const body = req.body as Record<string, unknown> | undefined;
      const accessToken = body && typeof body === 'object' ? body.access_token : undefined;
      if (typeof accessToken !== 'string' || !accessToken.trim() || accessToken.length > 4096) {
        res.status(400).json({
          detail: 'Send a JSON body {"access_token": "..."} with the provider\'s access token',
        });
        return;
      }
      const em = orm.em.fork();
      try {
        const profile = await oauth.fetchProfile(provider, accessToken.trim());
        const user = await oauth.signIn(em, provider, profile);
        const admission = await logins.admit(em, user, provider);
        if (admission.kind === 'twoFactor') {
          res.json({ ephemeral_token: admission.challenge, method: 'app' });
          return;
        }
        const opened = await logins.openSession(em, req, user, admission.method, SessionKind.TOKEN);
        res.json({ key: opened.token });
      } catch (err) {
        if (err instanceof OAuthProviderError) {
          res.status(err.refused ? 401 : 502).json({ detail: err.message });
          return;
        }
        if (!(err instanceof AppError)) throw err;
        res.status(err.status).json({ detail: err.message });
      }
    };
  for (const provider of [LoginMethod.GOOGLE, LoginMethod.GITHUB] as const) {
    router.post(
      `/api/v1/auth/oauth/${STRATEGY_NAME[provider]}/`,
      configured(provider),
      json,
      exchange(provider),
      // The JSON parser's refusals (malformed, too large) in Flagsmith's shape.
      (err: unknown, _req: Request, res: Response, next: NextFunction) => {
        const status = (err as { status?: unknown }).status;
        if (typeof status !== 'number' || status < 400 || status >= 500) return next(err);
        res.status(status).json({
          detail:
            status === 413 ? 'Request body is too large.' : 'The request body is not valid JSON',
        });
      },
    );
  }

  return router;
}
