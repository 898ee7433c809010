import type { MikroORM } from '@mikro-orm/core';
import type { NextFunction, Request, Response } from 'express';
import type { ApiKeyService } from '../organisations/api-key.service';
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
const API_KEY = /^Api-Key\s+(\S+)$/i;

/**
 * Works out who is calling: an organisation API key (`Authorization: Api-Key …`) or a
 * bearer token (`Authorization: Bearer …`, or Flagsmith's `Token …`) wins over the session
 * cookie. An invalid key or token makes the caller anonymous.
 */
export function principalMiddleware(orm: MikroORM, tokens: TokenService, apiKeys: ApiKeyService) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const authorization = req.get('authorization') ?? '';
    const apiKey = API_KEY.exec(authorization);
    if (apiKey?.[1]) {
      apiKeys
        .authenticate(orm.em.fork(), apiKey[1])
        .then((found) => {
          req.principal = found ?? ANONYMOUS;
          next();
        })
        .catch(next);
      return;
    }
    const match = BEARER.exec(authorization);
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
