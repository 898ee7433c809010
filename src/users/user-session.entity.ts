import {
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Rel,
} from '@mikro-orm/core';
import { LoginMethod } from './login-method';
import { User } from './user.entity';

export enum SessionKind {
  /** A browser session behind an HttpOnly cookie (express-session). */
  COOKIE = 'COOKIE',
  /** A bearer token for API clients. */
  TOKEN = 'TOKEN',
}

/**
 * One signed-in session, cookie or bearer token. The primary key is the SHA-256 of the
 * secret the client holds, so a database dump grants no access.
 */
@Entity({ tableName: 'user_sessions' })
export class UserSession {
  [OptionalProps]?:
    'createdAt' | 'lastSeenAt' | 'data' | 'user' | 'userAgent' | 'ip' | 'loginMethod';

  @PrimaryKey({ type: 'string', length: 64 })
  idHash!: string;

  @Enum({ items: () => SessionKind, nativeEnumName: 'session_kind' })
  kind!: SessionKind;

  @Index()
  @ManyToOne(() => User, { nullable: true, deleteRule: 'cascade' })
  user?: Rel<User> | null;

  /** express-session payload (cookie sessions only). */
  @Property({ type: 'json', nullable: true })
  data?: Record<string, unknown> | null;

  @Index()
  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  lastSeenAt: Date = new Date();

  @Property({ type: 'string', length: 512, nullable: true })
  userAgent?: string | null;

  @Property({ type: 'string', length: 64, nullable: true })
  ip?: string | null;

  /** How the session was opened; checked against its user's organisations on every use. */
  @Enum({ items: () => LoginMethod, nativeEnumName: 'login_method', default: LoginMethod.PASSWORD })
  loginMethod: LoginMethod = LoginMethod.PASSWORD;
}
