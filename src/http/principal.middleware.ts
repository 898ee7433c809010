import type { Orm } from '../db/orm';
import type { NextFunction, Request, Response } from 'express';
import type { ApiKeyService } from '../organisations/api-key.service';
import { TooManyRequestsError } from '../shared/errors';
import { sha256Hex } from '../shared/ids';
import { LoginMethod } from '../users/login-method';
import type { LoginService } from '../users/login.service';
import { ANONYMOUS, type Principal } from '../users/principal';
import type { TokenService } from '../users/session.service';
import { SessionKind } from '../users/user-session.entity';
import type { User } from '../users/user.entity';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    requestId?: string;
    /**
     * The tick of the GraphQL answer cache's table clock before the caller was read
     * (graphql/response-cache.ts): an answer kept for this request must be older than it.
     */
    answersTick?: number;
  }
}

const BEARER = /^(?:Bearer|Token)\s+(\S+)$/i;
const API_KEY = /^Api-Key\s+(\S+)$/i;

type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/**
 * Works out who is calling: an organisation API key (`Authorization: Api-Key …`) or a
 * bearer token (`Authorization: Bearer …`, or Flagsmith's `Token …`) wins over the session
 * cookie. An invalid key or token makes the caller anonymous.
 *
 * A user's session also has to have been opened with a login method every one of the user's
 * organisations still allows: a session that no longer qualifies is ended, and the request
 * refused with UNAUTHENTICATED (reason LOGIN_METHOD_NOT_ALLOWED).
 */
export function principalMiddleware(
  orm: Orm,
  deps: {
    readonly tokens: TokenService;
    readonly apiKeys: ApiKeyService;
    readonly logins: LoginService;
  },
) {
  const admitUser = async (req: Request, res: Response, principal: UserPrincipal) => {
    const em = orm.em.fork();
    const error = await deps.logins.sessionRefusal(em, principal.user.id, principal.session.method);
    if (!error) {
      req.principal = principal;
      return true;
    }
    if (principal.session.kind === SessionKind.TOKEN) {
      await deps.tokens.revoke(em, principal.session.idHash);
    } else {
      await new Promise<void>((resolve) => req.session.destroy(() => resolve()));
    }
    res.status(401).json({ errors: [{ message: error.message, extensions: error.extensions }] });
    return false;
  };

  return (req: Request, res: Response, next: NextFunction): void => {
    const authorization = req.get('authorization') ?? '';
    const apiKey = API_KEY.exec(authorization);
    if (apiKey?.[1]) {
      deps.apiKeys
        .authenticate(orm.em.fork(), apiKey[1], req.ip)
        .then((found) => {
          req.principal = found ?? ANONYMOUS;
          next();
        })
        .catch((err: unknown) => {
          if (!(err instanceof TooManyRequestsError)) return next(err);
          // Before GraphQL runs: answered here in its shape, with the standard header.
          res
            .status(429)
            .set('Retry-After', String(err.extensions.retryAfterSeconds))
            .json({ errors: [{ message: err.message, extensions: err.extensions }] });
        });
      return;
    }
    const match = BEARER.exec(authorization);
    const resolved: Promise<UserPrincipal | null> = match?.[1]
      ? deps.tokens.resolve(orm.em.fork(), match[1]).then((found) =>
          found
            ? {
                kind: 'user',
                user: found.user,
                session: {
                  idHash: found.idHash,
                  kind: SessionKind.TOKEN,
                  method: found.loginMethod,
                },
              }
            : null,
        )
      : Promise.resolve(
          req.user
            ? {
                kind: 'user',
                user: req.user as User,
                session: {
                  idHash: sha256Hex(req.sessionID),
                  kind: SessionKind.COOKIE,
                  method: req.session.loginMethod ?? LoginMethod.PASSWORD,
                },
              }
            : null,
        );
    resolved
      .then(async (principal) => {
        if (!principal) {
          req.principal = ANONYMOUS;
          next();
        } else if (await admitUser(req, res, principal)) {
          next();
        }
      })
      .catch(next);
  };
}
