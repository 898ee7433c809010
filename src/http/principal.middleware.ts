import type { MikroORM } from '@mikro-orm/core';
import type { NextFunction, Request, Response } from 'express';
import { sha256Hex } from '../shared/ids';
import { ANONYMOUS, type Principal } from '../users/principal';
import type { TokenService } from '../users/session.service';
import { SessionKind } from '../users/user-session.entity';
import type { User } from '../users/user.entity';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    requestId?: string;
  }
}

const BEARER = /^(?:Bearer|Token)\s+(\S+)$/i;

/**
 * Works out who is calling: a bearer token (`Authorization: Bearer …`, or Flagsmith's
 * `Token …`) wins over the session cookie. An invalid token makes the caller anonymous.
 */
export function principalMiddleware(orm: MikroORM, tokens: TokenService) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const match = BEARER.exec(req.get('authorization') ?? '');
    if (match?.[1]) {
      tokens
        .resolve(orm.em.fork(), match[1])
        .then((found) => {
          req.principal = found
            ? {
                kind: 'user',
                user: found.user,
                session: { idHash: found.idHash, kind: SessionKind.TOKEN },
              }
            : ANONYMOUS;
          next();
        })
        .catch(next);
      return;
    }
    const user = req.user as User | undefined;
    req.principal = user
      ? {
          kind: 'user',
          user,
          session: { idHash: sha256Hex(req.sessionID), kind: SessionKind.COOKIE },
        }
      : ANONYMOUS;
    next();
  };
}
