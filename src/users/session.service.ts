import type { EntityManager } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/core';
import session, { type SessionData } from 'express-session';
import { randomSecret, sha256Hex } from '../shared/ids';
import { LoginMethod } from './login-method';
import { SessionKind, UserSession } from './user-session.entity';
import { User } from './user.entity';

export interface SessionMeta {
  readonly userAgent?: string | undefined;
  readonly ip?: string | undefined;
}

/** Bearer tokens for API clients; stored as SHA-256 in user_sessions. */
export class TokenService {
  constructor(private readonly ttlMs: number) {}

  async issue(
    em: EntityManager,
    user: User,
    meta: SessionMeta,
    loginMethod: LoginMethod = LoginMethod.PASSWORD,
  ): Promise<string> {
    const token = randomSecret(32);
    em.create(UserSession, {
      idHash: sha256Hex(token),
      kind: SessionKind.TOKEN,
      loginMethod,
      user,
      expiresAt: new Date(Date.now() + this.ttlMs),
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
      ip: meta.ip?.slice(0, 64) ?? null,
    });
    await em.flush();
    return token;
  }

  /** The active user behind a token, or null (unknown, expired, or user deactivated). */
  async resolve(
    em: EntityManager,
    token: string,
  ): Promise<{ user: User; idHash: string; loginMethod: LoginMethod } | null> {
    const idHash = sha256Hex(token);
    const row = await em.findOne(
      UserSession,
      { idHash, kind: SessionKind.TOKEN, expiresAt: { $gt: new Date() } },
      { populate: ['user'] },
    );
    if (!row?.user || !row.user.isActive) return null;
    return { user: row.user, idHash, loginMethod: row.loginMethod };
  }

  async revoke(em: EntityManager, idHash: string): Promise<void> {
    await em.nativeDelete(UserSession, { idHash });
  }
}

/**
 * express-session store on MikroORM: rows live in user_sessions keyed by the SHA-256 of
 * the session id, through the application's one connection pool (PGlite has one
 * connection, so nothing may open a second pool).
 */
export class OrmSessionStore extends session.Store {
  constructor(private readonly orm: MikroORM) {
    super();
  }

  override get(sid: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    const em = this.orm.em.fork();
    em.findOne(UserSession, {
      idHash: sha256Hex(sid),
      kind: SessionKind.COOKIE,
      expiresAt: { $gt: new Date() },
    })
      .then((row) => callback(null, (row?.data as SessionData | undefined) ?? null))
      .catch((err: unknown) => callback(err));
  }

  override set(sid: string, data: SessionData, callback?: (err?: unknown) => void): void {
    const em = this.orm.em.fork();
    const userId = (data as { passport?: { user?: unknown } }).passport?.user;
    const expiresAt = data.cookie.expires
      ? new Date(data.cookie.expires)
      : new Date(Date.now() + 86_400_000);
    em.upsert(
      UserSession,
      {
        idHash: sha256Hex(sid),
        kind: SessionKind.COOKIE,
        user: typeof userId === 'number' ? em.getReference(User, userId) : null,
        loginMethod: data.loginMethod ?? LoginMethod.PASSWORD,
        data: JSON.parse(JSON.stringify(data)) as Record<string, unknown>,
        expiresAt,
        lastSeenAt: new Date(),
      },
      {
        onConflictFields: ['idHash'],
        onConflictAction: 'merge',
        onConflictExcludeFields: ['createdAt'],
      },
    )
      .then(() => callback?.())
      .catch((err: unknown) => callback?.(err));
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    const em = this.orm.em.fork();
    em.nativeDelete(UserSession, { idHash: sha256Hex(sid), kind: SessionKind.COOKIE })
      .then(() => callback?.())
      .catch((err: unknown) => callback?.(err));
  }

  override touch(sid: string, data: SessionData, callback?: () => void): void {
    const em = this.orm.em.fork();
    const expiresAt = data.cookie.expires ? new Date(data.cookie.expires) : undefined;
    em.nativeUpdate(
      UserSession,
      { idHash: sha256Hex(sid), kind: SessionKind.COOKIE },
      expiresAt ? { lastSeenAt: new Date(), expiresAt } : { lastSeenAt: new Date() },
    )
      .then(() => callback?.())
      .catch(() => callback?.());
  }
}

/** A session's public id: a hash of its stored hash (the stored one is never shown). */
export function publicSessionId(idHash: string): string {
  return sha256Hex(`session:${idHash}`).slice(0, 32);
}

/** A user's own sessions, cookie and token: list, revoke one, revoke all. */
export class SessionService {
  list(em: EntityManager, userId: number): Promise<UserSession[]> {
    return em.find(
      UserSession,
      { user: userId, expiresAt: { $gt: new Date() } },
      { orderBy: { createdAt: 'desc' } },
    );
  }

  /** Revokes the user's session with this public id; false when there is none. */
  async revoke(em: EntityManager, userId: number, publicId: string): Promise<boolean> {
    const row = (await this.list(em, userId)).find((s) => publicSessionId(s.idHash) === publicId);
    if (!row) return false;
    await em.nativeDelete(UserSession, { idHash: row.idHash });
    return true;
  }

  /** Revokes every session of the user, except `keep` (a stored hash) when given. */
  async revokeAll(em: EntityManager, userId: number, keep?: string): Promise<number> {
    return em.nativeDelete(UserSession, {
      user: userId,
      ...(keep === undefined ? {} : { idHash: { $ne: keep } }),
    });
  }
}
